"""Writing a compiled app package to disk, and the rules an app label must follow.

``write_app_package`` builds the new package next to the old one and swaps it in, so a
reader never finds a half-written package, and files of a previous version that the new
one no longer has are gone. Migrations are made by Django, not by the compiler, so the
package's existing ``migrations/`` folder is carried over unless ``files`` provides it.
"""

from __future__ import annotations

import importlib.metadata
import keyword
import os
import re
import shutil
import sys
import uuid
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

APP_LABEL_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
PROJECT_PACKAGES = frozenset({"bench", "config", "crm", "factory", "manage", "tests"})
RESERVED_LABEL_PREFIXES = ("sandbox_",)
MIGRATIONS = "migrations"


class AppLabelInvalid(ValueError):
    """An app label that cannot name a package; the message says what to use instead."""


def validate_app_label(app_label: str) -> None:
    """Refuse labels that are not plain identifiers or that would hide another module."""
    if not APP_LABEL_PATTERN.match(app_label) or keyword.iskeyword(app_label):
        raise AppLabelInvalid(
            f"The app label {app_label!r} must be lower-case letters, digits and _ (at most 40,"
            " starting with a letter, not a Python keyword), e.g. acme_crm."
        )
    if app_label.startswith(RESERVED_LABEL_PREFIXES):
        raise AppLabelInvalid(
            f"The app label {app_label!r} must not start with 'sandbox_'; e.g. acme_crm."
        )
    taken = (
        app_label in sys.stdlib_module_names
        or app_label in PROJECT_PACKAGES
        or app_label in importlib.metadata.packages_distributions()
    )
    if taken:
        raise AppLabelInvalid(
            f"The app label {app_label!r} is already the name of a module the project uses;"
            f" choose another label, e.g. {app_label}_crm."
        )


def _relative(path: str) -> PurePosixPath:
    relative = PurePosixPath(path)
    if relative.is_absolute() or not relative.parts or ".." in relative.parts:
        raise ValueError(f"Refusing to write the file {path!r} outside the app package.")
    return relative


def write_app_package(
    *, files: Mapping[str, str], out_dir: Path, keep_migrations: bool = True
) -> None:
    """Make ``out_dir`` hold exactly ``files`` (relative path → text), swapped in at once.

    With ``keep_migrations`` the migration files already in ``out_dir/migrations`` stay,
    except those ``files`` replaces; nothing else of the previous version survives.
    """
    out_dir = Path(out_dir)
    targets = {_relative(path): text for path, text in files.items()}
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    token = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    staging = out_dir.parent / f".{out_dir.name}.new-{token}"
    retired = out_dir.parent / f".{out_dir.name}.old-{token}"
    try:
        staging.mkdir()
        old_migrations = out_dir / MIGRATIONS
        if keep_migrations and old_migrations.is_dir():
            shutil.copytree(
                old_migrations,
                staging / MIGRATIONS,
                ignore=shutil.ignore_patterns("__pycache__"),
            )
        for relative, text in sorted(targets.items()):
            target = staging.joinpath(*relative.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        if out_dir.exists():
            os.replace(out_dir, retired)
        os.replace(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(retired, ignore_errors=True)
