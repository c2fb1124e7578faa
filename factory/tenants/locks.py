"""The deploy lock: one schema change at a time on a database; the build lock of a release.

``migrate`` has no locking of its own, and two deploys (or a deploy and a rollback) at once
would interleave schema changes and migration records. Every operation that changes a
tenant's tables holds this lock: on PostgreSQL a session advisory lock on a dedicated
connection (so it covers the subprocess that migrates, and dies with the holder); on
SQLite an exclusive ``flock`` on a file beside the database. The lock guards; it does not
decide what to run.

A build holds the build lock of the release it builds, from the moment the release row
exists (status ``building``) until its status is final. The lock dies with the process, so a
release left ``building`` by a killed worker is known to be abandoned: the next build of the
tenant marks it failed (``factory.tenants.services.releases_interrupted_settle``).
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


# --- the build lock: is a release's build still running? -----------------------------------

# The advisory lock class of "release N is being built" (two-key form: class, release id).
BUILD_LOCK_CLASS = 0x7E_4A_27_02


class BuildLockBusy(Exception):
    """A running process holds the build lock of the release."""

    def __init__(self, release_id: int) -> None:
        super().__init__(f"Release id {release_id} is being built by a running process.")


def _sqlite_build_lock_path(alias: str, release_id: int) -> Path:
    name = str(connections[alias].settings_dict["NAME"])
    if not name or name == ":memory:" or name.startswith("file:"):
        # An in-memory database lives in one process: its release ids are that process's own.
        return Path(settings.VAR_DIR) / "tenants-builds" / f"{os.getpid()}-{release_id}.lock"
    return Path(f"{name}.builds") / f"{release_id}.lock"


@contextmanager
def _sqlite_build_lock(alias: str, release_id: int) -> Iterator[None]:
    path = _sqlite_build_lock_path(alias, release_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    # flock belongs to the open file, not the process: a probe in the holder's own process
    # (a test, a thread) still sees the lock taken.
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BuildLockBusy(release_id) from None
        try:
            yield
        finally:
            # Removed while still held, so no file is left per release. A probe that opened
            # the old file gets it only now, once the holder has written the final status.
            path.unlink(missing_ok=True)
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)


@contextmanager
def _postgres_build_lock(alias: str, release_id: int) -> Iterator[None]:
    # The two-key form takes 32-bit keys; release ids wrap only past two billion.
    key = [BUILD_LOCK_CLASS, release_id & 0x7FFF_FFFF]
    connection = connections.create_connection(alias)
    try:
        connection.ensure_connection()
        connection.set_autocommit(True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", key)
            if not cursor.fetchone()[0]:
                raise BuildLockBusy(release_id)
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", key)
    finally:
        connection.close()


@contextmanager
def build_lock(*, release_id: int, alias: str = "default") -> Iterator[None]:
    """Held by the process that builds a release until the release's status is final.

    Taken at once or not at all (``BuildLockBusy``). Like the deploy lock it dies with its
    holder (the advisory lock with its connection, the ``flock`` with its process), so a
    release still ``building`` whose lock is free was left by a build that was killed.
    """
    vendor = connections[alias].vendor
    lock = _postgres_build_lock if vendor == "postgresql" else _sqlite_build_lock
    with lock(alias, release_id):
        yield


def build_running(*, release_id: int, alias: str = "default") -> bool:
    """True while a live process holds the build lock of the release."""
    try:
        with build_lock(release_id=release_id, alias=alias):
            return False
    except BuildLockBusy:
        return True
