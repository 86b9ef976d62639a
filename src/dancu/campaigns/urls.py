"""Pages of the campaigns app. A scope is "vn" (the country), a province code or a commune code."""

from django.urls import URLPattern, URLResolver, path, re_path

from dancu.campaigns import views

app_name = "campaigns"
urlpatterns: list[URLPattern | URLResolver] = [
    path("campaigns/", views.campaign_list_view, name="list"),
    path("campaigns/new/", views.campaign_new_view, name="new"),
    path("campaigns/<id:pk>/<slug:scope>/", views.dashboard_view, name="dashboard"),
    path("campaigns/<id:pk>/<slug:scope>/targets/", views.targets_view, name="targets"),
    re_path(
        r"^campaigns/(?P<pk>[0-9]+)/(?P<scope>[-a-zA-Z0-9_]+)/export\.(?P<fmt>xlsx|pdf)$",
        views.export_view,
        name="export",
    ),
    re_path(
        r"^campaigns/(?P<pk>[0-9]+)/(?P<scope>[-a-zA-Z0-9_]+)/reports/(?P<day>[0-9-]{10})\.(?P<fmt>xlsx|pdf)$",
        views.report_view,
        name="report",
    ),
]
