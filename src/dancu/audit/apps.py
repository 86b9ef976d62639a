from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "dancu.audit"
    label = "audit"
