from django.apps import AppConfig


class CollectionConfig(AppConfig):
    name = "dancu.collection"
    label = "collection"
