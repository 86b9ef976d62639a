from django.urls import path

from dancu.collection import views

app_name = "collection"
urlpatterns = [
    path("forms/", views.queue_view, name="queue"),
    path("forms/new/", views.dc01_new_view, name="dc01_new"),
    path("forms/new/dc02/<int:citizen_pk>/", views.dc02_new_view, name="dc02_new"),
    path("forms/validate/", views.validate_view, name="validate"),
    path("forms/<int:pk>/", views.form_view, name="form"),
    path("forms/<int:pk>/edit/", views.form_edit_view, name="form_edit"),
    # submit, check, recheck, return or apply; anything else is a 404.
    path("forms/<int:pk>/<slug:action>/", views.form_action_view, name="form_action"),
]
