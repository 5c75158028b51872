"""Production settings: refuse to start without secrets, HTTPS everywhere."""

import os

from django.core.exceptions import ImproperlyConfigured

os.environ.setdefault("DJANGO_DEBUG", "0")

from pathlib import Path  # noqa: E402

from .base import *  # noqa: E402,F403
from .base import BASE_DIR, env, env_bool  # noqa: E402

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY")
MADOGUCHI_KEK = env("MADOGUCHI_KEK")
if not SECRET_KEY or SECRET_KEY.startswith("dev-only") or len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set to a random value of at least 50 characters")
if not MADOGUCHI_KEK:
    raise ImproperlyConfigured("MADOGUCHI_KEK (base64 of 32 bytes, from KMS) must be set")
MADOGUCHI_AUDIT_SIGNING_KEY = env("MADOGUCHI_AUDIT_SIGNING_KEY")
if not MADOGUCHI_AUDIT_SIGNING_KEY:
    raise ImproperlyConfigured("MADOGUCHI_AUDIT_SIGNING_KEY (base64 Ed25519 seed of 32 bytes) must be set")

# My Number card: the production J-LIS anchors shipped in mynacard/trust/production unless the deployment
# points elsewhere; never the software card's test authority (a TEST_ONLY directory is refused).
MYNACARD_TRUST_DIR = Path(env("MADOGUCHI_CARD_TRUST_DIR", str(BASE_DIR / "mynacard" / "trust" / "production")))
MYNACARD_ALLOW_TEST_ANCHORS = False
if (MYNACARD_TRUST_DIR / "TEST_ONLY").exists():
    raise ImproperlyConfigured(f"MADOGUCHI_CARD_TRUST_DIR={MYNACARD_TRUST_DIR} holds the software card's TEST keys")

TRUSTED_PROXY_COUNT = int(env("MADOGUCHI_TRUSTED_PROXY_COUNT", "1"))  # the Gov-Cloud load balancer
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = int(env("DJANGO_HSTS_SECONDS", "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
LANGUAGE_COOKIE_SECURE = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = False
