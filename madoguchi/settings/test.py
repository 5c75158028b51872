"""Settings for the test suite: the real local PostgreSQL and Redis, quick password hashing."""

import os

os.environ.setdefault("DJANGO_DEBUG", "0")

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
