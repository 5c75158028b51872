"""Demo credentials (no Django imports: the launcher prints them before Django is set up)."""

DEMO_PASSWORD = "Madoguchi-demo-2026"  # noqa: S105 - published demo credential, DEBUG only
DEMO_USERNAMES = ("admin", "staff1", "staff2", "leader")
