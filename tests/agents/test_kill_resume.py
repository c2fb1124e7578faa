"""A run whose process is killed (SIGKILL) mid-run resumes from its last persisted turn."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def worker(database: Path, phase: str) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    return subprocess.run(
        [sys.executable, "-m", "tests.agents.kill_worker", str(database), phase],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_killed_process_resumes_from_the_last_persisted_turn(tmp_path):
    database = tmp_path / "agents.sqlite3"

    killed = worker(database, "start")

    assert killed.returncode == -signal.SIGKILL, killed.stderr
    resumed = worker(database, "resume")
    assert resumed.returncode == 0, resumed.stderr
    outcome = json.loads(resumed.stdout.strip().splitlines()[-1])
    assert outcome == {
        "before": {"status": "running", "turns": 2},
        "status": "finished",
        "turn_indexes": [0, 1, 2, 3],
        "patch": ["field_add", "field_update"],
        # system, task, then two turns each answered by one tool result
        "messages_sent_on_resume": 6,
    }
