"""Received linkage files (which may carry 個人番号 in clear) do not outlive their use."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from madoguchi.principals import SYSTEM
from tests.conftest import in_tenant


@pytest.fixture
def linkage_root(tmp_path, settings):
    settings.LINKAGE_ROOT = tmp_path
    return tmp_path


def test_applied_file_is_deleted_failed_file_kept_until_retention(tenant_a, linkage_root):
    from integration.models import ImportRun, LinkageLayout
    from integration.services import import_execute, import_submit, layouts_ensure_shipped, received_files_purge
    from tests.test_integration_import import person, std_csv

    with in_tenant(tenant_a):
        layouts_ensure_shipped()
        layout = LinkageLayout.objects.get(key="juki_standard_csv")
        good = import_submit(actor=SYSTEM, layout=layout, source=std_csv([person(1), person(2)]), file_name="ok.csv",
                             run_async=False)
        good.refresh_from_db()
        assert good.status == ImportRun.Status.SUCCEEDED and good.file_path
        assert not Path(good.file_path).exists()  # applied: the raw file is gone, metadata stays
        assert good.sha256
        bad = import_submit(actor=SYSTEM, layout=layout, source=b"garbage\n", file_name="bad.csv", run_async=False)
        bad = import_execute(actor=SYSTEM, run_id=bad.pk) if bad.status == ImportRun.Status.QUEUED else bad
        bad.refresh_from_db()
        assert bad.status == ImportRun.Status.FAILED and Path(bad.file_path).exists()  # kept for a retry
        old = time.time() - 8 * 86400
        os.utime(bad.file_path, (old, old))
        assert received_files_purge() == 1
        assert not Path(bad.file_path).exists()


def test_termination_removes_the_linkage_folder(tenant_b, linkage_root, django_capture_on_commit_callbacks):
    from tenants.services import municipality_terminate

    folder = linkage_root / tenant_b.schema_name / "received" / "20261122"
    folder.mkdir(parents=True)
    (folder / "residents.csv").write_text("個人番号を含むファイル")
    other = linkage_root / "m_testa" / "inbox"
    other.mkdir(parents=True)
    with django_capture_on_commit_callbacks(execute=True):
        municipality_terminate(municipality=tenant_b)
    assert not (linkage_root / tenant_b.schema_name).exists()
    assert other.exists()  # another municipality's files are untouched


def test_normalisation_caches_are_emptied_after_each_run(tenant_a, linkage_root):
    from integration import importer
    from integration.models import LinkageLayout
    from integration.services import import_submit, layouts_ensure_shipped
    from tests.test_integration_import import person, std_csv

    with in_tenant(tenant_a):
        layouts_ensure_shipped()
        import_submit(actor=SYSTEM,
                      layout=LinkageLayout.objects.get(key="juki_standard_csv"), source=std_csv([person(1)]),
                      file_name="one.csv", run_async=False)
    assert not importer.rows._NAME_CACHE and not importer.rows._KANA_CACHE
    assert not any(importer.rows._ADDRESS_CACHES.values())
