"""The auditor's pages."""

from django.urls import path

from dancu.audit import views

app_name = "audit"
urlpatterns = [
    path("audit/access/", views.access_log_view, name="access_log"),
]
