"""The admin site, behind the second factor that every officer's page is behind.

Django's own admin signs a staff account in with a password alone: with `DANCU_REQUIRE_OTP` on (the
default), that was a way past the TOTP code that /login/ asks for. django-otp's `OTPAdminSite` treats a
staff account whose session is not verified by one of its devices as no staff at all, and its sign-in
page asks for the code. It is installed as the default site (`config.apps.DancuAdminConfig`), so every
app's `admin.site.register` lands on it.

Every model admin registered on the site, dancu's and those that django-axes, django-q and django-otp
register themselves, is given `CheckedInputAdmin` first. The admin takes lookups from the query string,
ids from the action check boxes and values from its forms, and Django (or the package) checks some of
them only when the database or Python's date arithmetic fails on them: an id of twenty digits, the year
1 in Hà Nội's time zone, a regular expression that does not compile. Those failures were answers of 500.
One mixin applied by the site reaches every admin, including the ones we do not write.

The site gives every model admin `AuditedAdmin` too: what an administrator adds, changes or deletes there
(an officer's groups, a TOTP device, a scheduled task, a locked-out sign-in cleared) bypasses the
services, and so their audit events; each change is recorded as an event of its own.
"""

from __future__ import annotations

import re
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.admin import AdminSite, ModelAdmin, helpers
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.contenttypes.models import ContentType
from django.contrib.contenttypes.views import shortcut
from django.core.exceptions import BadRequest, FieldDoesNotExist, ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.db import DataError, connections, models, router, transaction
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, path
from django.utils import translation
from django_otp import devices_for_user
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite

from dancu.accounts.selectors import account_sign_in_refusal
from dancu.audit.models import EventType
from dancu.audit.services import Actor, audit_event_record

OTP_LOGIN_TEMPLATE = OTPAdminSite.login_template


class AccountStateChecked(AuthenticationForm):
    """An admin sign-in form that refuses a deactivated account as the officers' page does: its reason and
    rule code, in the page's language, once the password is known to be right
    (`accounts.backends.DeactivatedAccountBackend`), in place of Django's "This account is inactive."."""

    def confirm_login_allowed(self, user: Any) -> None:
        refusal = account_sign_in_refusal(user)
        if refusal is not None:
            raise ValidationError(
                f"{refusal.message(translation.get_language() or 'vi')} [{refusal.code}]", code=refusal.code
            )
        super().confirm_login_allowed(user)


class PasswordAdminSignInForm(AccountStateChecked, AdminAuthenticationForm):
    """The admin's sign-in with the password alone, while `DANCU_REQUIRE_OTP` is off."""


class AdminSignInForm(AccountStateChecked, OTPAdminAuthenticationForm):
    """django-otp's admin sign-in, with the account's authenticator taken when it has exactly one.

    django-otp shows the list of devices only once the password is known to be right, and refuses a code
    given without a device chosen ("Please select a device.", in English): the first sign-in on the page
    the operators' guide points to always failed. In dancu an account has one authenticator (its set-up
    page answers only an account that has none), so that one is the choice; an account with several still
    chooses from the list, as django-otp asks.
    """

    def clean_otp(self, user: Any) -> None:
        # `clean_otp` is django-otp's documented hook for the second factor; choosing the device here, as
        # the form field would, leaves its own check that the device is the user's in place.
        if user is not None and not self.cleaned_data.get("otp_device"):
            devices = list(devices_for_user(user, for_verify=True))
            if len(devices) == 1:
                self.cleaned_data["otp_device"] = devices[0].persistent_id
        super().clean_otp(user)


def key_is_valid(field: models.Field[Any, Any], value: object) -> bool:
    """Whether `value` (text from a form or a query) can be a value of `field` in the database at all.

    Its type, its range (an id of twenty digits fits no integer column) and no NUL character, which
    PostgreSQL refuses in text. Whether a row has it is for the database to say, once this holds.
    """
    while isinstance(field, models.ForeignKey):  # a key that is a link (a one-to-one too) holds the target's
        field = field.target_field
    try:
        ProhibitNullCharactersValidator()(value)
        field.run_validators(field.to_python(value))
    except ValidationError:
        return False
    return True


def utc_representable(value: datetime) -> None:
    """Refuse a time whose UTC date is not in years 1 to 9999.

    The database keeps times in UTC. The first of January of the year 1, midnight in Hà Nội, is still the
    year 0 there: SQLite's conversion fails with an OverflowError, and PostgreSQL stores it, after which
    every page that reads the row fails. Django's own message for a date and time it cannot read says it;
    the code is our own, since a field puts its own message in place of a validator's for a code it knows
    (the admin's split field would say "Enter a list of values.").
    """
    try:
        value.astimezone(UTC)
    except OverflowError:
        message = forms.DateTimeField.default_error_messages["invalid"]
        raise ValidationError(message, code="utc_range") from None


class KeyCheckedMultipleChoiceField(forms.ModelMultipleChoiceField):
    """A many-to-many field that refuses an id no row can have before it looks the ids up.

    Django checks each id by building a query, which takes any integer; the query that reads them then
    fails on SQLite for an id beyond 64 bits. Such an id gets Django's own message for an id that is no id.
    """

    def clean(self, value: Any) -> QuerySet[Any]:
        assert self.queryset is not None  # the field is made with its queryset
        opts = self.queryset.model._meta
        key_field = opts.get_field(self.to_field_name) if self.to_field_name else opts.pk
        for key in value if isinstance(value, list | tuple) else ():
            if not key_is_valid(key_field, key):
                raise ValidationError(
                    self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": key}
                )
        return super().clean(value)


class CheckedInputAdmin(ModelAdmin[Any]):
    """Answers hostile input in the admin as Django answers the mistakes it knows.

    A lookup that cannot run sends the list back to `?e=1` ("incorrect lookup parameters"), as Django
    does for a field that does not exist; a form field gets its error; a selection that names no row
    possible is a bad request, since the page's check boxes only ever hold the list's own ids.
    """

    def get_changelist_instance(self, request: HttpRequest) -> ChangeList:
        database = router.db_for_read(self.model)
        for key, values in request.GET.lists():
            # Django passes a range lookup the text as it came, and the lookup takes its characters for
            # the bounds: `?id__range=15` reads 1 to 5, and text of another length fails in the database.
            # No admin page links to one.
            if key.endswith("__range"):
                raise IncorrectLookupParameters(f"{key}: a range cannot be given in a query string")
            # SQLite runs REGEXP through Python's re module; a pattern that does not compile fails the query
            # with an OperationalError, which cannot be told apart from a database in trouble, so it is
            # compiled here first. PostgreSQL refuses such a pattern with a DataError, caught below.
            if key.endswith(("__regex", "__iregex")) and connections[database].vendor == "sqlite":
                for value in values:
                    try:
                        re.compile(value)
                    except (re.error, RecursionError, OverflowError) as exc:
                        raise IncorrectLookupParameters(exc) from exc
        # The list's queries run here (the count decides the pages), and Django checks a lookup's value
        # only as far as building the query: the date arithmetic of a `__year` or of the date hierarchy,
        # SQLite's conversion of a huge integer or of a time to UTC, and PostgreSQL's checks of its input
        # fail only now. A savepoint keeps a failed query from spoiling the request's transaction.
        try:
            with transaction.atomic(using=database):
                return super().get_changelist_instance(request)
        except (ValueError, OverflowError, DataError) as exc:
            raise IncorrectLookupParameters(exc) from exc

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        # Django reads the id in the URL of a change, delete or history page with the field's to_python,
        # which passes an id of twenty digits (and NUL in a text key) to a query that fails on it.
        field = self.opts.pk if from_field is None else self.opts.get_field(from_field)
        if isinstance(field, models.Field) and not key_is_valid(field, object_id):
            return None  # Django's answer for an id that names nothing: "… doesn't exist"
        return super().get_object(request, object_id, from_field)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        # An add page takes its fields' first values from the query string, as text; the admin's widget
        # for a date and time needs a datetime and failed on any text (`?next_run=2025-07-01` too). The
        # text is read as the field reads it, and left out when it is no date and time.
        initial = super().get_changeform_initial_data(request)
        for name in list(initial):
            with suppress(FieldDoesNotExist):
                if isinstance(self.opts.get_field(name), models.DateTimeField):
                    try:
                        initial[name] = forms.DateTimeField().clean(initial[name])
                    except ValidationError:
                        del initial[name]
        return initial

    def response_action(
        self, request: HttpRequest, queryset: QuerySet[Any], *args: Any, **kwargs: Any
    ) -> HttpResponse | None:
        selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        if not all(key_is_valid(self.opts.pk, key) for key in selected):
            raise BadRequest("The selection names an id that no row can have.")
        return super().response_action(request, queryset, *args, **kwargs)

    def formfield_for_dbfield(
        self, db_field: models.Field[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> forms.Field | None:
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if formfield is not None and isinstance(db_field, models.DateTimeField):
            formfield.validators.append(utc_representable)
        return formfield

    def formfield_for_manytomany(
        self, db_field: models.ManyToManyField[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> forms.ModelMultipleChoiceField | None:
        kwargs.setdefault("form_class", KeyCheckedMultipleChoiceField)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class AuditedAdmin(ModelAdmin[Any]):
    """Records an audit event beside each LogEntry the admin writes for an addition, change or deletion.

    Django writes the LogEntry inside the transaction of the change on its add, change and delete pages;
    the delete action is made atomic here, so that its events and its deletions commit together. The
    event names the model, the object as the admin shows it and what changed (field names, never values:
    a password change says "password"). A model admin may name fields whose old and new values the change
    event records too (`audited_values`): an officer's role, police unit and permissions, where "Police
    unit" alone said neither from which unit nor to which.
    """

    audited_values: tuple[str, ...] = ()

    def audited_value(self, name: str, value: Any) -> Any:
        """The value of field `name` as the event keeps it, from the form's initial or cleaned data: a
        related object by its name (a list of them sorted), anything else as it is (text, a truth value)."""
        if isinstance(value, Model):
            return str(value)
        if isinstance(value, QuerySet | list | tuple):
            return sorted(str(item) for item in value)
        return value

    def construct_change_message(
        self, request: HttpRequest, form: forms.Form, formsets: Any, add: bool = False
    ) -> list[dict[str, Any]]:
        message: list[dict[str, Any]] = super().construct_change_message(request, form, formsets, add)
        values = {
            name: {
                "old": self.audited_value(name, form.initial.get(name)),
                "new": self.audited_value(name, form.cleaned_data.get(name)),
            }
            for name in self.audited_values
            if name in form.changed_data and name in form.cleaned_data
        }
        # The form's own changes come first in Django's message, as {"changed": {"fields": [...]}}.
        if not add and values and message and "changed" in message[0]:
            message[0]["changed"]["values"] = values
        return message

    def log_addition(self, request: HttpRequest, obj: Model, message: Any) -> Any:
        entry = super().log_addition(request, obj, message)
        admin_event_record(request, EventType.ADMIN_OBJECT_ADDED, obj, message)
        return entry

    def log_change(self, request: HttpRequest, obj: Model, message: Any) -> Any:
        entry = super().log_change(request, obj, message)
        admin_event_record(request, EventType.ADMIN_OBJECT_CHANGED, obj, message)
        return entry

    def log_deletions(self, request: HttpRequest, queryset: Any) -> Any:
        # Called before the deletion, while the objects can still be named.
        for obj in queryset:
            admin_event_record(request, EventType.ADMIN_OBJECT_DELETED, obj, "")
        return super().log_deletions(request, queryset)

    def response_action(
        self, request: HttpRequest, queryset: QuerySet[Any], *args: Any, **kwargs: Any
    ) -> HttpResponse | None:
        # Django runs an action (the bulk delete among them) outside any transaction: a deletion that
        # failed half-way would keep some rows, and the events of rows it did not delete.
        with transaction.atomic(using=router.db_for_write(self.model)):
            return super().response_action(request, queryset, *args, **kwargs)


def admin_event_record(request: HttpRequest, event_type: EventType, obj: Model, message: Any) -> None:
    """One audit event for one object an administrator added, changed or deleted in the admin."""
    # The admin's own pages are atomic; the password page of a user (django.contrib.auth's) is not, and
    # gets a transaction of its own for the event.
    with transaction.atomic(using=router.db_for_write(type(obj))):
        audit_event_record(
            actor=Actor(request.user),  # type: ignore[arg-type]
            event_type=event_type,
            subject_type=f"admin:{obj._meta.label_lower}",
            subject_id=str(obj.pk)[:64],
            data={"model": obj._meta.label, "object": str(obj)[:200], "change": message},
            reason="Trang quản trị / Django admin",
        )


class DancuAdminSite(OTPAdminSite):
    site_header = "dancu"

    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)

    def get_urls(self) -> list[URLResolver | URLPattern]:
        # Django's "view on site" page, /admin/r/<content type>/<id>/, looks the id up for any model
        # and expects only a ValueError from a bad one; it comes first here, in its place.
        view_on_site = path(
            "r/<path:content_type_id>/<path:object_id>/",
            self.admin_view(self.view_on_site),
            name="view_on_site",
        )
        return [view_on_site, *super().get_urls()]

    def view_on_site(self, request: HttpRequest, content_type_id: str, object_id: str) -> HttpResponse:
        model = None
        with suppress(ContentType.DoesNotExist, ValueError):
            model = ContentType.objects.get(pk=content_type_id).model_class()
        if model is not None and not key_is_valid(model._meta.pk, object_id):
            raise Http404(f"No {model._meta.label} can have the id {object_id!r}.")
        return shortcut(request, content_type_id, object_id)

    def register(
        self,
        model_or_iterable: type[Model] | Any,
        admin_class: type[ModelAdmin[Any]] | None = None,
        **options: Any,
    ) -> None:
        admin_class = admin_class or ModelAdmin
        mixins = tuple(
            mixin for mixin in (AuditedAdmin, CheckedInputAdmin) if not issubclass(admin_class, mixin)
        )
        if mixins:
            attributes = {"__module__": admin_class.__module__, "__doc__": admin_class.__doc__}
            admin_class = type(admin_class.__name__, (*mixins, admin_class), attributes)
        super().register(model_or_iterable, admin_class, **options)

    # With DANCU_REQUIRE_OTP off (a development machine), the admin signs in as the officers' pages do:
    # with the password alone, on Django's own form (which refuses a deactivated account as the others do).
    @property
    def login_form(self) -> type[AuthenticationForm] | None:
        return AdminSignInForm if settings.DANCU_REQUIRE_OTP else PasswordAdminSignInForm

    @property
    def login_template(self) -> str | None:
        return OTP_LOGIN_TEMPLATE if settings.DANCU_REQUIRE_OTP else None

    def has_permission(self, request: HttpRequest) -> bool:
        if settings.DANCU_REQUIRE_OTP:
            return bool(super().has_permission(request))
        return AdminSite.has_permission(self, request)
