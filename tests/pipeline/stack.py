"""A pipeline test stack: its own database, a real Celery worker on Redis, a real gunicorn.

Built on the tenants tests' ``TenantStack`` (its own database: a SQLite file, or a scratch
PostgreSQL database when the suite runs on PostgreSQL; its own apps and backups folders;
gunicorn reloaded by deploys through its pid file). The stack's processes use the local
settings, so tasks go to Redis (REDIS_URL) on a queue of their own, and the worker runs
them; ``CELERY_VISIBILITY_TIMEOUT`` is short so that the task of a killed worker comes
back quickly. Releases are built with the tenants tests' fast builder (the real compiler
and migrations, without the sandbox's generated tests).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from typing import Any

from tests.pipeline.builders import FAST
from tests.tenants.conftest import BASE_DIR, TenantStack

VISIBILITY_TIMEOUT = 2


class PipelineStack(TenantStack):
    def __init__(self, root: Any, database_url: str, redis_url: str) -> None:
        super().__init__(root, database_url)
        self.env.update(
            {
                "DJANGO_SETTINGS_MODULE": "config.settings.local",
                "DEBUG": "false",
                "FACTORY_RELEASE_BUILDER": FAST,
                "CELERY_QUEUE": f"pipeline-tests-{uuid.uuid4().hex[:8]}",
                "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
                "LOG_LEVEL": "WARNING",
            }
        )
        if redis_url:
            self.env["REDIS_URL"] = redis_url
        else:
            self.env.pop("REDIS_URL", None)
        self.worker: subprocess.Popen[bytes] | None = None

    def command(self, *arguments: str) -> dict[str, Any]:
        process = subprocess.run(
            [sys.executable, "-m", "tests.pipeline.stack_commands", *arguments],
            env=self.env,
            cwd=BASE_DIR,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert process.returncode == 0, process.stderr[-3000:]
        return json.loads(process.stdout.strip().splitlines()[-1])

    def start_worker(self) -> None:
        log = (self.root / "worker.log").open("ab")
        self.worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool=solo",
                "--loglevel=WARNING",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-Q",
                self.env["CELERY_QUEUE"],
            ],
            env=self.env,
            cwd=BASE_DIR,
            stdout=log,
            stderr=log,
            start_new_session=True,  # killing its group kills what it started, as a crash does
        )

    def kill_worker(self) -> None:
        """SIGKILL the worker and everything it started: no goodbye, no acknowledgement."""
        assert self.worker is not None
        os.killpg(self.worker.pid, signal.SIGKILL)
        self.worker.wait(timeout=30)
        self.worker = None

    def worker_log(self) -> str:
        path = self.root / "worker.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def wait_for(self, predicate: Any, *, timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError(f"Timed out waiting for {what}.\nWorker log:\n{self.worker_log()}")

    def close(self) -> None:
        if self.worker is not None:
            try:
                os.killpg(self.worker.pid, signal.SIGTERM)
                self.worker.wait(timeout=30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(self.worker.pid, signal.SIGKILL)
        super().close()
