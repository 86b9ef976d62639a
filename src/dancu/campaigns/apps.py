from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "dancu.campaigns"
    label = "campaigns"
