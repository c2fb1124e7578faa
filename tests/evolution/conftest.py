"""Fixtures of the evolution tests: a folder for the evolving app and a database it lives in.

The database is a SQLite file, or with ``DATABASE_URL`` pointing at PostgreSQL a scratch
database created on that server for the test and dropped afterwards.
"""

from __future__ import annotations

import os

import pytest

from tests.conftest import skip_or_fail

EVOLVING_APP = "evo_app"


def uses_postgres() -> bool:
    return os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))


@pytest.fixture
def evolution_database_url(tmp_path):
    if not uses_postgres():
        yield f"sqlite:///{tmp_path / 'evolution.sqlite3'}"
        return
    server_url = os.environ["DATABASE_URL"]
    from factory.sandbox import SandboxError, scratch_postgres_database

    try:
        with scratch_postgres_database(server_url=server_url, prefix="evolution") as url:
            yield url
    except SandboxError as error:
        skip_or_fail(f"PostgreSQL is not reachable for the evolution tests: {error}")


@pytest.fixture
def app_dir(tmp_path):
    return tmp_path / "apps" / EVOLVING_APP
