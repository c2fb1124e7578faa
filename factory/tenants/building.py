"""Building a release's code: compile the spec, make its migrations, check it in the sandbox.

``release_code_make`` is where a spec becomes files: the compiler renders the app package,
and the evolution code makes the migrations that take the previous release's tables to the
new spec (Django's autodetector, its questions answered from the spec diff), in a scratch
process. ``release_artifacts_build`` adds the checks: the sandbox imports the package,
runs ``check``, confirms no migration is missing, migrates a scratch database and runs the
generated tests, all in separate processes, before any production process can load the
code. The same spec is compiled again under the preview label ``p_<slug>``, with a fresh
migration history of its own, and checked without running the tests twice.

Nothing here touches the project's database or imports the new code into this process.
The builder the services use is the setting FACTORY_RELEASE_BUILDER (a dotted path).
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.db import connections
from django.utils.module_loading import import_string

from factory.spec.models import AppSpec
from factory.tenants.naming import live_app_label, preview_app_label


class ReleaseCodeFailed(Exception):
    """The code of a release could not be made (compiler or migrations); a sentence why."""


@dataclass
class ReleaseArtifacts:
    """Everything a release stores about its code; ``ok`` when every check passed."""

    files: dict[str, str]
    migration_files: dict[str, str]
    check_report: dict[str, Any]
    ok: bool
    preview_files: dict[str, str] = field(default_factory=dict)
    migration_plan: dict[str, Any] = field(default_factory=dict)
    error: str = ""


def release_builder() -> Any:
    return import_string(settings.FACTORY_RELEASE_BUILDER)


def split_migrations(files: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(package code, migration files) of a package's files."""
    code = {path: text for path, text in files.items() if not path.startswith("migrations/")}
    migrations = {
        path: text
        for path, text in files.items()
        if path.startswith("migrations/") and path != "migrations/__init__.py"
    }
    return code, migrations


def package_folder_write(folder: Path, files: Mapping[str, str]) -> Path:
    for path, text in files.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    for required in (folder / "__init__.py", folder / "migrations" / "__init__.py"):
        required.parent.mkdir(parents=True, exist_ok=True)
        required.touch(exist_ok=True)
    return folder


def folder_migrations(folder: Path) -> dict[str, str]:
    return {
        f"migrations/{path.name}": path.read_text(encoding="utf-8")
        for path in sorted((folder / "migrations").glob("*.py"))
        if path.name != "__init__.py"
    }


def database_url_of(settings_dict: Mapping[str, Any]) -> str:
    """A DATABASE_URL naming the database of a Django connection (for subprocesses)."""
    if "sqlite" in settings_dict["ENGINE"]:
        return f"sqlite:///{settings_dict['NAME']}"
    user = quote(settings_dict.get("USER") or "", safe="")
    password = quote(settings_dict.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "localhost"
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return f"postgres://{credentials}{host}{port}/{settings_dict['NAME']}"


def scratch_server_url() -> str | None:
    """On PostgreSQL the sandbox checks on a scratch database of the same server."""
    if connections["default"].vendor != "postgresql":
        return None
    return database_url_of(connections["default"].settings_dict)


def jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {key: jsonable(item) for key, item in asdict(value).items()}
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    return value


def check_report_data(report: Any) -> dict[str, Any]:
    """A sandbox CheckReport as JSON-able data, with its verdict and readable text."""
    data = jsonable(report)
    data.pop("migrations", None)  # stored as the release's migration files
    data["ok"] = bool(report.ok)
    data["text"] = report.as_text()
    return data


def release_code_make(
    *,
    spec: AppSpec,
    app_label: str,
    base_spec: AppSpec | None,
    base_migration_files: Mapping[str, str],
    fill_values: Mapping[str, Any] | None = None,
) -> tuple[dict[str, str], dict[str, str], dict[str, Any]]:
    """(package code, the whole migration history, the migration plan) for ``spec``.

    The new migrations continue ``base_migration_files`` (empty: a new app); Django's
    questions are answered from the diff of ``base_spec`` and ``spec``.
    """
    from factory.compiler import CompileError, compile_app_spec
    from factory.evolution.diff import spec_diff
    from factory.evolution.plan import migration_plan_build
    from factory.evolution.services import EvolutionFailed, app_step_run

    try:
        code, _none = split_migrations(compile_app_spec(spec=spec, app_label=app_label))
    except CompileError as error:
        raise ReleaseCodeFailed(f"The spec could not be compiled: {error}") from error
    diff = spec_diff(old=base_spec or AppSpec(name=spec.name), new=spec, fill_values=fill_values)
    plan = migration_plan_build(diff=diff, app_label=app_label)  # may raise EvolutionRefused
    with tempfile.TemporaryDirectory(prefix="factory-release-") as scratch:
        folder = package_folder_write(Path(scratch) / app_label, {**code, **base_migration_files})
        try:
            step = app_step_run(
                app_dir=folder,
                plan=plan,
                database_url=f"sqlite:///{Path(scratch) / 'scratch.sqlite3'}",
                migrate=False,
            )
        except EvolutionFailed as error:
            raise ReleaseCodeFailed(
                f"The migrations could not be made ({error.stage}): {error}"
            ) from error
        migrations = folder_migrations(folder)
    plan_data = {
        "questions": step.answers,
        "new_migrations": sorted(set(migrations) - set(base_migration_files)),
        "operations": [
            {"migration": item.get("path"), "operations": item.get("operations")}
            for item in step.migrations
        ],
    }
    return code, migrations, jsonable(plan_data)


def _checked(*, app_label: str, files: Mapping[str, str], run_tests: bool) -> dict[str, Any]:
    from factory.sandbox import sandbox_check_app

    with tempfile.TemporaryDirectory(prefix="factory-check-") as scratch:
        folder = package_folder_write(Path(scratch) / app_label, files)
        report = sandbox_check_app(
            app_dir=folder,
            app_label=app_label,
            database_url=scratch_server_url(),
            run_tests=run_tests,
        )
    return check_report_data(report)


def release_artifacts_build(
    *,
    spec: AppSpec,
    slug: str,
    base_spec: AppSpec | None,
    base_migration_files: Mapping[str, str],
    fill_values: Mapping[str, Any] | None = None,
    with_preview: bool = True,
) -> ReleaseArtifacts:
    """Compile, make migrations, check in the sandbox; see the module docstring."""
    label = live_app_label(slug)
    try:
        code, migrations, plan = release_code_make(
            spec=spec,
            app_label=label,
            base_spec=base_spec,
            base_migration_files=base_migration_files,
            fill_values=fill_values,
        )
    except ReleaseCodeFailed as error:
        return ReleaseArtifacts(
            {}, {}, {"ok": False, "text": str(error)}, ok=False, error=str(error)
        )
    report = _checked(app_label=label, files={**code, **migrations}, run_tests=True)
    artifacts = ReleaseArtifacts(
        files=code,
        migration_files=migrations,
        check_report=report,
        ok=report["ok"],
        migration_plan=plan,
        error="" if report["ok"] else report["text"],
    )
    if artifacts.ok and with_preview:
        preview = preview_app_label(slug)
        try:
            preview_code, preview_migrations, _plan = release_code_make(
                spec=spec, app_label=preview, base_spec=None, base_migration_files={}
            )
        except ReleaseCodeFailed as error:
            artifacts.ok, artifacts.error = False, str(error)
            return artifacts
        preview_files = {**preview_code, **preview_migrations}
        preview_report = _checked(app_label=preview, files=preview_files, run_tests=False)
        artifacts.check_report["preview"] = preview_report
        artifacts.preview_files = preview_files
        if not preview_report["ok"]:
            artifacts.ok, artifacts.error = False, preview_report["text"]
    return artifacts
