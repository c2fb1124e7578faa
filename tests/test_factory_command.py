"""``manage.py factory`` on a database that was never migrated: a plain refusal, not a
traceback, and the file-only subcommands still work."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from django.db.migrations.loader import MigrationLoader

ROOT = Path(__file__).resolve().parent.parent


def _factory(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'never-migrated.sqlite3'}",
        "FACTORY_APPS_DIR": str(tmp_path / "apps"),
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
    }
    return subprocess.run(
        [sys.executable, "manage.py", "factory", *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_database_command_on_an_unmigrated_database_is_refused_with_what_to_do(
    tmp_path: Path,
) -> None:
    every_migration = sorted(MigrationLoader(None, ignore_no_migrations=True).graph.nodes)
    result = _factory(tmp_path, "tenant", "list")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"The database is not ready for the factory: {len(every_migration)} migrations are "
        "not applied yet (the first is contenttypes.0001_initial). Run "
        "`python manage.py migrate`, then this command again.\n"
    )
    tables = sqlite3.connect(tmp_path / "never-migrated.sqlite3").execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'"
    )
    assert tables.fetchall() == []


def test_file_only_subcommands_need_no_database(tmp_path: Path) -> None:
    result = _factory(tmp_path, "spec", "export-template")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:2] == ["spec_version: 1", "name: CRM"]
