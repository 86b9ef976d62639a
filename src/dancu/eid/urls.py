"""The citizen's portal under /me/ and the officer's registration page."""

from django.urls import path

from dancu.eid import views

app_name = "eid"
urlpatterns = [
    path("me/", views.home_view, name="home"),
    path("me/record/", views.record_view, name="record"),
    path("me/reads/", views.reads_view, name="reads"),
    path("me/cards/<id:pk>/<slug:side>.png", views.card_image_view, name="card_image"),
    path("me/login/", views.login_view, name="login"),
    path("me/login/otp/", views.otp_view, name="otp"),
    path("me/login/otp/setup/", views.otp_setup_view, name="otp_setup"),
    path("me/activate/", views.activate_view, name="activate"),
    path("me/logout/", views.logout_view, name="logout"),
    path("me/lock/", views.lock_view, name="lock"),
    path("me/lock/lost-phone/", views.lock_lost_phone_view, name="lock_lost_phone"),
    path("eid/register/", views.desk_view, name="desk"),
    path("eid/citizens/<id:citizen_pk>/register/", views.register_view, name="register"),
]
