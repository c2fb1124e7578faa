"""The deploy lock: one schema change at a time, on SQLite (file lock) and PostgreSQL
(advisory lock); a deploy that cannot get it changes nothing. The build lock dies with the
process that held it."""

from __future__ import annotations

import threading

import pytest

from factory.tenants.locks import DeployLockBusy, deploy_lock
from factory.tenants.models import ReleaseStatus, Tenant, TenantBackup, TenantRelease
from factory.tenants.services import release_deploy


@pytest.mark.django_db  # on PostgreSQL the lock lives on a connection of its own
def test_a_second_holder_waits_and_is_told_why() -> None:
    with (
        deploy_lock(timeout=0),
        pytest.raises(DeployLockBusy, match="Another deploy or rollback is running"),
        deploy_lock(timeout=0.3),
    ):
        pytest.fail("two holders at once")
    with deploy_lock(timeout=0):
        pass  # released: the next deploy gets it at once


@pytest.mark.django_db
def test_the_lock_serialises_threads() -> None:
    order: list[str] = []
    inside = threading.Event()
    release = threading.Event()

    def first() -> None:
        with deploy_lock(timeout=5):
            order.append("first in")
            inside.set()
            release.wait(5)
            order.append("first out")

    thread = threading.Thread(target=first)
    thread.start()
    inside.wait(5)
    waiter = threading.Thread(target=lambda: _hold(order))
    waiter.start()
    release.set()
    thread.join()
    waiter.join()
    assert order == ["first in", "first out", "second in"]


def _hold(order: list[str]) -> None:
    with deploy_lock(timeout=5):
        order.append("second in")


@pytest.mark.django_db(transaction=True)
def test_a_deploy_that_cannot_get_the_lock_changes_nothing(settings) -> None:
    settings.FACTORY_DEPLOY_LOCK_TIMEOUT = 0.2
    tenant = Tenant.objects.create(slug="locked", name="Locked")
    live = TenantRelease.objects.create(
        tenant=tenant, number=1, status=ReleaseStatus.LIVE, spec={}, check_report={"ok": True}
    )
    candidate = TenantRelease.objects.create(
        tenant=tenant,
        number=2,
        status=ReleaseStatus.PREVIEW,
        base_release=live,
        spec={},
        check_report={"ok": True},
    )
    with deploy_lock(timeout=0), pytest.raises(DeployLockBusy):
        release_deploy(tenant=tenant)
    statuses = dict(TenantRelease.objects.values_list("number", "status"))
    assert statuses == {1: "live", 2: "preview"}
    assert not TenantBackup.objects.exists()
    candidate.refresh_from_db()
    assert candidate.deployed_at is None


@pytest.mark.django_db
def test_a_build_lock_held_by_another_process_dies_with_it(monkeypatch, tmp_path) -> None:
    """What a Celery worker killed mid-build leaves: a lock nobody holds any more.

    The holder takes the lock as ``build_lock`` does on each engine: an exclusive ``flock``
    on the lock file on SQLite, the release's advisory lock on a connection of its own on
    PostgreSQL."""
    import signal
    import subprocess
    import sys
    import time

    from django.db import connection

    from factory.tenants import locks

    if connection.vendor == "sqlite":
        path = tmp_path / "7.lock"
        monkeypatch.setattr(locks, "_sqlite_build_lock_path", lambda alias, release_id: path)
        take = (
            "import fcntl, os\n"
            f"descriptor = os.open({str(path)!r}, os.O_RDWR | os.O_CREAT)\n"
            "fcntl.flock(descriptor, fcntl.LOCK_EX)\n"
        )
    else:
        dsn = {
            key: value
            for key, value in connection.get_connection_params().items()
            if key in {"dbname", "user", "password", "host", "port"} and value
        }
        take = (
            "import psycopg\n"
            f"holder = psycopg.connect(**{dsn!r}, autocommit=True)\n"
            f"holder.execute('SELECT pg_advisory_lock(%s, %s)', ({locks.BUILD_LOCK_CLASS}, 7))\n"
        )
    holder = subprocess.Popen(
        [sys.executable, "-c", f"{take}import time\nprint('held', flush=True)\ntime.sleep(60)\n"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "held\n"
        assert locks.build_running(release_id=7) is True
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        # The kernel frees a flock at once; PostgreSQL frees the advisory lock once its
        # backend has seen the connection close, a moment later.
        deadline = time.monotonic() + (0 if connection.vendor == "sqlite" else 10)
        while locks.build_running(release_id=7) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert locks.build_running(release_id=7) is False
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(10)
        holder.stdout.close()
