"""Pages of the matching app."""

from django.urls import URLPattern, URLResolver

app_name = "matching"
urlpatterns: list[URLPattern | URLResolver] = []
