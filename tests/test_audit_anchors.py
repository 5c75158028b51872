"""The write-once stores of the signed audit checkpoints (audit.anchors)."""

import os
import stat

import pytest
from django.core.exceptions import ImproperlyConfigured

from audit.anchors import AnchorExists, LocalFolderStore, S3ObjectLockStore, _store_for


def test_local_folder_store_writes_each_name_once_read_only(tmp_path):
    store = LocalFolderStore(tmp_path)
    store.put("m_x/000000000000007.json", b'{"seq": 7}')
    with pytest.raises(AnchorExists):
        store.put("m_x/000000000000007.json", b'{"seq": 8}')
    assert store.get("m_x/000000000000007.json") == b'{"seq": 7}'
    assert store.names("m_x/") == ["m_x/000000000000007.json"] and store.names("m_y/") == []
    mode = os.stat(tmp_path / "m_x" / "000000000000007.json").st_mode
    assert not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    with pytest.raises(ValueError):
        store.put("../outside.json", b"{}")


def test_the_store_is_chosen_by_url():
    assert isinstance(_store_for("file:///tmp/anchors-x"), LocalFolderStore)
    s3 = _store_for("s3://audit-bucket/checkpoints")
    assert isinstance(s3, S3ObjectLockStore) and (s3.bucket, s3.prefix) == ("audit-bucket", "checkpoints")
    with pytest.raises(ImproperlyConfigured):
        _store_for("ftp://somewhere/x")


def test_s3_store_writes_under_compliance_object_lock_and_never_replaces():
    """S3 is beyond our reach in tests: botocore's Stubber checks the exact requests the adapter makes."""
    import boto3
    from botocore.stub import ANY, Stubber

    client = boto3.client("s3", region_name="ap-northeast-1", aws_access_key_id="test", aws_secret_access_key="test")
    store = S3ObjectLockStore("audit-bucket", "checkpoints", retention_days=2557, client=client)
    name = "m_x/000000000000007.json"
    with Stubber(client) as stub:
        stub.add_response("put_object", {}, {
            "Bucket": "audit-bucket", "Key": f"checkpoints/{name}", "Body": b"{}", "ContentType": "application/json",
            "IfNoneMatch": "*", "ChecksumAlgorithm": "SHA256", "ObjectLockMode": "COMPLIANCE",
            "ObjectLockRetainUntilDate": ANY})
        store.put(name, b"{}")
        stub.add_client_error("put_object", service_error_code="PreconditionFailed", http_status_code=412)
        with pytest.raises(AnchorExists):
            store.put(name, b"{}")
        stub.add_response("list_objects_v2", {"Contents": [{"Key": f"checkpoints/{name}"}], "IsTruncated": False},
                          {"Bucket": "audit-bucket", "Prefix": "checkpoints/m_x/"})
        assert store.names("m_x/") == [name]
        stub.assert_no_pending_responses()
