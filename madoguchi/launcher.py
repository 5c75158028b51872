"""`make run`: migrate, seed the demo municipalities, start web + Celery worker + beat, print URLs.

Uses the local PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) when reachable, or whatever
DATABASE_URL / REDIS_URL say. Without them it falls back to an embedded PostgreSQL (pgserver, data in
var/pgdata) and a file-system Celery broker with a file cache, so a laptop without services runs it too.

Either way the two database roles of production are used (madoguchi/dbroles.py): the local or embedded
server's superuser creates ``madoguchi_owner`` (owns the database; migrations, provisioning) and
``madoguchi_app`` (web, worker, beat) with ``manage.py db_roles``, and hands an older database over to
the owner. With DATABASE_URL from the environment, set DATABASE_OWNER_URL too (and create the roles yourself).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tenants.demo_constants import DEMO_PASSWORD, DEMO_USERNAMES

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
PORT = int(os.environ.get("MADOGUCHI_PORT", "8000"))
CARD_PIN_PAD_PORT = int(os.environ.get("MADOGUCHI_PIN_PAD_PORT", "8765"))
_CARD_LOCKS: list = []  # the vpcd slot stays locked while make run runs


def _say(message: str) -> None:
    print(f"[make run] {message}", flush=True)


def _tcp_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.5):
            return True
    except OSError:
        return False


EMBEDDED = os.environ.get("MADOGUCHI_EMBEDDED", "") in {"1", "true", "yes"}
OWNER, APP = "madoguchi_owner", "madoguchi_app"


def _two_roles(env: dict[str, str], superuser_url: str) -> None:
    """DATABASE_URL = application role, DATABASE_OWNER_URL = owner role, on the same server and database as
    ``superuser_url`` (path = the database); the roles are created by ``manage.py db_roles``."""
    from urllib.parse import urlparse

    parsed = urlparse(superuser_url)
    netloc = parsed.netloc.rpartition("@")[2]
    env["DATABASE_URL"] = parsed._replace(netloc=f"{APP}@{netloc}").geturl()
    env["DATABASE_OWNER_URL"] = parsed._replace(netloc=f"{OWNER}@{netloc}").geturl()
    env["MADOGUCHI_DB_SUPERUSER_URL"] = parsed._replace(path="/postgres").geturl()
    _manage(env, "db_roles")


def _configure_database(env: dict[str, str]) -> None:
    if EMBEDDED:
        _start_embedded_postgres(env)
        return
    if env.get("DATABASE_URL"):
        _say("PostgreSQL: DATABASE_URL from the environment")
        return
    if _tcp_open("127.0.0.1", 5432):
        import psycopg

        try:
            with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True,
                                 connect_timeout=3) as conn:
                conn.execute("SELECT 1")
            _two_roles(env, "postgresql://postgres@127.0.0.1:5432/madoguchi")
            _say(f"PostgreSQL: local server 127.0.0.1:5432, database madoguchi (roles {OWNER}, {APP})")
            return
        except psycopg.Error as exc:
            _say(f"PostgreSQL at 127.0.0.1:5432 not usable ({exc.__class__.__name__}); using embedded server")
    _start_embedded_postgres(env)


def _start_embedded_postgres(env: dict[str, str]) -> None:
    import pgserver

    datadir = VAR / "pgdata"
    datadir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(str(datadir), cleanup_mode=None)
    from urllib.parse import urlparse

    from pgserver._commands import POSTGRES_BIN_PATH

    # Its own pg_dump (the server is newer than Debian's client): new municipalities are cloned from its dump.
    env["MADOGUCHI_PG_DUMP"] = str(POSTGRES_BIN_PATH / "pg_dump")
    _two_roles(env, urlparse(server.get_uri())._replace(path="/madoguchi").geturl())
    _say(f"PostgreSQL: embedded server in {datadir} (roles {OWNER}, {APP})")


def _configure_redis(env: dict[str, str]) -> None:
    if not EMBEDDED and (env.get("REDIS_URL") or _tcp_open("127.0.0.1", 6379)):
        _say(f"Redis: {env.get('REDIS_URL', 'redis://127.0.0.1:6379/0')}")
        return
    broker = VAR / "broker"
    (broker / "processed").mkdir(parents=True, exist_ok=True)
    (VAR / "celery-results").mkdir(parents=True, exist_ok=True)
    env["CELERY_BROKER_URL"] = "filesystem://"
    env["CELERY_RESULT_BACKEND"] = f"file://{VAR / 'celery-results'}"
    env["MADOGUCHI_CACHE"] = "file"
    _say("Redis not reachable: file-system Celery broker and file cache in var/")


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


def _start_card_demo(env: dict[str, str], children: list[subprocess.Popen]) -> str:
    """The software card in a vpcd slot + one reader station for みなみデモ市 (tests and demo only: vpcd
    listens on every interface; the card, the station and its PIN pad use the loopback address)."""
    if subprocess.run(["bash", str(ROOT / ".ci" / "pcscd.sh")], cwd=ROOT).returncode != 0:
        _say("card demo skipped: pcscd with vsmartcard-vpcd is not available")
        return ""
    try:
        import smartcard  # noqa: F401
    except ImportError:
        _say("card demo skipped: pyscard is not installed")
        return ""
    from mynacard.slots import BASE_PORT, claim_slot, reader_name

    try:
        slot, lock = claim_slot(timeout=1)
    except RuntimeError:
        _say("card demo skipped: both vpcd slots are in use")
        return ""
    _CARD_LOCKS.append(lock)
    credential = VAR / "card-demo" / "station.json"
    _manage(env, "mynacard_demo", "--tenant", "minami", "--server", f"http://minami.localhost:{PORT}",
            "--credential", str(credential))
    children.append(subprocess.Popen(
        [sys.executable, "-m", "mynacard.emulator", "--persona", "yamada", "--host", "127.0.0.1",
         "--port", str(BASE_PORT + slot), "--authority", str(VAR / "card-test-authority"),
         "--state", str(VAR / "card-demo" / "pin-state.json")],
        cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL))
    children.append(subprocess.Popen(
        [sys.executable, "-m", "mynacard.agent", "--credential", str(credential), "--reader", reader_name(slot),
         "--pin-pad-port", str(CARD_PIN_PAD_PORT)], cwd=ROOT, env=env))
    return (f"  card demo     PIN pad http://127.0.0.1:{CARD_PIN_PAD_PORT}/ (PIN 1234); staff1 sits at desk 1番席:\n"
            f"                open a case as staff1, then type the PIN on the pad ({reader_name(slot)})\n")


def main() -> int:
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "madoguchi.settings.base")
    env.setdefault("DJANGO_DEBUG", "1")
    VAR.mkdir(exist_ok=True)
    _configure_database(env)
    _configure_redis(env)

    _say("migrating the public schema, the template schema and every municipality")
    _manage(env, "migrate_schemas", "--verbosity", "0")
    _say("seeding the demo municipalities")
    _manage(env, "seed_demo")
    demo_data = os.environ.get("MADOGUCHI_DEMO_RESIDENTS", "3000")
    if demo_data != "0":
        result = subprocess.run([sys.executable, "manage.py", "help", "load_demo_data"], cwd=ROOT, env=env,
                                capture_output=True)
        if result.returncode == 0:
            _say(f"loading {demo_data} demo residents into みなみデモ市 through the linkage pipeline")
            _manage(env, "load_demo_data", "--tenant", "minami", "--residents", demo_data)
    _manage(env, "ensure_operator", "--username", "operator")

    children: list[subprocess.Popen] = []
    celery = [sys.executable, "-m", "celery", "-A", "madoguchi"]
    children.append(subprocess.Popen([sys.executable, "manage.py", "runserver", f"127.0.0.1:{PORT}", "--noreload"],
                                     cwd=ROOT, env=env))
    children.append(subprocess.Popen([*celery, "worker", "-l", "INFO", "-P", "solo", "-n", "run@%h"], cwd=ROOT,
                                     env=env))
    children.append(subprocess.Popen([*celery, "beat", "-l", "INFO", "-s", str(VAR / "celerybeat-schedule")],
                                     cwd=ROOT, env=env))
    card_lines = _start_card_demo(env, children)
    time.sleep(2)
    print(
        "\n"
        "==================================================================\n"
        " Madoguchi is running\n"
        f"  みなみデモ市   http://minami.localhost:{PORT}/\n"
        f"  きたデモ町     http://kita.localhost:{PORT}/\n"
        f"  事業者運用     http://ops.localhost:{PORT}/admin/   (operator / {DEMO_PASSWORD})\n"
        f"  API docs      http://minami.localhost:{PORT}/api/docs/\n"
        f"  health        http://127.0.0.1:{PORT}/healthz\n"
        f"  demo staff    {', '.join(DEMO_USERNAMES)}  (password {DEMO_PASSWORD})\n"
        + card_lines +
        " Ctrl-C stops web, worker and beat.\n"
        "==================================================================\n",
        flush=True,
    )

    def _stop(*_: object) -> None:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        sys.exit(0)

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    while True:
        for child in children:
            if child.poll() is not None:
                _say(f"a process exited ({' '.join(map(str, child.args[:4]))}); stopping the rest")
                _stop()
        time.sleep(1)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "madoguchi.settings.base")
    raise SystemExit(main())
