"""The password check of a deactivated account, so that its sign-in can say why it is refused.

Django's ModelBackend answers a deactivated account (is_active unticked) as it answers a wrong password:
the officer who typed the right one was told "wrong user name or password", tried again and locked the
account. This backend, listed before ModelBackend, takes the deactivated accounts only:

- the right password returns the account, and the sign-in page refuses it with its reason
  (`selectors.account_sign_in_refusal`; the admin's form through `confirm_login_allowed`, as Django's
  AllowAllUsersModelBackend intends). It is no failure: nothing counts towards the lockout.
- a wrong password ends the check (PermissionDenied, which Django's `authenticate` turns into the failure
  signal that django-axes counts): the page says "wrong user name or password" and tells nothing of the
  account's state, and the password is hashed once, as for any other account.

Any other user name is left to ModelBackend. Everything else is ModelBackend's own, the user of a session
(`get_user`) first: a deactivated account is the user of no request, even if some page let it through.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from dancu.accounts.models import User


class DeactivatedAccountBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if username is None:
            username = kwargs.get(User.USERNAME_FIELD)
        if username is None or password is None:
            return None
        user = User.objects.filter(**{User.USERNAME_FIELD: username}, is_active=False).first()
        if user is None:
            return None
        if not user.check_password(password):
            raise PermissionDenied
        return user
