"""Pages of the cards app."""

from django.urls import path

from dancu.cards import views

app_name = "cards"
urlpatterns = [
    path("cards/", views.queue_view, name="queue"),
    path("cards/new/", views.intake_view, name="intake"),
    path("cards/applications/<id:pk>/", views.application_view, name="application"),
    path("cards/applications/<id:pk>/receipt.pdf", views.receipt_view, name="receipt"),
    path("cards/applications/<id:pk>/face.png", views.face_view, name="face"),
    # approve, reject, resume or deliver; anything else is a 404.
    path(
        "cards/applications/<id:pk>/<slug:action>/", views.application_action_view, name="application_action"
    ),
    path("cards/batches/", views.batches_view, name="batches"),
    path("cards/batches/<id:pk>/", views.batch_view, name="batch"),
    path("cards/batches/<id:pk>/<str:name>", views.batch_file_view, name="batch_file"),
    path("cards/cards/<id:pk>/", views.card_view, name="card"),
    path("cards/cards/<id:pk>/<slug:side>.png", views.card_image_view, name="card_image"),
    path("cards/citizens/<id:citizen_pk>/", views.history_view, name="history"),
    path("cards/verify/", views.verify_view, name="verify"),
    path("cards/report/", views.report_view, name="report"),
    path("cards/points/", views.points_view, name="points"),
]
