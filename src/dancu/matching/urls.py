"""Pages of the matching app: the review queue of duplicate records."""

from django.urls import URLPattern, URLResolver, path

from dancu.matching import views

app_name = "matching"
urlpatterns: list[URLPattern | URLResolver] = [
    path("duplicates/", views.queue_view, name="queue"),
    path("duplicates/<id:pk>/", views.pair_view, name="pair"),
    path("duplicates/<id:pk>/decide/", views.decide_view, name="decide"),
    path("duplicates/<id:pk>/undo/", views.undo_view, name="undo"),
]
