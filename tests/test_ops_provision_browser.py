"""Issue 17 item 13, in Chromium: a vendor operator creates a municipality in the ops admin; the provisioning runs
in the worker (the request returns at once); the success message links to the new municipality's real address;
its first administrator logs in there, joins the provisioned 市民課 (the 総合窓口 provisioning created) and opens
a case — with nothing run by hand."""

from __future__ import annotations

import re

import pytest
from django.conf import settings

from tests.conftest import PASSWORD, drop_municipality, wait_until
from tests.test_ops_admin_browser import operator  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.schema, pytest.mark.worker]
SLUG = "hokuto-brw"


def test_a_municipality_created_in_the_ops_admin_is_usable_at_once(live_server_mt, page, operator,  # noqa: F811
                                                                   celery_worker_process, django_db_blocker):
    from django.db import connection

    from tenants.models import Municipality

    base = f"http://{settings.OPS_HOST}:{live_server_mt.port}"
    try:
        page.goto(f"{base}/admin/login/")
        page.locator("#id_username").fill(operator.username)
        page.locator("#id_password").fill(PASSWORD)
        page.locator("input[type=submit]").click()
        page.wait_for_url(f"{base}/admin/")
        page.goto(f"{base}/admin/tenants/municipality/add/")
        page.locator("#id_code").fill("012092")
        page.locator("#id_slug").fill(SLUG)
        page.locator("#id_name").fill("北斗デモ市")
        for area in ("juki", "kokuho"):
            page.locator(f'input[name="areas"][value="{area}"]').check()
        page.locator("#id_admin_username").fill("admin")
        page.locator("#id_admin_password").fill(PASSWORD)
        page.locator('input[name="_save"]').click()
        page.wait_for_url(f"{base}/admin/tenants/municipality/")
        message = page.locator(".messagelist")
        assert "北斗デモ市（012092）の開設を受け付けました" in message.inner_text()
        link = message.get_by_role("link")
        assert link.get_attribute("href") == f"http://{SLUG}.{settings.BASE_DOMAIN}:{live_server_mt.port}/"

        with django_db_blocker.unblock():
            wait_until(lambda: Municipality.objects.filter(slug=SLUG, status="active").exists(), timeout=90)
        link.click()
        page.wait_for_url(re.compile(rf"http://{SLUG}\..*/accounts/login/.*"))
        page.get_by_label("ユーザーID").fill("admin")
        page.get_by_label("パスワード").fill(PASSWORD)
        page.get_by_role("button", name="ログイン").click()
        page.wait_for_load_state()
        # The first administrator has no department yet: joining 市民課 on the staff screen gives the counter.
        page.goto(f"http://{SLUG}.{settings.BASE_DOMAIN}:{live_server_mt.port}/accounts/admin/staff/")
        page.get_by_role("link", name=re.compile("admin")).first.click()
        page.locator("#id_department").select_option(label="市民課")
        page.get_by_role("button", name="保存").click()
        page.wait_for_load_state()
        page.goto(f"http://{SLUG}.{settings.BASE_DOMAIN}:{live_server_mt.port}/accounts/counter/")
        page.get_by_label("総合窓口", exact=True).check()  # the only counter of 市民課: preselected
        page.get_by_role("button", name="この窓口で開始").click()
        page.wait_for_url(re.compile(r".*/navi/cases/$"))

        search = page.get_by_role("search")
        search.get_by_label("氏名・フリガナ").fill("北斗 一郎")
        search.get_by_label("生年月日").fill("1980-04-01")
        search.get_by_role("button", name="検索").click()
        form = page.locator("#search-newcomer")
        form.get_by_label("氏名（フリガナ）").fill("ホクト イチロウ")
        form.get_by_role("button", name="この人で受付を開始").click()
        page.wait_for_url(re.compile(r".*/navi/cases/\d+/$"))
        assert "北斗 一郎" in page.locator("main").inner_text()
    finally:
        with django_db_blocker.unblock():
            connection.set_schema_to_public()
            for municipality in Municipality.objects.filter(slug=SLUG):
                drop_municipality(municipality)
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM django_admin_log WHERE user_id = %s", [operator.pk])
