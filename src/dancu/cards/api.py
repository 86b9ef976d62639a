"""API endpoints of the cards app, mounted under /api/v1/ by dancu.config.api."""

from ninja import Router

router = Router(tags=["cards"])
