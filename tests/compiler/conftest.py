"""Fixtures of the compiler tests: compiled packages and sandbox reports, made once per module.

A sandbox check starts Django several times in subprocesses, so each spec is checked once
per module and the tests read the same report.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import skip_or_fail

LOCAL_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"


def ruff_executable() -> str:
    """The ruff of this virtualenv (a dev dependency), or of PATH."""
    beside = Path(sys.executable).with_name("ruff")
    found = str(beside) if beside.exists() else shutil.which("ruff")
    if found is None:
        pytest.fail("ruff is not installed; install the dev dependencies (pip install -e .[dev]).")
    return found


def ruff_format_check(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ruff_executable(), "format", "--check", "--line-length", "100", "--diff", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )


def postgres_server_url() -> str:
    """The PostgreSQL server the sandbox makes scratch databases on (skip_or_fail if down)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        url = LOCAL_POSTGRES
    try:
        import psycopg

        with psycopg.connect(url.replace("postgres://", "postgresql://", 1), connect_timeout=3):
            pass
    except Exception as error:  # any connection failure means: no PostgreSQL here
        skip_or_fail(f"PostgreSQL is not reachable at {url}: {error}")
    return url
