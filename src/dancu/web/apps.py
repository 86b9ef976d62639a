from django.apps import AppConfig
from django.urls import register_converter


class WebConfig(AppConfig):
    name = "dancu.web"
    label = "web"

    def ready(self) -> None:
        from dancu.web.converters import IdConverter

        # Before any URLconf is read: every app's URLs take their ids as `<id:…>`.
        register_converter(IdConverter, "id")
