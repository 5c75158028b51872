"""Write-once stores outside the database for the signed audit checkpoints ("anchors").

A checkpoint kept only in the database can be deleted by whoever can write the database. Each checkpoint
is therefore also written, once, to a store that nobody can overwrite or delete before its retention ends:

- ``s3://bucket/prefix`` — an S3 bucket with Object Lock (COMPLIANCE mode, retention
  ``MADOGUCHI_AUDIT_ANCHOR_RETENTION_DAYS``): production. Web, worker and beat are stateless containers,
  so their own disk would not count.
- ``file:///path`` — a local folder, files created exclusively and read-only: development and tests.

``MADOGUCHI_AUDIT_ANCHOR_URL`` chooses the store; ``audit_verify`` reads it back (audit.checkpoints).
New kinds register a factory with ``register_scheme``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlparse

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class AnchorExists(RuntimeError):
    """A write-once object of that name is already there."""


class AnchorStore(Protocol):
    description: str

    def put(self, name: str, body: bytes) -> None:
        """Store ``body`` under ``name`` once; raise AnchorExists if the name is taken."""

    def get(self, name: str) -> bytes: ...

    def names(self, prefix: str) -> list[str]:
        """Every name under ``prefix`` (``<schema>/``), sorted."""


class LocalFolderStore:
    """Development and tests: one read-only file per checkpoint, created with O_EXCL."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.description = f"local folder {root}"

    def _path(self, name: str) -> Path:
        path = (self.root / name).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"bad anchor name: {name}")
        return path

    def put(self, name: str, body: bytes) -> None:
        path = self._path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
        except FileExistsError as exc:
            raise AnchorExists(name) from exc
        with os.fdopen(fd, "wb") as handle:
            handle.write(body)

    def get(self, name: str) -> bytes:
        return self._path(name).read_bytes()

    def names(self, prefix: str) -> list[str]:
        folder = self._path(prefix.rstrip("/") or ".")
        if not folder.is_dir():
            return []
        return sorted(f"{prefix.rstrip('/')}/{p.name}" for p in folder.iterdir() if p.is_file())


class S3ObjectLockStore:
    """Production: objects under COMPLIANCE-mode Object Lock, written with If-None-Match (never replaced)."""

    def __init__(self, bucket: str, prefix: str, *, retention_days: int, client: object = None) -> None:
        self.bucket, self.prefix, self.retention_days = bucket, prefix.strip("/"), retention_days
        self._client = client
        self.description = f"s3://{bucket}/{self.prefix} (Object Lock, {retention_days} days)"

    @property
    def client(self) -> object:
        if self._client is None:
            import boto3

            self._client = boto3.client("s3", endpoint_url=settings.AUDIT_ANCHOR_S3_ENDPOINT or None)
        return self._client

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def put(self, name: str, body: bytes) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client.put_object(
                Bucket=self.bucket, Key=self._key(name), Body=body, ContentType="application/json",
                IfNoneMatch="*", ChecksumAlgorithm="SHA256", ObjectLockMode="COMPLIANCE",
                ObjectLockRetainUntilDate=datetime.now(UTC) + timedelta(days=self.retention_days),
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"PreconditionFailed", "ConditionalRequestConflict"}:
                raise AnchorExists(name) from exc
            raise

    def get(self, name: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=self._key(name))["Body"].read()

    def names(self, prefix: str) -> list[str]:
        found: list[str] = []
        strip = len(self._key(""))
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key(prefix)):
            found.extend(item["Key"][strip:] for item in page.get("Contents", []))
        return sorted(found)


_schemes: dict[str, Callable[[str], AnchorStore]] = {}


def register_scheme(scheme: str, factory: Callable[[str], AnchorStore]) -> None:
    _schemes[scheme] = factory


def _file_store(url: str) -> AnchorStore:
    return LocalFolderStore(Path(unquote(urlparse(url).path)))


def _s3_store(url: str) -> AnchorStore:
    parsed = urlparse(url)
    if not parsed.netloc:
        raise ImproperlyConfigured("MADOGUCHI_AUDIT_ANCHOR_URL: s3://<bucket>/<prefix>")
    return S3ObjectLockStore(parsed.netloc, parsed.path, retention_days=settings.AUDIT_ANCHOR_RETENTION_DAYS)


register_scheme("file", _file_store)
register_scheme("s3", _s3_store)


@lru_cache(maxsize=8)
def _store_for(url: str) -> AnchorStore:
    scheme = urlparse(url).scheme
    if scheme not in _schemes:
        raise ImproperlyConfigured(f"MADOGUCHI_AUDIT_ANCHOR_URL: unknown store {scheme!r} ({', '.join(_schemes)})")
    return _schemes[scheme](url)


def anchor_store() -> AnchorStore:
    return _store_for(settings.AUDIT_ANCHOR_URL)
