"""Per-municipality data keys (tenants/crypto.py): what A encrypts or hashes is useless under B's key or under
another purpose. Each test here fails when ``data_key_for`` hands every municipality the same key."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from cryptography.exceptions import InvalidTag

from tenants import crypto

NUMBER = "123456789018"  # a valid 個人番号 (check digit 8)


def test_each_municipality_has_its_own_data_key(tenant_a, tenant_b):
    key_a, key_b = crypto.data_key_for(tenant_a), crypto.data_key_for(tenant_b)
    assert len(key_a) == len(key_b) == 32 and key_a != key_b


def test_a_ciphertext_of_a_decrypts_neither_under_b_nor_under_another_purpose(tenant_a, tenant_b):
    token = crypto.encrypt(tenant_a, NUMBER, purpose="personal_no")
    assert crypto.decrypt(tenant_a, token, purpose="personal_no") == NUMBER
    with pytest.raises(InvalidTag):
        crypto.decrypt(tenant_b, token, purpose="personal_no")
    with pytest.raises(InvalidTag):
        crypto.decrypt(tenant_a, token, purpose="card")
    token_b = crypto.encrypt(tenant_b, NUMBER, purpose="personal_no")
    with pytest.raises(InvalidTag):
        crypto.decrypt(tenant_a, token_b, purpose="personal_no")


def test_a_lookup_hash_of_a_matches_neither_under_b_nor_under_another_purpose(tenant_a, tenant_b):
    hash_a = crypto.lookup_hash(tenant_a, NUMBER, purpose="personal_no")
    assert hash_a == crypto.lookup_hash(tenant_a, NUMBER, purpose="personal_no")  # equality look-ups work
    assert hash_a != crypto.lookup_hash(tenant_b, NUMBER, purpose="personal_no")
    assert hash_a != crypto.lookup_hash(tenant_a, NUMBER, purpose="card")
    assert hash_a != crypto.lookup_hash(tenant_a, "123456789026", purpose="personal_no")


def test_a_wrapped_key_is_bound_to_its_schema(tenant_a, tenant_b):
    """A's wrapped data key copied onto B (a restored backup, a swapped row) does not unwrap there."""
    moved = SimpleNamespace(wrapped_data_key=tenant_a.wrapped_data_key, schema_name=tenant_b.schema_name)
    with pytest.raises(InvalidTag):
        crypto.data_key_for(moved)
