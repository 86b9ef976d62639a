from django.contrib import admin
from django.urls import include, path

from dancu.config.api import api

urlpatterns = [
    path("", include("dancu.config.health")),
    path("", include("dancu.web.urls")),
    path("", include("dancu.accounts.urls")),
    path("", include("dancu.registry.urls")),
    path("", include("dancu.collection.urls")),
    path("", include("dancu.collection.quality.urls")),
    path("", include("dancu.matching.urls")),
    path("", include("dancu.cards.urls")),
    path("", include("dancu.campaigns.urls")),
    path("", include("dancu.eid.urls")),
    path("", include("dancu.audit.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
]
