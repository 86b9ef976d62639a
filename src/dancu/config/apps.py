from django.contrib.admin.apps import AdminConfig


class DancuAdminConfig(AdminConfig):
    """django.contrib.admin with dancu's site (config/admin.py), which asks for the second factor."""

    # A dotted path: the site's module imports the auth forms, which need the app registry ready.
    default_site = "dancu.config.admin.DancuAdminSite"
