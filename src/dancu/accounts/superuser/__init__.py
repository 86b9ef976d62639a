"""`dancu createsuperuser` with the accounts' rules on the user name.

An app of its own, listed before django.contrib.auth in INSTALLED_APPS: of two apps with a command of
the same name, Django runs the one listed first, and django.contrib.auth comes before dancu.accounts.
Moving dancu.accounts itself ahead of it would change the order in which the admin reads the apps'
`admin.py`, and accounts/admin.py replaces the admin pages of django-otp and django-axes, which must be
registered before it.
"""
