from django.urls import path

from dancu.collection.quality import views

app_name = "quality"
urlpatterns = [
    path("quality/", views.scorecard_view, name="scorecard"),
]
