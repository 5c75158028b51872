"""Shared test infrastructure.

- One test database per pytest process (xdist worker), migrated once; the template schema and two
  municipalities (``testa`` / ``testb``) with counters and staff are provisioned once per process and
  committed. Ordinary tests run inside a transaction that is rolled back (``db`` fixture).
- Tests that must see committed data from another process or thread (real Celery worker, browser
  through a live server, tampering through a privileged connection) are marked ``worker`` / ``browser``
  / ``schema``; they commit to the shared tenants only what they clean up, or use ``fresh_municipality``.
- Never use ``transactional_db``: its flush truncates the public schema (municipalities, domains).
- Two database roles, as in production (madoguchi/dbroles.py): the test database is created and migrated by
  the *owner* role; every test, live server and worker connects as the *application* role (DML only,
  append-only audit tables). A test that needs DDL or must tamper uses ``owner_connection()`` (as the owner)
  or ``superuser_database_url()`` (behind everyone's back), explicitly.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from madoguchi.principals import SYSTEM

ROOT = Path(__file__).resolve().parent.parent
# Playwright's sync API keeps an asyncio loop in the main thread; Django's ORM must still run there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
PASSWORD = "Madoguchi-demo-2026"


@dataclass(frozen=True)
class TestCity:
    code: str
    slug: str
    name: str
    areas: str

    @property
    def host(self) -> str:
        return f"{self.slug}.{settings.BASE_DOMAIN}"


CITY_A = TestCity("462012", "testa", "テストA市", "juki,inkan,koseki,zei,kokuho,kaigo,kouki,jidou_teate,gakureibo")
CITY_B = TestCity("131041", "testb", "テストB区", "juki,kokuho")


@pytest.fixture(scope="session")
def django_db_setup(request, django_test_environment, django_db_blocker):  # noqa: ANN001
    """Create and migrate this process's test database, then the template schema and two cities.

    Unlike pytest-django's own fixture this always sets the database up, also when the only tests
    selected are browser or worker tests that do not request ``db`` (otherwise they would run
    against the development database).
    """
    from django.test.utils import setup_databases, teardown_databases

    from madoguchi.dbroles import ensure_roles, owner_connection
    from tenants.demo import DemoCity, seed_city
    from tenants.template import template_ensure

    with django_db_blocker.unblock():
        ensure_roles(os.environ["MADOGUCHI_TEST_SUPERUSER_URL"])
        connection.close()
        with owner_connection():  # the owner creates and migrates the test database (CREATEDB, owns every table)
            db_cfg = setup_databases(verbosity=request.config.option.verbose, interactive=False,
                                     aliases={"default"})
            assert connection.settings_dict["NAME"].startswith("test_"), "refusing to seed a non-test database"
            template_ensure(force=True)
        assert settings.DATABASES["default"]["NAME"].startswith("test_")
        connection.close()
        with connection.cursor() as cursor:  # from here on: the application role
            cursor.execute("SELECT current_user")
            assert cursor.fetchone()[0] == settings.DATABASES["default"]["USER"]
        for city in (CITY_A, CITY_B):
            seed_city(DemoCity(city.code, city.slug, city.name, "", city.areas), catalogue=False)
        connection.set_schema_to_public()
    yield
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        connection.close()
        # Live-server threads and worker processes may still hold connections to the test database.
        import psycopg

        with psycopg.connect(os.environ["MADOGUCHI_TEST_SUPERUSER_URL"], autocommit=True) as su:
            su.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                       [settings.DATABASES["default"]["NAME"]])
        teardown_databases(db_cfg, verbosity=request.config.option.verbose)
    anchors = Path(settings.AUDIT_ANCHOR_URL.removeprefix("file://"))
    if anchors.name.startswith("madoguchi-test-anchors-") and anchors.is_dir():
        import shutil

        for path in anchors.rglob("*"):  # the anchors are read-only files
            path.chmod(0o755 if path.is_dir() else 0o644)
        shutil.rmtree(anchors, ignore_errors=True)


@pytest.fixture(autouse=True, scope="session")
def _always_use_the_test_database(django_db_setup) -> None:  # noqa: ANN001
    """Tests that unblock the database themselves (worker, schema tests) must never reach the dev DB."""


@pytest.fixture(autouse=True)
def _public_schema_between_tests() -> Iterator[None]:
    yield
    connection.set_schema_to_public()


@pytest.fixture(autouse=True)
def _clear_rate_limits() -> Iterator[None]:
    """Login rate limits live in Redis; start every test with a clean slate for this process."""
    yield
    from django.core.cache import cache

    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    client = getattr(cache, "_cache", None)
    if client is not None and hasattr(client, "get_client"):
        redis = client.get_client(write=True)
        keys = list(redis.scan_iter(f"{prefix}:*login-rate*"))
        if keys:
            redis.delete(*keys)


@pytest.fixture
def tenant_a(db):  # noqa: ANN001
    from tenants.models import Municipality

    return Municipality.objects.get(slug=CITY_A.slug)


@pytest.fixture
def tenant_b(db):  # noqa: ANN001
    from tenants.models import Municipality

    return Municipality.objects.get(slug=CITY_B.slug)


@contextmanager
def in_tenant(municipality: object) -> Iterator[None]:
    previous = connection.tenant
    connection.set_tenant(municipality)
    try:
        yield
    finally:
        if previous is None or previous.schema_name == "public":
            connection.set_schema_to_public()
        else:
            connection.set_tenant(previous)


@pytest.fixture
def in_a(tenant_a):  # noqa: ANN001
    """Run the test body with the connection in city A's schema."""
    with in_tenant(tenant_a):
        yield tenant_a


def provisioned_counter(catalogue_name: str, **fields: object) -> object:
    """The counter provisioning created for a catalogue counter (``navigation``'s default counters), with
    ``fields`` (name, sort_order, location …) changed as a municipality's admin would. Call inside the tenant."""
    from tenants.accounts.models import Counter

    counter = Counter.objects.get(name=catalogue_name)
    for key, value in fields.items():
        setattr(counter, key, value)
    counter.save()
    return counter


def host_client(city: TestCity) -> Client:
    return Client(HTTP_HOST=city.host)


def staff_client(municipality: object, username: str, *, counter: object = None) -> Client:
    """A test client logged in as ``username`` of ``municipality`` (session bound to its schema)."""
    from tenants.accounts.models import User
    from tenants.accounts.services import SESSION_COUNTER_KEY

    client = Client(HTTP_HOST=f"{municipality.slug}.{settings.BASE_DOMAIN}")
    with in_tenant(municipality):
        user = User.objects.get(username=username)
        client.force_login(user)
        if counter is not None:
            session = client.session
            session[SESSION_COUNTER_KEY] = counter.pk
            session.save()
    return client


@pytest.fixture
def client_a(tenant_a) -> Client:  # noqa: ANN001
    return host_client(CITY_A)


@pytest.fixture
def client_b(tenant_b) -> Client:  # noqa: ANN001
    return host_client(CITY_B)


@pytest.fixture
def staff_a(tenant_a) -> Client:  # noqa: ANN001
    return staff_client(tenant_a, "staff1")


@pytest.fixture
def admin_a(tenant_a) -> Client:  # noqa: ANN001
    return staff_client(tenant_a, "admin")


# ---------------------------------------------------------------------------------------------
# Committed data: a fresh municipality per test (marked `schema`)
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def fresh_municipality(django_db_blocker):  # noqa: ANN001
    """Provision a throw-away municipality (committed) and drop it afterwards."""
    from tenants.models import Municipality
    from tenants.services import municipality_provision
    from tenants.validators import municipality_check_digit

    created: list[Municipality] = []

    def _make(areas: str = "juki,kokuho", **kwargs: object) -> Municipality:
        with django_db_blocker.unblock():
            connection.set_schema_to_public()
            while True:
                body = f"{secrets.randbelow(47) + 1:02d}{secrets.randbelow(900) + 100:03d}"
                code = body + str(municipality_check_digit(body))
                if not Municipality.objects.filter(code=code).exists():
                    break
            slug = kwargs.pop("slug", f"t{secrets.token_hex(4)}")
            result = municipality_provision(code=code, slug=slug, name=f"使い捨て市{slug}", areas=areas,
                                            admin_password=PASSWORD, **kwargs)
            created.append(result.municipality)
            return result.municipality

    yield _make
    with django_db_blocker.unblock():
        connection.set_schema_to_public()
        for municipality in created:
            drop_municipality(municipality)


# ---------------------------------------------------------------------------------------------
# A real Celery worker process on this test database (marked `worker`)
# ---------------------------------------------------------------------------------------------
def _test_database_url() -> str:
    """The test database as the application role (what web, worker and beat use)."""
    db = settings.DATABASES["default"]
    host = db["HOST"] or "127.0.0.1"
    port = db["PORT"] or "5432"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgresql://{auth}@{host}:{port}/{db['NAME']}"


def owner_database_url() -> str:
    """The test database as the owner role (DDL, migrations)."""
    from urllib.parse import urlparse

    url = os.environ["DATABASE_OWNER_URL"]
    return urlparse(url)._replace(path="/" + settings.DATABASES["default"]["NAME"]).geturl()


def superuser_database_url() -> str:
    """The test database as a superuser: only for tests that tamper behind the application's back."""
    from urllib.parse import urlparse

    url = os.environ["MADOGUCHI_TEST_SUPERUSER_URL"]
    return urlparse(url)._replace(path="/" + settings.DATABASES["default"]["NAME"]).geturl()


def drop_municipality(municipality: object) -> None:
    """Remove a committed throw-away municipality: its schema (DDL, as the owner) and its public rows."""
    from madoguchi.dbroles import owner_connection

    with owner_connection():
        connection.set_schema_to_public()
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{municipality.schema_name}" CASCADE')
            cursor.execute("DELETE FROM tenants_domain WHERE tenant_id = %s", [municipality.pk])
            cursor.execute("DELETE FROM tenants_municipality WHERE id = %s", [municipality.pk])


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, tmp_path_factory) -> Iterator[subprocess.Popen]:  # noqa: ANN001
    """Start ``celery worker`` against the test database and this process's own queue; stop it by PID."""
    folder = tmp_path_factory.mktemp("celery")
    pidfile = folder / "worker.pid"
    name = f"test-{os.getpid()}-{secrets.token_hex(3)}@%h"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "madoguchi.settings.test",
        "DATABASE_URL": _test_database_url(),
        "CELERY_TASK_DEFAULT_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
        "MADOGUCHI_LINKAGE_ROOT": str(settings.LINKAGE_ROOT),
        "MADOGUCHI_MEDIA_ROOT": str(settings.MEDIA_ROOT),
    }
    log = open(folder / "worker.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "madoguchi", "worker", "-P", "solo", "-n", name,
         "-Q", settings.CELERY_TASK_DEFAULT_QUEUE, "--pidfile", str(pidfile), "--loglevel", "INFO",
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"celery worker exited: {(folder / 'worker.log').read_text()[-2000:]}")
        if "ready." in (folder / "worker.log").read_text():
            break
        time.sleep(0.2)
    else:
        proc.kill()
        raise RuntimeError("celery worker did not become ready in 60 s")
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def wait_until(predicate, *, timeout: float = 30.0, interval: float = 0.1):  # noqa: ANN001,ANN201
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


# ---------------------------------------------------------------------------------------------
# Browser: a live server thread and Debian's Chromium through Playwright (marked `browser`)
# ---------------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveServer:
    port: int

    def url(self, city: TestCity | str, path: str = "/") -> str:
        slug = city if isinstance(city, str) else city.slug
        return f"http://{slug}.{settings.BASE_DOMAIN}:{self.port}{path}"


@pytest.fixture(scope="session")
def live_server_mt(django_db_setup, django_db_blocker) -> Iterator[LiveServer]:  # noqa: ANN001
    """A threaded WSGI server for all hosts (``*.localhost`` resolve to loopback in Chromium)."""
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    port = _free_port()
    server = ThreadedWSGIServer(("127.0.0.1", port), QuietHandler, allow_reuse_address=True)
    server.set_app(StaticFilesHandler(WSGIHandler()))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    django_db_blocker.unblock()  # the server threads open their own connections
    thread.start()
    yield LiveServer(port=port)
    server.shutdown()
    server.server_close()
    django_db_blocker.restore()


CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    executable = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser) -> Iterator[object]:  # noqa: ANN001
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="ja-JP")
    context.set_default_timeout(15000)
    page = context.new_page()
    yield page
    context.close()


AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"


def axe_violations(page: object, *, impacts: tuple[str, ...] = ("serious", "critical")) -> list[dict]:
    """Run axe-core in the page; return violations of the given impact levels."""
    # Evaluated through the DevTools protocol: the page's strict CSP forbids injected <script> tags.
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_JS.read_text(encoding="utf-8") + "\n;undefined")
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [v for v in result["violations"] if v.get("impact") in impacts]


def browser_login(page: object, server: LiveServer, city: TestCity, username: str,
                  password: str = PASSWORD) -> None:
    page.goto(server.url(city, "/accounts/login/"))
    page.get_by_label("ユーザーID").fill(username)
    page.get_by_label("パスワード").fill(password)
    page.get_by_role("button", name="ログイン").click()


@pytest.fixture
def committed_city(fresh_municipality, django_db_blocker, tmp_path_factory):
    """A throw-away municipality with the shipped layouts and three residents, committed."""
    municipality = fresh_municipality(areas="juki,kokuho")
    with django_db_blocker.unblock(), in_tenant(municipality):
        from integration.models import ImportRun, LinkageLayout
        from integration.services import layouts_ensure_shipped
        from tests.test_integration_import import person, std_csv

        layouts_ensure_shipped()
        layout = LinkageLayout.objects.get(key="juki_standard_csv")
        from integration.services import import_submit

        rows = [person(n, municipality_code=municipality.code) for n in (1, 2, 3)]
        assert import_submit(actor=SYSTEM, layout=layout, source=std_csv(rows), file_name="base.csv",
                             run_async=False).status == ImportRun.Status.SUCCEEDED
    return municipality


# ---------------------------------------------------------------------------------------------
# My Number card: the real PC/SC stack (pcscd + vpcd + the software card). Defined once, here, so that a
# pytest process has one software card on one locked vpcd slot for its whole session (tests/cardstack.py).
# ---------------------------------------------------------------------------------------------
from tests.cardstack import card_authority, card_settings, software_card, trust_anchors  # noqa: E402,F401
