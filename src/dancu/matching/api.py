"""API endpoints of the matching app, mounted under /api/v1/ by dancu.config.api."""

from ninja import Router

router = Router(tags=["matching"])
