"""No registry model is registered in the Django admin, on purpose.

Every read of personal data must go through the jurisdiction-scoped selectors (and the access log),
and every write through the services (and the audit trail). The admin would bypass both, so citizens,
households and residences are reached only through the officer pages and the API.
"""
