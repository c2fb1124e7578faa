"""Settings-time loading of tenant apps: the releases in the database become importable code.

Called once per process from ``config.settings.base`` before the app registry is filled.
It reads which releases are live or in preview with a plain DB-API connection (the ORM
is not ready yet), writes each release's package into ``FACTORY_APPS_DIR/<label>/<digest>/``
unless that folder is already complete, and installs an import finder that maps each app
label to its folder. It returns the labels to append to INSTALLED_APPS.

Each folder is immutable (named by the digest of its files), so a process started before a
deploy keeps importing its own release's modules while new processes get the new ones.
A database without the tenants tables (fresh, before ``migrate``) means no tenant apps.
This module must stay small and import nothing from Django or the project's models.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import json
import os
import shutil
import sqlite3
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import ModuleType
from typing import Any

# "t_acme=12,p_acme=13": load exactly these releases (label=release id) instead of the
# live and preview ones. Set by deploys for the subprocess that migrates a new release.
PINNED_RELEASES_ENV = "FACTORY_TENANT_RELEASES"
COMPLETE_MARKER = ".complete"
KEPT_FOLDERS_PER_APP = 5

_RELEASES_SQL = (
    "SELECT t.slug, r.id, r.status, r.code_digest, r.preview_digest "
    "FROM tenants_tenantrelease r JOIN tenants_tenant t ON t.id = r.tenant_id "
    "WHERE {condition} ORDER BY t.slug, r.id"
)
_FILES_SQL = "SELECT {columns} FROM tenants_tenantrelease WHERE id = {placeholder}"


@dataclass(frozen=True)
class AppToLoad:
    label: str
    release_id: int
    digest: str
    preview: bool


class TenantAppFinder(importlib.abc.MetaPathFinder):
    """Finds each tenant app package in its own release folder (one dict lookup per import)."""

    def __init__(self) -> None:
        self.locations: dict[str, str] = {}
        self.releases: dict[str, int] = {}

    def find_spec(
        self, fullname: str, path: Any = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        location = self.locations.get(fullname)
        if location is None:
            return None
        return importlib.machinery.PathFinder.find_spec(fullname, [location])


def _installed_finder() -> TenantAppFinder:
    for finder in sys.meta_path:
        if isinstance(finder, TenantAppFinder):
            return finder
    finder = TenantAppFinder()
    sys.meta_path.insert(0, finder)
    return finder


def loaded_app_folder(label: str) -> str | None:
    """The release folder this process imports ``label`` from (None: not loaded)."""
    for finder in sys.meta_path:
        if isinstance(finder, TenantAppFinder):
            return finder.locations.get(label)
    return None


def loaded_release_id(label: str) -> int | None:
    """The id of the release this process loaded for ``label`` (None: not loaded)."""
    for finder in sys.meta_path:
        if isinstance(finder, TenantAppFinder):
            return finder.releases.get(label)
    return None


def package_digest(files: Mapping[str, str]) -> str:
    """A digest of a package's files (paths and contents), stable across processes."""
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.encode())
        digest.update(b"\0")
        digest.update(files[path].encode())
        digest.update(b"\0")
    return digest.hexdigest()


def release_folder(apps_dir: Path, label: str, digest: str) -> Path:
    """The folder holding the package ``label`` for one release (on sys.path's behalf)."""
    return Path(apps_dir) / label / digest[:16]


def _safe_relative(path: str) -> PurePosixPath:
    relative = PurePosixPath(path)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise ValueError(f"Refusing to write the generated file {path!r} outside its package.")
    return relative


def package_write(*, folder: Path, label: str, files: Mapping[str, str]) -> None:
    """Write a package atomically: build it beside ``folder`` and rename it into place."""
    if (folder / COMPLETE_MARKER).exists():
        return
    folder.parent.mkdir(parents=True, exist_ok=True)
    scratch = folder.parent / f".tmp-{folder.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    package = scratch / label
    for path, content in files.items():
        target = package / _safe_relative(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
    for required in (package / "__init__.py", package / "migrations" / "__init__.py"):
        if not required.exists():
            required.parent.mkdir(parents=True, exist_ok=True)
            required.write_text("", encoding="utf-8")
    (scratch / COMPLETE_MARKER).write_text(label, encoding="utf-8")
    try:
        os.rename(scratch, folder)
    except OSError:
        # Another process materialised the same release first; its copy is identical.
        shutil.rmtree(scratch, ignore_errors=True)
        if not (folder / COMPLETE_MARKER).exists():
            raise
    _prune_old_folders(folder.parent, keep=folder.name)


def _prune_old_folders(app_dir: Path, *, keep: str) -> None:
    """Keep the newest few release folders of an app: older processes may still import
    from a recent one; much older ones are no longer used by any running process."""
    folders = sorted(
        (path for path in app_dir.iterdir() if path.is_dir() and not path.name.startswith(".")),
        key=lambda path: path.stat().st_mtime,
        reverse=True,
    )
    for old in [path for path in folders if path.name != keep][KEPT_FOLDERS_PER_APP:]:
        shutil.rmtree(old, ignore_errors=True)


class _Database:
    """Just enough DB-API to read two tables, on SQLite or PostgreSQL."""

    def __init__(self, settings_dict: Mapping[str, Any]) -> None:
        engine = settings_dict.get("ENGINE", "")
        self.vendor = "postgresql" if "postgresql" in engine else "sqlite"
        self.placeholder = "%s" if self.vendor == "postgresql" else "?"
        self.connection = self._connect(settings_dict)

    def _connect(self, settings_dict: Mapping[str, Any]) -> Any:
        if self.vendor == "postgresql":
            import psycopg

            ignored = {"pool", "server_side_binding", "isolation_level", "assume_role"}
            options = {
                k: v for k, v in settings_dict.get("OPTIONS", {}).items() if k not in ignored
            }
            params = {
                "dbname": settings_dict.get("NAME") or "postgres",
                "user": settings_dict.get("USER") or None,
                "password": settings_dict.get("PASSWORD") or None,
                "host": settings_dict.get("HOST") or None,
                "port": settings_dict.get("PORT") or None,
                "connect_timeout": 10,
                **options,
            }
            return psycopg.connect(**{k: v for k, v in params.items() if v is not None})
        name = str(settings_dict.get("NAME") or "")
        if not name or name == ":memory:" or name.startswith("file:") or not Path(name).exists():
            return None
        # Read-only: never create an empty database file as a side effect of starting.
        return sqlite3.connect(f"file:{Path(name).resolve()}?mode=ro", uri=True)

    def rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql, params)
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()


def _missing_table(error: Exception) -> bool:
    text = str(error).lower()
    return "no such table" in text or "does not exist" in text


def pinned_releases(value: str | None) -> dict[str, int]:
    """Parse ``t_acme=12,p_acme=13`` into {label: release id}."""
    pinned: dict[str, int] = {}
    for item in (value or "").split(","):
        if not item.strip():
            continue
        label, _, release_id = item.strip().partition("=")
        pinned[label] = int(release_id)
    return pinned


def _apps_to_load(database: _Database, pinned: dict[str, int]) -> list[AppToLoad]:
    if pinned:
        ids = sorted(set(pinned.values()))
        condition = f"r.id IN ({', '.join([database.placeholder] * len(ids))})"
        rows = database.rows(_RELEASES_SQL.format(condition=condition), tuple(ids))
    else:
        rows = database.rows(_RELEASES_SQL.format(condition="r.status IN ('live', 'preview')"))
    wanted: list[AppToLoad] = []
    for slug, release_id, status, code_digest, preview_digest in rows:
        live = ("t_" + slug, release_id, code_digest, False)
        preview = ("p_" + slug, release_id, preview_digest, True)
        if pinned:
            candidates = [c for c in (live, preview) if pinned.get(c[0]) == release_id]
        else:
            candidates = [live] if status == "live" else [preview]
        wanted += [AppToLoad(*candidate) for candidate in candidates if candidate[2]]
    return wanted


def _release_files(database: _Database, app: AppToLoad) -> dict[str, str]:
    columns = "preview_files" if app.preview else "files, migration_files"
    sql = _FILES_SQL.format(columns=columns, placeholder=database.placeholder)
    row = database.rows(sql, (app.release_id,))[0]
    files: dict[str, str] = {}
    for value in row:
        files.update(json.loads(value) if isinstance(value, str) else (value or {}))
    return files


def tenant_apps_bootstrap(
    *, database: Mapping[str, Any], apps_dir: Path, pinned: str | None = None
) -> list[str]:
    """Make the live and preview tenant apps importable; return their labels (sorted)."""
    pinned_map = pinned_releases(
        pinned if pinned is not None else os.environ.get(PINNED_RELEASES_ENV)
    )
    try:
        db = _Database(database)
    except Exception as error:  # an unreachable server must not stop every command
        print(f"Tenant apps not loaded: the database is unreachable ({error}).", file=sys.stderr)
        return []
    if db.connection is None:
        return []
    try:
        try:
            wanted = _apps_to_load(db, pinned_map)
        except Exception as error:
            if _missing_table(error):
                return []  # a fresh database: nothing deployed yet
            raise
        finder = _installed_finder()
        for app in wanted:
            folder = release_folder(Path(apps_dir), app.label, app.digest)
            if not (folder / COMPLETE_MARKER).exists():
                package_write(folder=folder, label=app.label, files=_release_files(db, app))
            finder.locations[app.label] = str(folder)
            finder.releases[app.label] = app.release_id
        return sorted(app.label for app in wanted)
    finally:
        db.close()
