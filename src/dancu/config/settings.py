"""The one settings module of dancu; every value that differs between machines comes from the environment."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from dancu.config.env import (
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_memory,
    env_path,
    env_probability_or_off,
    env_share,
    env_str,
)

# Lets admin classes and querysets be written with their generic parameters (TabularInline[Model]).
django_stubs_ext.monkeypatch()

SRC_DIR = Path(__file__).resolve().parent.parent
# The project checkout (src/dancu/config -> repository root); var/ holds the embedded database and
# the demo secret key so that a fresh clone runs with nothing configured by hand.
BASE_DIR = SRC_DIR.parent.parent
VAR_DIR = env_path("DANCU_VAR_DIR", BASE_DIR / "var")
try:
    # Made here, once: the secret key, the embedded database and the static files are made under it below,
    # and a path that cannot be a directory failed there as a FileNotFoundError that named no variable.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
except OSError as exc:
    raise ImproperlyConfigured(
        f"DANCU_VAR_DIR={str(VAR_DIR)!r} cannot be made a directory: {exc.strerror}"
    ) from None

DEBUG = env_bool("DANCU_DEBUG", default=False)


def _secret_key() -> str:
    configured = env_str("DANCU_SECRET_KEY", "")
    if configured:
        if len(configured) < 32:
            raise ImproperlyConfigured("DANCU_SECRET_KEY must be at least 32 characters long")
        return configured
    # Development and demo only: a key generated once and kept under var/, so sessions survive a
    # restart without anyone having to invent a secret.
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("DANCU_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
if not ALLOWED_HOSTS:
    # Set but empty (DANCU_ALLOWED_HOSTS= in a unit file): Django would answer every request, the health
    # checks' included, with 400 Bad Request and start without a word.
    raise ImproperlyConfigured(
        "DANCU_ALLOWED_HOSTS names no host: every request would be refused (400); "
        "list the server's host names, comma-separated"
    )
CSRF_TRUSTED_ORIGINS = env_list("DANCU_CSRF_TRUSTED_ORIGINS", [])


def _database() -> dict[str, Any]:
    url = env_str("DANCU_DATABASE_URL", f"sqlite:///{VAR_DIR / 'dancu.sqlite3'}")
    try:
        parsed = dj_database_url.parse(url, conn_max_age=env_int("DANCU_DB_CONN_MAX_AGE", default=60))
    except ValueError as exc:
        raise ImproperlyConfigured(f"DANCU_DATABASE_URL is not a database URL: {exc}") from None
    config: dict[str, Any] = dict(parsed)
    engine = config.get("ENGINE", "")
    if engine not in {"django.db.backends.sqlite3", "django.db.backends.postgresql"}:
        raise ImproperlyConfigured(
            f"DANCU_DATABASE_URL names engine {engine!r}; dancu runs on SQLite or PostgreSQL only"
        )
    if engine == "django.db.backends.sqlite3":
        name = str(config["NAME"])
        if name != ":memory:":
            Path(name).parent.mkdir(parents=True, exist_ok=True)
        # WAL lets the web server read while an import writes; the busy timeout turns brief lock
        # contention into a wait instead of "database is locked".
        config["OPTIONS"] = {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        }
        config["CONN_MAX_AGE"] = 0
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "dancu.config.apps.DancuAdminConfig",  # django.contrib.admin, behind the second factor
    # `dancu createsuperuser` with the accounts' rules on the name: before django.contrib.auth, whose
    # command of the same name it replaces (the first app listed wins).
    "dancu.accounts.superuser",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_htmx",
    "axes",
    "ninja",
    "django_q",
    # The health endpoints' HTML page and the `dancu health_check` probe (config/health.py).
    "health_check",
    "dancu.lib",
    "dancu.geo",
    "dancu.accounts",
    "dancu.audit",
    "dancu.registry",
    "dancu.collection",
    "dancu.matching",
    "dancu.cards",
    "dancu.campaigns",
    "dancu.eid",
    "dancu.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Below WhiteNoise, which answers the static files with their own caching (web/middleware.py).
    "dancu.web.middleware.NeverCacheMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "dancu.config.api.ApiErrorShapeMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # AxesMiddleware must be last: it turns a lockout raised during authentication into a response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "dancu.config.urls"
WSGI_APPLICATION = "dancu.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # Axes first, so that a locked-out account is refused before its password is even checked.
    "axes.backends.AxesStandaloneBackend",
    # A deactivated account's password is checked here, so that its sign-in can say why it is refused
    # (accounts/backends.py); every other account's by Django's own backend, which holds the sessions.
    "dancu.accounts.backends.DeactivatedAccountBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Durations and counts have an upper bound as well as a lower one: a session of a million years overflows
# Django's date arithmetic at the first sign-in (OverflowError on every page that saves a session), and
# thousands of processes would be forked at once. A week is longer than any of these needs to be.
_WEEK_MINUTES = 7 * 24 * 60

# Lockout after repeated failures (django-axes): counted per account for officers, so that an attacker
# rotating addresses cannot keep guessing one officer's password, and per account and address on the
# citizen's portal, so that anyone who knows a PIN cannot keep its holder out (accounts/lockout.py).
AXES_FAILURE_LIMIT = env_int("DANCU_LOGIN_FAILURE_LIMIT", default=5, minimum=1, maximum=100)
AXES_COOLOFF_TIME = env_int("DANCU_LOGIN_COOLOFF_MINUTES", default=30, minimum=1, maximum=_WEEK_MINUTES) / 60
AXES_LOCKOUT_PARAMETERS = "dancu.accounts.lockout.lockout_parameters"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "dancu.accounts.views.locked_out"
AXES_VERBOSE = False

# Comparisons a form's rules make with records outside the officer's area (a relative's name and age, a
# possible duplicate), per officer and day: past these the check is refused, since each verdict says
# something of a record the officer may not open (registry/compared.py).
DANCU_OUTSIDE_CHECKS_PER_DAY = env_int(
    "DANCU_OUTSIDE_CHECKS_PER_DAY", default=200, minimum=1, maximum=100_000
)
DANCU_OUTSIDE_CHECKS_PER_RECORD = env_int(
    "DANCU_OUTSIDE_CHECKS_PER_RECORD", default=10, minimum=1, maximum=1000
)

OTP_TOTP_ISSUER = "dancu"
# An officer's TOTP secret is the second factor itself: the admin never shows it, nor its QR code, once
# the device exists (the admin's add page still asks for a key, as django-otp does).
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# Demo and tests may turn the second factor off; production never does (the default).
DANCU_REQUIRE_OTP = env_bool("DANCU_REQUIRE_OTP", default=True)

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("DANCU_SESSION_MINUTES", default=480, minimum=5, maximum=_WEEK_MINUTES) * 60

# Served over HTTPS (docs/operations.md, "Behind HTTPS"). Off by default: the demo and the tests answer plain
# HTTP on 127.0.0.1, where a redirect to https:// would reach nothing. On, a plain-HTTP request is redirected
# to HTTPS, the cookies are sent over HTTPS only, and HSTS is sent when given a duration.
DANCU_HTTPS = env_bool("DANCU_HTTPS", default=False)
SECURE_SSL_REDIRECT = DANCU_HTTPS
# A load balancer or service manager probes a node by its own address over plain HTTP; a redirect would read
# as a failed probe. These answers hold no personal data (config/health.py).
SECURE_REDIRECT_EXEMPT = [r"^(healthz|readyz|status)/$"]
# The TLS proxy in front of dancu speaks plain HTTP to it; Django can tell an HTTPS request only by the
# proxy's X-Forwarded-Proto. Trusted only when the operator says the proxy sets it on every request: a proxy
# that passes a client's own header through would let anyone claim HTTPS.
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("DANCU_TRUST_X_FORWARDED_PROTO", default=False) else None
)
# DANCU_SECURE_COOKIES is the older, narrower switch and still works alone; under DANCU_HTTPS it is implied,
# and turning it off there would send the session over plain HTTP to anyone on the path: refused.
SESSION_COOKIE_SECURE = env_bool("DANCU_SECURE_COOKIES", default=DANCU_HTTPS)
if DANCU_HTTPS and not SESSION_COOKIE_SECURE:
    raise ImproperlyConfigured(
        "DANCU_SECURE_COOKIES is off but DANCU_HTTPS is on: the session cookie would also travel over plain "
        "HTTP; unset DANCU_SECURE_COOKIES"
    )
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# HTTP Strict Transport Security: a browser that saw it refuses plain HTTP to the host for this long, which
# cannot be taken back before it runs out, so there is no default; start small (an hour) and raise it to a
# year once every page works over HTTPS. At most two years, what the browsers' preload list recommends.
SECURE_HSTS_SECONDS = env_int("DANCU_HSTS_SECONDS", default=0, minimum=0, maximum=2 * 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DANCU_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env_bool("DANCU_HSTS_PRELOAD", default=False)
if SECURE_HSTS_SECONDS and not DANCU_HTTPS:
    raise ImproperlyConfigured(
        f"DANCU_HSTS_SECONDS={SECURE_HSTS_SECONDS} needs DANCU_HTTPS=1: HSTS is sent only over HTTPS"
    )
if (SECURE_HSTS_INCLUDE_SUBDOMAINS or SECURE_HSTS_PRELOAD) and not SECURE_HSTS_SECONDS:
    raise ImproperlyConfigured(
        "DANCU_HSTS_INCLUDE_SUBDOMAINS and DANCU_HSTS_PRELOAD need DANCU_HSTS_SECONDS: without it no HSTS "
        "header is sent and they would do nothing"
    )
# The browsers' preload list takes a host only with its subdomains and for a year or more
# (hstspreload.org); a header that asks for preloading without them is refused by the list, silently.
if SECURE_HSTS_PRELOAD and not (SECURE_HSTS_INCLUDE_SUBDOMAINS and SECURE_HSTS_SECONDS >= 365 * 24 * 3600):
    raise ImproperlyConfigured(
        "DANCU_HSTS_PRELOAD is on, but the preload list needs DANCU_HSTS_INCLUDE_SUBDOMAINS=1 and "
        "DANCU_HSTS_SECONDS of at least 31536000 (a year)"
    )

LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", _("Tiếng Việt")), ("en", _("English"))]
LOCALE_PATHS = [SRC_DIR / "locale"]
# Days typed in forms are read day before month in both languages (config/formats).
FORMAT_MODULE_PATH = ["dancu.config.formats"]
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# WhiteNoise serves from the finders in development and warns when the collected directory is absent.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

NINJA_PAGINATION_PER_PAGE = 20

# Background work (imports started from a page, scheduled reports) runs in `dancu qcluster` workers
# that take tasks from the database itself: no message broker to install or to keep alive. A task may
# run for hours (a national import), so the timeout is generous; retry must exceed it or a running task
# would be handed to a second worker. Our long tasks resume where they stopped, so a retry is safe.
_TASK_TIMEOUT = env_int(
    "DANCU_TASK_TIMEOUT_SECONDS", default=4 * 3600, minimum=60, maximum=_WEEK_MINUTES * 60
)
Q_CLUSTER = {
    "name": "dancu",
    "orm": "default",
    "workers": env_int("DANCU_WORKERS", default=2, minimum=1, maximum=64),
    "timeout": _TASK_TIMEOUT,
    "retry": _TASK_TIMEOUT + 300,
    "max_attempts": 3,
    "save_limit": 1000,
    # A daily report missed while the workers were down is made once when they return, not once per
    # missed day.
    "catch_up": False,
    "poll": 1,
}
# Tests (and a machine without workers) run tasks inline, in the caller's process: see dancu.lib.tasks.
DANCU_TASKS_INLINE = env_bool("DANCU_TASKS_INLINE", default=False)

# Imports: a row of a legacy file that breaks no rule reaches the registry without an officer unless this
# is off (then every row waits in the review queue of its commune); rows with warnings always wait.
DANCU_IMPORT_AUTO_APPROVE = env_bool("DANCU_IMPORT_AUTO_APPROVE", default=True)
# The largest file the import page accepts; bigger files are imported with `dancu import` on the server.
DANCU_IMPORT_UPLOAD_MAX_MB = env_int("DANCU_IMPORT_UPLOAD_MAX_MB", default=200, minimum=1)
# An import whose worker has not committed anything for this long is marked interrupted (its process died)
# and can be continued from the page. A batch takes seconds, so minutes of silence are not slowness.
DANCU_IMPORT_STALL_MINUTES = env_int(
    "DANCU_IMPORT_STALL_MINUTES", default=10, minimum=1, maximum=_WEEK_MINUTES
)


def _default_import_workers(cores: int) -> int:
    """One worker per core beyond two (at most four), and one on two or three cores (see below)."""
    return max(min(1, cores - 1), min(4, cores - 2))


# Worker processes that normalize an import's rows while the importing process checks and writes them
# (collection/workers.py); 0 normalizes in the importing process. By default one per core beyond the two
# that the importing process and the database server keep busy, at most four, and at least one on a
# machine of two cores: there the importing process waits for the database a third of its time, which a
# worker fills (8,600 rows/s against 6,600 alone; two workers, 8,700; bench/RESULTS.md, session 30).
# Small files and imports run by the task queue always work alone.
# They are all forked at once, so the setting has the bound of `dancu import --workers`: 32, which is
# collection.workers.MAX_WORKERS (that module loads models, which the settings cannot import; a test keeps
# the two equal).
DANCU_IMPORT_WORKERS = env_int(
    "DANCU_IMPORT_WORKERS", default=_default_import_workers(os.cpu_count() or 1), minimum=0, maximum=32
)
# The private halves of the card issuers' chip-signing keys (one file per key id); the public halves are
# in the database, so cards verify anywhere without access to this directory.
DANCU_ISSUER_KEY_DIR = env_path("DANCU_ISSUER_KEY_DIR", VAR_DIR / "issuer_keys")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    # A failed health check is a warning, not a traceback (lib/health_log.py).
    "filters": {"failed_check_without_stack": {"()": "dancu.lib.health_log.FailedCheckWithoutStack"}},
    "loggers": {"health_check": {"filters": ["failed_check_without_stack"]}},
    # Checked here: logging.config would refuse a misspelt level only at django.setup(), as "Unable to
    # configure root logger", without the variable's name.
    "root": {
        "handlers": ["console"],
        "level": env_choice(
            "DANCU_LOG_LEVEL", default="WARNING", choices=("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
        ),
    },
}

# An officer's lockout is per account on purpose (see AXES_LOCKOUT_PARAMETERS): officers share station
# networks, so an address-based lockout would lock a whole commune police station out after one person's
# typos. (Axes only checks a list of parameters, not the callable now used; the silence stays for a list.)
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
# `dancu check --deploy` asks for HSTS on subdomains (W005) and for preloading (W021) whenever HSTS is on. An
# operator who set either to 0 has answered it (a sibling host still on plain HTTP; a domain not submitted
# to the preload list, whose entry takes months to remove); left unset, or set but blank in a template, the
# question stays.
SILENCED_SYSTEM_CHECKS += [
    check
    for name, check, on in (
        ("DANCU_HSTS_INCLUDE_SUBDOMAINS", "security.W005", SECURE_HSTS_INCLUDE_SUBDOMAINS),
        ("DANCU_HSTS_PRELOAD", "security.W021", SECURE_HSTS_PRELOAD),
    )
    if os.environ.get(name, "").strip() and not on
]

# Candidate pairs of a match run at or above this probability are merged without waiting for an officer
# (docs/merging.md). Off unless set: a wrong merge joins two people's records. When set it must be at
# least 0.999, since at a lower certainty a national run would merge thousands of different people.
DANCU_MATCH_AUTO_MERGE = env_probability_or_off("DANCU_MATCH_AUTO_MERGE", minimum=0.999)
# The registry run's ceiling on the share of its records that are a second record of someone
# (docs/matching.md, "The prior of a registry run"): a national registry holds each person once but for
# slips, so a few pairs per hundred records is already far more than it can hold, and without the ceiling
# namesakes born the same day are taken for duplicates in proportion to the registry's size.
DANCU_MATCH_DUPLICATE_SHARE = env_share("DANCU_MATCH_DUPLICATE_SHARE", default=0.01)
# The memory the matcher's DuckDB may hold before it spills pairs to a temporary directory on disk. At
# 3GB a registry run of a million people peaked at 7.58 GiB (8.14 x 10^9 bytes), over the 8 GB it must
# stay under; at 2GB it peaked at 6.65 GiB and took no longer (bench/RESULTS.md).
DANCU_MATCH_MEMORY = env_memory("DANCU_MATCH_MEMORY", default="2GB")
# Processes that prepare the records of a large `dancu match` file (50,000 records and more); 1 prepares
# them in the command's own process.
DANCU_MATCH_WORKERS = env_int("DANCU_MATCH_WORKERS", default=2, minimum=1, maximum=32)
