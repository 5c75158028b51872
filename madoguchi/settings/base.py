"""Base settings: everything comes from the environment, with safe development defaults.

Production runs with ``DJANGO_SETTINGS_MODULE=madoguchi.settings.production`` which tightens
these defaults and refuses to start without real secrets.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


def database_from_url(url: str) -> dict:
    """Parse ``postgresql://user:pass@host:port/name?host=/socket/dir`` into a Django DATABASES entry."""
    parsed = urlparse(url)
    query = parse_qs(parsed.query)
    host = query.get("host", [parsed.hostname or ""])[0]
    return {
        "ENGINE": "django_tenants.postgresql_backend",
        "NAME": unquote(parsed.path.lstrip("/")) or "madoguchi",
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": host,
        "PORT": str(parsed.port or ""),
        "CONN_MAX_AGE": int(env("DB_CONN_MAX_AGE", "60")),
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {"application_name": "madoguchi"},
        "TEST": {"NAME": env("TEST_DATABASE_NAME") or None},
    }


SECRET_KEY = env("DJANGO_SECRET_KEY", "dev-only-insecure-secret-key-change-me-0123456789abcdef")
DEBUG = env_bool("DJANGO_DEBUG", True)

# Tenants are addressed as <slug>.<BASE_DOMAIN>; vendor operators use ops.<BASE_DOMAIN>.
BASE_DOMAIN = env("MADOGUCHI_BASE_DOMAIN", "localhost")
OPS_HOST = env("MADOGUCHI_OPS_HOST", f"ops.{BASE_DOMAIN}")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", f".{BASE_DOMAIN},{BASE_DOMAIN},127.0.0.1,testserver")

# ---------------------------------------------------------------------------------------------
# Applications: shared (public schema) and tenant (one schema per municipality)
# ---------------------------------------------------------------------------------------------
SHARED_APPS = [
    "tenants",  # before django_tenants: its migrate_schemas also keeps the template schema current
    "django_tenants",
    "tenants.accounts",  # users exist in both: vendor operators in public, staff per tenant
    "audit",  # public chain records vendor operations; tenant chains record everything else
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "tenants.accounts",
    "audit",
    "integration",
    "integration.exports",
    "navigation",
    "navigation.cases",
    "forms_builder",
    "forms_builder.tablet",
    "mynacard",
]
INSTALLED_APPS = list(SHARED_APPS) + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Municipality"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_NAME = "public"
# New municipalities are cloned from this schema (kept migrated by `migrate_schemas`).
TENANT_BASE_SCHEMA = env("MADOGUCHI_TEMPLATE_SCHEMA", "tenant_template")
TENANT_CREATION_FAKES_MIGRATIONS = True
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
TENANT_LIMIT_SET_CALLS = True

AUTH_USER_MODEL = "accounts.User"

MIDDLEWARE = [
    "madoguchi.middleware.RequestIdMiddleware",
    # Outside everything that may answer on its own (health probe, static files, unknown host,
    # suspended municipality), so that every response carries the security headers.
    "madoguchi.middleware.SecurityHeadersMiddleware",
    "madoguchi.middleware.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "tenants.middleware.MunicipalityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "madoguchi.middleware.ExplicitLanguageMiddleware",  # Japanese unless chosen (not the browser's language)
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tenants.accounts.middleware.TenantSessionBindingMiddleware",
    "tenants.accounts.sessions.SessionDeadlineMiddleware",
    "mynacard.middleware.CardSecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "audit.middleware.AuditContextMiddleware",
]

ROOT_URLCONF = "madoguchi.urls_tenant"
PUBLIC_SCHEMA_URLCONF = "madoguchi.urls_public"
WSGI_APPLICATION = "madoguchi.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "madoguchi.context_processors.shell",
            ],
            "libraries": {"madoguchi_tags": "madoguchi.templatetags.madoguchi_tags"},
        },
    },
]

# Two roles (see madoguchi/dbroles.py, docs/operations.md): DATABASE_URL is the application role that web,
# worker and beat use (DML only; append-only on the audit tables); DATABASE_OWNER_URL the owner role that runs
# migrations, provisioning and the few SECURITY DEFINER functions. The owner's database name is never used:
# it always acts on the application connection's database (so a test database follows automatically).
_DEFAULT_DB = "127.0.0.1:5432/madoguchi"
DATABASES = {
    "default": database_from_url(env("DATABASE_URL", f"postgresql://madoguchi_app@{_DEFAULT_DB}")),
}
DATABASE_OWNER = database_from_url(
    env("DATABASE_OWNER_URL", "" if env("DATABASE_URL") else f"postgresql://madoguchi_owner@{_DEFAULT_DB}")
    or env("DATABASE_URL"))
DATABASE_OWNER_URL_SET = bool(env("DATABASE_OWNER_URL"))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", "redis://127.0.0.1:6379/0")
CACHE_BACKEND = env("MADOGUCHI_CACHE", "redis")
if CACHE_BACKEND == "redis":
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("MADOGUCHI_CACHE_PREFIX", "madoguchi"),
            # Every cache key carries the tenant schema: no value crosses municipalities.
            "KEY_FUNCTION": "django_tenants.cache.make_key",
            "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
        }
    }
else:  # embedded fallback for laptops without Redis (see madoguchi/launcher.py)
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(BASE_DIR / "var" / "cache"),
            "KEY_FUNCTION": "django_tenants.cache.make_key",
            "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
        }
    }

# ---------------------------------------------------------------------------------------------
# Authentication, sessions and passwords
# ---------------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "tenants.accounts.passwords.CharacterClassValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"
# Failed logins before an account is locked, and for how long (seconds).
LOGIN_MAX_FAILURES = int(env("MADOGUCHI_LOGIN_MAX_FAILURES", "5"))
LOGIN_LOCKOUT_SECONDS = int(env("MADOGUCHI_LOGIN_LOCKOUT_SECONDS", "900"))
# Number of reverse proxies (load balancer) in front of the web processes that append X-Forwarded-For.
TRUSTED_PROXY_COUNT = int(env("MADOGUCHI_TRUSTED_PROXY_COUNT", "0"))
# Attempts per client address per minute, whatever the user name.
LOGIN_RATE_PER_MINUTE = int(env("MADOGUCHI_LOGIN_RATE_PER_MINUTE", "20"))

SESSION_COOKIE_NAME = "madoguchi_session"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = int(env("MADOGUCHI_SESSION_SECONDS", str(8 * 3600)))  # one working day
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_WARNING_SECONDS = int(env("MADOGUCHI_SESSION_WARNING_SECONDS", "300"))  # warn this long before expiry
SESSION_ENGINE = "django.contrib.sessions.backends.db"  # the session table lives in the tenant schema
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the meta tag, not the cookie
CSRF_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_NAME = "madoguchi_language"  # set only by the header's language switch (set_language)
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
CSRF_FAILURE_VIEW = "madoguchi.views.csrf_failure"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy sent on every response (see madoguchi.middleware).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'none'; object-src 'none'"
)

# ---------------------------------------------------------------------------------------------
# Internationalisation: Japanese first
# ---------------------------------------------------------------------------------------------
LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", _("日本語")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
for prefix, folder in (
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
    ("vendor/design-tokens", BASE_DIR / "node_modules" / "@digital-go-jp" / "design-tokens" / "dist"),
    # The form layout editor drags with interact.js; the resident's tablet signs with signature_pad.
    ("vendor/interactjs", BASE_DIR / "node_modules" / "interactjs" / "dist"),
    ("vendor/signature_pad", BASE_DIR / "node_modules" / "signature_pad" / "dist"),
):
    if folder.is_dir():
        STATICFILES_DIRS.append((prefix, folder))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = Path(env("MADOGUCHI_MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
# The small print font derived from IPAmj明朝 on first use (forms_builder.fonts.common_font_path); not committed.
FORMS_FONT_DIR = Path(env("MADOGUCHI_FORMS_FONT_DIR", str(BASE_DIR / "var" / "fonts")))
# Per-tenant linkage inbox/outbox directories live under here: <root>/<schema>/inbox|outbox.
LINKAGE_ROOT = Path(env("MADOGUCHI_LINKAGE_ROOT", str(BASE_DIR / "var" / "linkage")))
# Received linkage files that were not applied (kept for a retry) are deleted after this many days;
# applied files are deleted at once.
LINKAGE_RECEIVED_RETENTION_DAYS = int(env("MADOGUCHI_LINKAGE_RETENTION_DAYS", "7"))

# ---------------------------------------------------------------------------------------------
# Keys: the key-encryption key wraps every municipality's data key (AES-GCM).
# In production it comes from the environment (injected from KMS); never from the repository.
# ---------------------------------------------------------------------------------------------
MADOGUCHI_KEK = env("MADOGUCHI_KEK", "ZGV2LW9ubHkta2VrLWRvLW5vdC11c2UtaW4tcHJvZCE=")
# Ed25519 seed (base64, 32 bytes) that signs the audit chain checkpoints.
MADOGUCHI_AUDIT_SIGNING_KEY = env("MADOGUCHI_AUDIT_SIGNING_KEY", "ZGV2LW9ubHktYXVkaXQtc2lnbmluZy1zZWVkLTMyYiE=")
# Every chain's head is signed at most this often (if it grew) by the beat dispatcher (audit.checkpoint):
# at most these seconds (plus a minute of dispatch) of events are ever without a signed anchor.
AUDIT_CHECKPOINT_SECONDS = int(env("MADOGUCHI_AUDIT_CHECKPOINT_SECONDS", "300"))
# The write-once store every checkpoint is also written to (audit.anchors): s3://bucket/prefix (Object Lock)
# in production, file:///folder in development and tests.
AUDIT_ANCHOR_URL = env("MADOGUCHI_AUDIT_ANCHOR_URL", (BASE_DIR / "var" / "audit-anchors").as_uri())
AUDIT_ANCHOR_RETENTION_DAYS = int(env("MADOGUCHI_AUDIT_ANCHOR_RETENTION_DAYS", "2557"))  # 7 years
AUDIT_ANCHOR_S3_ENDPOINT = env("MADOGUCHI_AUDIT_ANCHOR_S3_ENDPOINT")

# ---------------------------------------------------------------------------------------------
# My Number card (mynacard): trust anchors from a directory each deployment configures
# (docs/mynacard.md). Development defaults to the software card's test authority that `make run`
# creates; the production settings refuse any directory marked TEST_ONLY.
# ---------------------------------------------------------------------------------------------
MYNACARD_TRUST_DIR = Path(env("MADOGUCHI_CARD_TRUST_DIR", str(BASE_DIR / "var" / "card-test-authority" / "anchors")))
MYNACARD_ALLOW_TEST_ANCHORS = env_bool("MADOGUCHI_CARD_ALLOW_TEST_ANCHORS", True)
MYNACARD_REVOCATION = env("MADOGUCHI_JPKI_REVOCATION", "crl_file")
# Card data of a case is deleted this many hours after the read (and when its case is deleted).
# The resident's tablet at a desk: how long a paired tablet's session lasts before it must be paired again.
TABLET_SESSION_HOURS = float(env("MADOGUCHI_TABLET_SESSION_HOURS", "12"))
MYNACARD_RETENTION_HOURS = int(env("MADOGUCHI_CARD_RETENTION_HOURS", "12"))

# ---------------------------------------------------------------------------------------------
# REST API
# ---------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tenants.accounts.api.ApiClientTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.ScopedRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "api": env("MADOGUCHI_API_RATE", "600/min"),
        "api_upload": env("MADOGUCHI_API_UPLOAD_RATE", "60/min"),
    },
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON only, depth- and size-limited (madoguchi.drf); upload views name their own parsers.
    "DEFAULT_PARSER_CLASSES": ["madoguchi.drf.SafeJSONParser"],
    "EXCEPTION_HANDLER": "madoguchi.drf.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Madoguchi API",
    "DESCRIPTION": "窓口DXSaaS API for core systems (基幹系) and other services. "
    "Every endpoint is scoped to the municipality of the host it is called on.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Without deep links the operation's path is no link inside the toggle button (axe: nested-interactive).
    "SWAGGER_UI_SETTINGS": {"deepLinking": False},
}

# ---------------------------------------------------------------------------------------------
# Celery: tasks carry their tenant's schema in a message header (tenant-schemas-celery)
# ---------------------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", REDIS_URL)
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", "madoguchi")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    # One dispatcher: each minute it enqueues the per-municipality jobs that are due.
    "dispatch-due-jobs": {"task": "tenants.dispatch_due_jobs", "schedule": 60.0},
    # The public schema's chain (vendor operations) has no municipality: signed on its own timetable.
    "audit-checkpoint-public": {"task": "audit.checkpoint_public", "schedule": float(AUDIT_CHECKPOINT_SECONDS)},
}
# Provisioning (DDL as the owner role) can be routed to a worker of its own that alone holds DATABASE_OWNER_URL.
CELERY_TASK_ROUTES = {"tenants.provision_municipality": {"queue": env("MADOGUCHI_OWNER_QUEUE")}} if env(
    "MADOGUCHI_OWNER_QUEUE") else {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _folder = BASE_DIR / "var" / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_folder),
        "data_folder_out": str(_folder),
        "processed_folder": str(_folder / "processed"),
    }

# ---------------------------------------------------------------------------------------------
# Logging: one JSON line per request, carrying the request id
# ---------------------------------------------------------------------------------------------
LOG_LEVEL = env("MADOGUCHI_LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "madoguchi.logging.RequestContextFilter"}},
    "formatters": {"json": {"()": "madoguchi.logging.JsonFormatter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_context"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.server": {"handlers": [], "propagate": False},
        "django.request": {"level": "ERROR"},
    },
}
