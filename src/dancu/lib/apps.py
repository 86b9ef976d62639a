from django.apps import AppConfig


class LibConfig(AppConfig):
    name = "dancu.lib"
    label = "lib"

    def ready(self) -> None:
        # Registers the `one_of` lookup on the model fields.
        from dancu.lib import lookups  # noqa: F401
