"""Settings for the test suite: the real local PostgreSQL and Redis, quick password hashing."""

import os

os.environ.setdefault("DJANGO_DEBUG", "0")
# The suite runs as the application role; the owner creates and migrates the test database (tests/conftest.py).
# Set in the environment so that worker processes started by tests inherit the owner too.
os.environ.setdefault("DATABASE_URL", "postgresql://madoguchi_app@127.0.0.1:5432/madoguchi")
os.environ.setdefault("DATABASE_OWNER_URL", "postgresql://madoguchi_owner@127.0.0.1:5432/madoguchi")
# A superuser, only for creating the two roles and for tests that tamper behind the application's back.
os.environ.setdefault("MADOGUCHI_TEST_SUPERUSER_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
# Each pytest process writes its audit checkpoints to a folder of its own (inherited by its worker processes).
os.environ.setdefault("MADOGUCHI_AUDIT_ANCHOR_URL", f"file:///tmp/madoguchi-test-anchors-{os.getpid()}")

from .base import *  # noqa: E402,F403
from .base import CACHES, env  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Each pytest process (xdist worker) gets its own cache namespace and Celery queue.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
CACHES["default"]["KEY_PREFIX"] = f"test-{os.getpid()}-{_worker}"
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", f"test-{os.getpid()}-{_worker}")
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
LANGUAGE_CODE = "ja"

# A test database per pytest process, so that several suites (developers, CI, xdist workers) can run
# side by side on one PostgreSQL server without dropping each other's database.
from .base import DATABASES  # noqa: E402

DATABASES["default"]["TEST"] = {"NAME": env("TEST_DATABASE_NAME") or f"test_madoguchi_{os.getpid()}"}
