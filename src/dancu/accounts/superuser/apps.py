from django.apps import AppConfig


class SuperuserCommandConfig(AppConfig):
    name = "dancu.accounts.superuser"
    label = "accounts_superuser"
