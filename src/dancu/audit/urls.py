"""The auditor's pages."""

from django.urls import path

from dancu.audit import views

app_name = "audit"
urlpatterns = [
    path("audit/access/", views.access_log_view, name="access_log"),
    path("audit/access/readers/", views.access_log_readers_view, name="access_readers"),
    path("audit/access/export.<slug:file_format>", views.access_log_export_view, name="access_log_export"),
]
