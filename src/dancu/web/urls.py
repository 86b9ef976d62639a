from django.urls import path

from dancu.web import views

app_name = "web"
urlpatterns = [
    path("", views.home_view, name="home"),
    path("purpose/", views.purpose_view, name="purpose"),
]
