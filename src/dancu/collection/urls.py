from django.urls import path

from dancu.collection import views

app_name = "collection"
urlpatterns = [
    path("forms/", views.queue_view, name="queue"),
    path("forms/new/", views.dc01_new_view, name="dc01_new"),
    path("forms/new/dc02/<id:citizen_pk>/", views.dc02_new_view, name="dc02_new"),
    path("forms/validate/", views.validate_view, name="validate"),
    path("forms/<id:pk>/", views.form_view, name="form"),
    path("forms/<id:pk>/edit/", views.form_edit_view, name="form_edit"),
    # submit, check, recheck, return or apply; anything else is a 404.
    path("forms/<id:pk>/<slug:action>/", views.form_action_view, name="form_action"),
    path("imports/", views.imports_view, name="imports"),
    path("imports/<id:pk>/", views.import_run_view, name="import_run"),
    path("imports/<id:pk>/progress/", views.import_progress_view, name="import_progress"),
    path("imports/<id:pk>/resume/", views.import_resume_view, name="import_resume"),
    path("imports/<id:pk>/discard/", views.import_discard_view, name="import_discard"),
    path("imports/<id:pk>/rejected.xlsx", views.import_rejected_view, name="import_rejected"),
]
