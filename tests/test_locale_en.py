"""The English catalogue (issue 17 item 11, DESIGN.md: Japanese first, English available).

A staff member who chooses English with the header's switch (``set_language``, a cookie) gets the staff screens of
the counter journey in English; without that choice everything stays Japanese, whatever language the browser asks
for (a counter PC with an English Edge must not show half-English screens nobody asked for).
The shipped .mo is the compiled .po, the translations keep their placeholders, and
no module evaluates gettext() at import time (a label built then would stay in the language of start-up).
"""

from __future__ import annotations

import ast
import gettext
import json
import re
from pathlib import Path

from django.conf import settings
from django.utils import translation

from tests.conftest import CITY_A, host_client, staff_client
from tests.test_cases import catalogue, family, people  # noqa: F401  (fixtures)

ROOT = Path(settings.BASE_DIR)
PO = ROOT / "locale" / "en" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")


def test_settings_offer_english_beside_japanese_default():
    assert settings.LANGUAGE_CODE == "ja"
    assert "en" in dict(settings.LANGUAGES)
    assert ROOT / "locale" in [Path(p) for p in settings.LOCALE_PATHS]
    assert "django.middleware.locale.LocaleMiddleware" in settings.MIDDLEWARE


def english(client):
    """Choose English with the header's switch, as a staff member does."""
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    return client


def test_login_page_in_english_when_chosen_and_japanese_otherwise(db):
    page = english(host_client(CITY_A)).get("/accounts/login/").content.decode()
    assert '<html lang="en">' in page
    for text in ("Staff login", "User ID", "Password", "Log in", "Required", "Skip to content"):
        assert text in page, text
    assert "職員ログイン" not in page and "ユーザーID" not in page
    japanese = host_client(CITY_A).get("/accounts/login/").content.decode()
    assert '<html lang="ja">' in japanese and "職員ログイン" in japanese and "Staff login" not in japanese
    failed = english(host_client(CITY_A)).post("/accounts/login/", {"username": "staff1", "password": "wrong"})
    assert "The user ID or password is not correct." in failed.content.decode()


def test_the_browsers_language_alone_changes_nothing(db):
    client = host_client(CITY_A)
    page = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert '<html lang="ja">' in page and "職員ログイン" in page and "Staff login" not in page
    # The switch is on the page, in both languages' own names, and posts with the CSRF token.
    assert 'action="/i18n/setlang/"' in page and 'lang="en"' in page and ">English<" in page and ">日本語<" in page
    assert 'name="csrfmiddlewaretoken"' in page.split('action="/i18n/setlang/"')[1].split("</form>")[0]
    # Back to Japanese with the same switch.
    english(client)
    client.post("/i18n/setlang/", {"language": "ja", "next": "/accounts/login/"})
    assert "職員ログイン" in client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_the_switch_refuses_a_next_address_on_another_host(db):
    response = host_client(CITY_A).post("/i18n/setlang/", {"language": "en", "next": "https://evil.example/"})
    assert response.status_code == 302 and "evil.example" not in response["Location"]


def test_counter_choice_search_case_and_closing_in_english(people, family, tenant_a, catalogue):  # noqa: F811
    from navigation.cases.models import Case

    client = staff_client(tenant_a, "staff1", counter=people["A"])
    client.post("/i18n/setlang/", {"language": "en", "next": "/navi/cases/"})
    assert "Choose the counter you are sitting at." in client.get("/accounts/counter/").content.decode()
    home = client.get("/navi/cases/").content.decode()
    assert "Counter reception" in home and "Refreshed every 5 seconds." in home
    search = client.get("/navi/cases/search/", {"q": "窓口"}).content.decode()
    assert "Results" in search and "Start the case" in search
    client.post("/navi/cases/new/", {"atena_no": [family[0].atena_no]})
    case = Case.objects.get()
    page = client.get(f"/navi/cases/{case.pk}/").content.decode()
    assert f"Case {case.label}" in page and "People and procedures" in page and "Interview" in page
    assert "対象者と手続" not in page
    summary = client.post(f"/navi/cases/{case.pk}/close/", {}).content.decode()
    assert "What was done in this case" in summary and "Confirm closing" in summary


def test_catalogue_diff_labels_follow_the_active_language():
    from navigation.selectors import ITEM_FIELD_LABELS, SECTION_LABELS

    with translation.override("en"):
        assert str(SECTION_LABELS["rules"]) == "Rules" and str(ITEM_FIELD_LABELS["fee"]) == "Fee"
    with translation.override("ja"):
        assert str(SECTION_LABELS["rules"]) == "判定ルール" and str(ITEM_FIELD_LABELS["fee"]) == "手数料"


# ---- the catalogue files -------------------------------------------------------------------------------------
def _po_entries() -> dict[str, str]:
    entries = {}
    for block in PO.read_text(encoding="utf-8").split("\n\n"):
        match = re.search(r'^msgid (".*")\nmsgstr (".*")$', block, re.M)
        if match and "#, fuzzy" not in block and json.loads(match[1]):
            entries[json.loads(match[1])] = json.loads(match[2])
    return entries


def test_the_shipped_mo_is_the_compiled_po_and_placeholders_are_kept():
    entries = {k: v for k, v in _po_entries().items() if v}
    assert len(entries) >= 300
    with MO.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = [k for k, v in entries.items() if compiled.gettext(k) != v]
    assert stale == [], f"recompile: python manage.py compilemessages ({stale[:3]})"
    placeholder = re.compile(r"%\(\w+\)[sd]")
    broken = [k for k, v in entries.items() if sorted(placeholder.findall(k)) != sorted(placeholder.findall(v))]
    assert broken == []


EAGER = {"gettext", "ngettext", "pgettext", "npgettext"}


def import_time_gettext_calls(source: str) -> list[int]:
    """Lines where a module or class body calls gettext() (not the lazy one) while being imported."""
    tree = ast.parse(source)
    names = {alias.asname or alias.name for node in ast.walk(tree)
             if isinstance(node, ast.ImportFrom) and node.module == "django.utils.translation"
             for alias in node.names if alias.name in EAGER}
    found: list[int] = []

    def visit(node: ast.AST, deferred: bool) -> None:
        deferred = deferred or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        if (not deferred and isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in names):
            found.append(node.lineno)
        for child in ast.iter_child_nodes(node):
            visit(child, deferred)

    visit(tree, False)
    return found


def test_no_module_calls_gettext_at_import_time():
    offenders = {}
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT)
        if relative.parts[0] in (".venv", "node_modules", "tests", "bench", "staticfiles") \
                or "migrations" in relative.parts:
            continue
        lines = import_time_gettext_calls(path.read_text(encoding="utf-8"))
        if lines:
            offenders[str(relative)] = lines
    assert offenders == {}, "use gettext_lazy for module-level labels"
    # The check itself sees one.
    assert import_time_gettext_calls("from django.utils.translation import gettext as _\nX = {'a': _('x')}\n") == [2]
    deferred = "from django.utils.translation import gettext as _\ndef f():\n    return _('x')\n"
    assert import_time_gettext_calls(deferred) == []
