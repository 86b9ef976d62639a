from django.apps import AppConfig


class EidConfig(AppConfig):
    name = "dancu.eid"
    label = "eid"
