from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "dancu.web"
    label = "web"
