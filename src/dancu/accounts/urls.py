from django.urls import path

from dancu.accounts import officer_views, views

app_name = "accounts"
urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("login/otp/", views.otp_view, name="otp"),
    path("login/otp/setup/", views.otp_setup_view, name="otp_setup"),
    path("logout/", views.logout_view, name="logout"),
    path("account/tokens/", views.tokens_view, name="tokens"),
    path("officers/", officer_views.officers_view, name="officers"),
    path("officers/new/", officer_views.officer_new_view, name="officer_new"),
    path("officers/<int:pk>/", officer_views.officer_view, name="officer"),
    path("officers/<int:pk>/name/", officer_views.officer_name_view, name="officer_name"),
    path("officers/<int:pk>/change/", officer_views.officer_change_view, name="officer_change"),
    path("officers/<int:pk>/active/", officer_views.officer_active_view, name="officer_active"),
    path("officers/<int:pk>/password/", officer_views.officer_password_view, name="officer_password"),
    path("officers/<int:pk>/otp-reset/", officer_views.officer_otp_reset_view, name="officer_otp_reset"),
]
