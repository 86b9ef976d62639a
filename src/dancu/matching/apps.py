from django.apps import AppConfig


class MatchingConfig(AppConfig):
    name = "dancu.matching"
    label = "matching"
