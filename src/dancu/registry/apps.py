from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "dancu.registry"
    label = "registry"
