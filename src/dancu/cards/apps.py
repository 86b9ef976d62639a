from django.apps import AppConfig


class CardsConfig(AppConfig):
    name = "dancu.cards"
    label = "cards"
