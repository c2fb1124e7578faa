"""The settings-time bootstrap: releases in the database become importable packages.

These tests build the two tables the bootstrap reads in a SQLite file of their own (the
bootstrap runs before Django, with a plain DB-API connection) and import the packages it
materialises under labels no other test uses.
"""

from __future__ import annotations

import importlib
import json
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from factory.tenants.runtime import bootstrap
from factory.tenants.runtime.bootstrap import (
    COMPLETE_MARKER,
    loaded_release_id,
    package_digest,
    package_write,
    release_folder,
    tenant_apps_bootstrap,
)

SCHEMA = """
CREATE TABLE tenants_tenant (id INTEGER PRIMARY KEY, slug TEXT);
CREATE TABLE tenants_tenantrelease (
    id INTEGER PRIMARY KEY, tenant_id INTEGER, status TEXT, code_digest TEXT,
    preview_digest TEXT, files TEXT, migration_files TEXT, preview_files TEXT
);
"""


def _package(marker: str) -> dict[str, str]:
    return {"__init__.py": f"MARKER = {marker!r}\n", "models.py": "", "apps.py": ""}


@pytest.fixture
def database(tmp_path: Path) -> Iterator[tuple[dict, sqlite3.Connection]]:
    path = tmp_path / "db.sqlite3"
    connection = sqlite3.connect(path)
    connection.executescript(SCHEMA)
    yield {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path)}, connection
    connection.close()


@pytest.fixture(autouse=True)
def forget_test_packages() -> Iterator[None]:
    yield
    finder = bootstrap._installed_finder()
    for label in [label for label in finder.locations if label.startswith(("t_boot", "p_boot"))]:
        finder.locations.pop(label)
        finder.releases.pop(label, None)
        for name in [name for name in sys.modules if name.split(".")[0] == label]:
            del sys.modules[name]


def _release(
    connection: sqlite3.Connection,
    *,
    release_id: int,
    slug: str,
    status: str,
    code: dict[str, str],
    preview: dict[str, str] | None = None,
) -> None:
    connection.execute(
        "INSERT OR IGNORE INTO tenants_tenant (id, slug) VALUES (?, ?)", (release_id * 10, slug)
    )
    connection.execute(
        "INSERT INTO tenants_tenantrelease VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            release_id,
            release_id * 10,
            status,
            package_digest(code),
            package_digest(preview) if preview else "",
            json.dumps(code),
            json.dumps({}),
            json.dumps(preview or {}),
        ),
    )
    connection.commit()


def test_a_missing_database_file_means_no_tenant_apps_and_is_not_created(tmp_path: Path) -> None:
    name = tmp_path / "absent.sqlite3"
    database = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(name)}
    assert tenant_apps_bootstrap(database=database, apps_dir=tmp_path / "apps", pinned="") == []
    assert not name.exists()
    assert not (tmp_path / "apps").exists()


def test_a_database_before_migrate_means_no_tenant_apps(tmp_path: Path) -> None:
    name = tmp_path / "fresh.sqlite3"
    sqlite3.connect(name).close()
    database = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(name)}
    assert tenant_apps_bootstrap(database=database, apps_dir=tmp_path / "apps", pinned="") == []


def test_live_and_preview_releases_become_importable_packages(database, tmp_path: Path) -> None:
    settings_dict, connection = database
    _release(connection, release_id=1, slug="boota", status="retired", code=_package("old"))
    _release(connection, release_id=2, slug="boota", status="live", code=_package("live"))
    _release(
        connection,
        release_id=3,
        slug="boota",
        status="preview",
        code=_package("next"),
        preview=_package("preview"),
    )
    apps_dir = tmp_path / "apps"
    labels = tenant_apps_bootstrap(database=settings_dict, apps_dir=apps_dir, pinned="")
    assert labels == ["p_boota", "t_boota"]
    assert importlib.import_module("t_boota").MARKER == "live"
    assert importlib.import_module("p_boota").MARKER == "preview"
    assert (loaded_release_id("t_boota"), loaded_release_id("p_boota")) == (2, 3)
    folder = release_folder(apps_dir, "t_boota", package_digest(_package("live")))
    assert (folder / COMPLETE_MARKER).exists()
    assert (folder / "t_boota" / "migrations" / "__init__.py").exists()


def test_pinned_releases_load_exactly_what_a_deploy_asks_for(database, tmp_path: Path) -> None:
    settings_dict, connection = database
    _release(connection, release_id=4, slug="bootb", status="live", code=_package("live"))
    _release(connection, release_id=5, slug="bootb", status="preview", code=_package("new"))
    labels = tenant_apps_bootstrap(
        database=settings_dict, apps_dir=tmp_path / "apps", pinned="t_bootb=5"
    )
    assert labels == ["t_bootb"]
    assert importlib.import_module("t_bootb").MARKER == "new"


def test_a_materialised_release_is_never_read_or_written_again(database, tmp_path: Path) -> None:
    settings_dict, connection = database
    _release(connection, release_id=6, slug="bootc", status="live", code=_package("once"))
    apps_dir = tmp_path / "apps"
    tenant_apps_bootstrap(database=settings_dict, apps_dir=apps_dir, pinned="")
    init = release_folder(apps_dir, "t_bootc", package_digest(_package("once"))) / "t_bootc"
    written = (init / "__init__.py").stat().st_mtime_ns
    # The stored files become unreadable: a second start must not need them.
    connection.execute("UPDATE tenants_tenantrelease SET files = 'not json' WHERE id = 6")
    connection.commit()
    assert tenant_apps_bootstrap(database=settings_dict, apps_dir=apps_dir, pinned="") == [
        "t_bootc"
    ]
    assert (init / "__init__.py").stat().st_mtime_ns == written


def test_old_release_folders_are_pruned_but_recent_ones_kept(tmp_path: Path) -> None:
    for number in range(8):
        code = _package(f"release {number}")
        package_write(
            folder=release_folder(tmp_path, "t_bootd", package_digest(code)),
            label="t_bootd",
            files=code,
        )
    assert len(list((tmp_path / "t_bootd").iterdir())) == 6  # the newest and five before it


def test_generated_paths_cannot_leave_their_package(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="outside its package"):
        package_write(
            folder=tmp_path / "t_boote" / "x", label="t_boote", files={"../evil.py": "x = 1"}
        )
    assert not (tmp_path / "t_boote" / "evil.py").exists()
