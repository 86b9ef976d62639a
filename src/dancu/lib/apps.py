from django.apps import AppConfig


class LibConfig(AppConfig):
    name = "dancu.lib"
    label = "lib"
