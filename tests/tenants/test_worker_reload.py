"""A real Celery worker reloads after a deploy and then runs the release that became live.

The worker runs the project's Celery app (the in-memory broker of the test settings: the
reload does not depend on the broker) against a small database holding only the two tables
the settings-time bootstrap reads. It starts with no live release; a release then becomes
live and ``processes_reload()`` sends the HUP found through the worker's pid file: the
worker finishes, re-executes itself, and its new start materialises the new release.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from factory.tenants.reload import processes_reload
from factory.tenants.runtime.bootstrap import COMPLETE_MARKER, package_digest, release_folder
from tests.tenants.conftest import BASE_DIR
from tests.tenants.test_bootstrap import SCHEMA

PACKAGE = {"__init__.py": "", "models.py": ""}


def _wait_for(condition: Callable[[], bool], seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_a_worker_restarts_on_hup_and_loads_the_new_live_release(settings, tmp_path) -> None:
    database = tmp_path / "db.sqlite3"
    with sqlite3.connect(database) as connection:
        connection.executescript(SCHEMA)
        connection.execute("INSERT INTO tenants_tenant VALUES (1, 'workerco')")
    pidfile, log = tmp_path / "celery-worker.pid", tmp_path / "worker.log"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FACTORY_")},
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"sqlite:///{database}",
        "FACTORY_LOAD_TENANT_APPS": "1",
        "FACTORY_APPS_DIR": str(tmp_path / "apps"),
    }
    # The `celery` script, not `python -m celery`: a restart re-executes sys.argv, and
    # celery's __main__ module cannot be run again by path.
    celery = Path(sys.executable).parent / "celery"
    command = [
        *(str(celery), "-A", "config", "worker", "-P", "solo", "-l", "info"),
        *("--pidfile", str(pidfile), "--without-heartbeat", "--without-mingle"),
        "--without-gossip",
    ]
    with log.open("wb") as output:
        worker = subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=output, stderr=output)
    try:
        assert _wait_for(lambda: log.read_text().count(" ready.") == 1), log.read_text()[-2000:]
        started_pid = int(pidfile.read_text())
        with sqlite3.connect(database) as connection:
            connection.execute(
                "INSERT INTO tenants_tenantrelease VALUES (1, 1, 'live', ?, '', ?, '{}', '{}')",
                (package_digest(PACKAGE), json.dumps(PACKAGE)),
            )
        settings.FACTORY_RELOAD_PIDFILES = [str(pidfile)]
        settings.FACTORY_APPS_DIR = tmp_path / "apps"
        actions = processes_reload()
        assert actions[0].startswith(f"Sent a graceful reload (HUP) to process {started_pid}")
        folder = release_folder(tmp_path / "apps", "t_workerco", package_digest(PACKAGE))
        assert _wait_for(lambda: (folder / COMPLETE_MARKER).exists()), log.read_text()[-2000:]
        assert _wait_for(lambda: log.read_text().count(" ready.") == 2), log.read_text()[-2000:]
        assert "Restarting celery worker" in log.read_text()
        assert worker.poll() is None
        assert int(pidfile.read_text()) == started_pid  # re-executed in place
    finally:
        worker.terminate()
        worker.wait(timeout=30)
