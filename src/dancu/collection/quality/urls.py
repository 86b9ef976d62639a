from django.urls import path

from dancu.collection.quality import views

app_name = "quality"
urlpatterns = [
    path("quality/", views.scorecard_view, name="scorecard"),
    path("quality/export/scorecard.<slug:file_format>", views.scorecard_export_view, name="export_scorecard"),
    path("quality/export/records.<slug:file_format>", views.records_export_view, name="export_records"),
]
