"""The deploy lock: one schema change at a time on a database.

``migrate`` has no locking of its own, and two deploys (or a deploy and a rollback) at once
would interleave schema changes and migration records. Every operation that changes a
tenant's tables holds this lock: on PostgreSQL a session advisory lock on a dedicated
connection (so it covers the subprocess that migrates, and dies with the holder); on
SQLite an exclusive ``flock`` on a file beside the database. The lock guards; it does not
decide what to run.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connections

# Arbitrary but fixed: the advisory lock key of "tenant schema changes" on this database.
DEPLOY_LOCK_KEY = 0x7E_4A_27_01
POLL_SECONDS = 0.2


class DeployLockBusy(Exception):
    """Another deploy holds the lock."""

    def __init__(self, waited: float) -> None:
        super().__init__(
            f"Another deploy or rollback is running on this database (waited {waited:.0f} s); "
            "try again when it has finished."
        )


def _sqlite_lock_path(alias: str) -> Path:
    name = str(connections[alias].settings_dict["NAME"])
    if not name or name == ":memory:" or name.startswith("file:"):
        # An in-memory database lives in one process; a lock file in var/ still serialises
        # the threads of that process.
        return Path(settings.VAR_DIR) / "tenants-deploy.lock"
    return Path(f"{name}.deploy.lock")


@contextmanager
def _sqlite_lock(alias: str, timeout: float) -> Iterator[None]:
    path = _sqlite_lock_path(alias)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    started = time.monotonic()
    try:
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                waited = time.monotonic() - started
                if waited >= timeout:
                    raise DeployLockBusy(waited) from None
                time.sleep(POLL_SECONDS)
        try:
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)


@contextmanager
def _postgres_lock(alias: str, timeout: float) -> Iterator[None]:
    connection = connections.create_connection(alias)
    try:
        connection.ensure_connection()
        connection.set_autocommit(True)
        started = time.monotonic()
        with connection.cursor() as cursor:
            while True:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [DEPLOY_LOCK_KEY])
                if cursor.fetchone()[0]:
                    break
                waited = time.monotonic() - started
                if waited >= timeout:
                    raise DeployLockBusy(waited)
                time.sleep(POLL_SECONDS)
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [DEPLOY_LOCK_KEY])
    finally:
        connection.close()


@contextmanager
def deploy_lock(*, alias: str = "default", timeout: float | None = None) -> Iterator[None]:
    """Hold the deploy lock of database ``alias``; wait up to ``timeout`` seconds for it."""
    if timeout is None:
        timeout = float(settings.FACTORY_DEPLOY_LOCK_TIMEOUT)
    vendor = connections[alias].vendor
    lock = _postgres_lock if vendor == "postgresql" else _sqlite_lock
    with lock(alias, timeout):
        yield
