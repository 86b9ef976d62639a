from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "dancu.accounts"
    label = "accounts"
