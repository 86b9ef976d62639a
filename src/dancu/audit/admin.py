"""No audit model is registered in the Django admin, on purpose.

The trail is append-only and names the citizens whose data was read; editing it, or reading it without
the auditor's own access being logged, would defeat it. Auditors get their own pages.
"""
