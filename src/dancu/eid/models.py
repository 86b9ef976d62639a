"""Electronic identification accounts (tài khoản định danh điện tử, NĐ 69/2024).

An e-ID account is an `accounts.User` with the role `citizen` (user name: the PIN) tied to exactly one
registry record by an `EidAccount`. Only level 2 exists so far: registered in person by a commune police
officer who has checked the citizen's valid card and face. Level 1 (self-registration in the app), the
OpenID Connect provider and wallet documents are later work (docs/eid.md).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class EidAccount(models.Model):
    class Level(models.IntegerChoices):
        LEVEL_2 = 2, _("Mức độ 2")

    class Status(models.TextChoices):
        # Registered by an officer; the citizen has not yet used the activation code.
        PENDING = "pending", _("Chờ kích hoạt")
        ACTIVE = "active", _("Đang hoạt động")
        LOCKED = "locked", _("Bị khoá")

    class LockReason(models.TextChoices):
        REQUEST = "request", _("Theo yêu cầu của công dân")
        DEATH = "death", _("Công dân đã mất")
        CARD = "card", _("Thẻ căn cước không còn giá trị")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="eid_account"
    )
    citizen = models.OneToOneField("registry.Citizen", on_delete=models.PROTECT, related_name="eid_account")
    level = models.PositiveSmallIntegerField(choices=Level.choices, default=Level.LEVEL_2)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    lock_reason = models.CharField(max_length=16, choices=LockReason.choices, blank=True)
    # The one-time activation code is shown once to the registering officer; only its SHA-256 digest is
    # kept (as for API tokens), and it is erased when the account is activated.
    activation_digest = models.CharField(max_length=64, blank=True)
    activation_expires_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    locked_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="eid_account_locked_has_reason",
                condition=(Q(status="locked") & ~Q(lock_reason=""))
                | (~Q(status="locked") & Q(lock_reason="")),
            ),
            models.CheckConstraint(
                name="eid_account_pending_has_code",
                condition=~Q(status="pending") | ~Q(activation_digest=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user.username} ({self.status})"
