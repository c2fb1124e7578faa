"""Runs compiled apps in a separate ``python`` process on a scratch project and database.

Django's app registry and settings are fixed once per process, so a compiled app is never
imported by the process that compiled it: every command runs in a fresh subprocess
(``scratch/entry.py``) whose settings install exactly the given apps. ``sandbox_run_manage``
and ``sandbox_run_script`` are the low-level doors (the evolution code makes its migrations
through them); ``sandbox_check_app`` runs the full check of one app and returns a
``CheckReport``. This module never imports a compiled app and never touches the project's
own database: scratch databases are temporary SQLite files or uniquely named PostgreSQL
databases that are dropped afterwards.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from xml.etree import ElementTree

from factory.compiler.package import AppLabelInvalid, validate_app_label

SCRATCH_SIDE_DIR = Path(__file__).resolve().parent / "scratch"
ENTRY_SCRIPT = SCRATCH_SIDE_DIR / "entry.py"
DEFAULT_TIMEOUT = 600.0
OUTPUT_TAIL_LINES = 40


class SandboxError(Exception):
    """The sandbox could not be set up (not: a check that failed, which a report says)."""


def _project_root() -> Path:
    # The folder holding the ``crm`` package (the kit the compiled apps build on).
    spec = importlib.util.find_spec("crm")
    if spec is None or spec.origin is None:
        raise SandboxError("The crm package cannot be found; run the factory from the project.")
    return Path(spec.origin).resolve().parent.parent


def output_tail(text: str, lines: int = OUTPUT_TAIL_LINES) -> str:
    kept = text.rstrip().splitlines()[-lines:]
    return "\n".join(kept)


# --- scratch databases -------------------------------------------------------------------


def _is_postgres(url: str) -> bool:
    return urlsplit(url).scheme in {"postgres", "postgresql", "pgsql", "postgis"}


@contextmanager
def scratch_postgres_database(*, server_url: str, prefix: str = "sandbox") -> Iterator[str]:
    """Create a uniquely named database on the server of ``server_url``; yield its URL; drop it.

    ``server_url`` is any database URL on that server whose user may create databases; the
    database it names need not exist, since the work is done from the ``postgres``
    maintenance database.
    """
    import psycopg
    from psycopg import sql

    if not _is_postgres(server_url):
        raise SandboxError(
            f"A scratch database needs a PostgreSQL URL (postgres://...), not {server_url!r}."
        )
    parts = urlsplit(server_url)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"[:63]
    admin_url = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    try:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as error:
        raise SandboxError(f"Could not create the scratch database {name}: {error}") from error
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


# --- scratch projects --------------------------------------------------------------------


@dataclass(frozen=True)
class ScratchProject:
    """A temporary folder with the apps to install, and the database they run against."""

    root: Path
    apps_dir: Path
    labels: tuple[str, ...]
    database_url: str

    def environment(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in {"DJANGO_SETTINGS_MODULE", "PYTHONPATH", "DATABASE_URL"}
        }
        env.update(
            {
                "FACTORY_SANDBOX_DIR": str(self.root),
                "FACTORY_SANDBOX_APPS_DIR": str(self.apps_dir),
                "FACTORY_SANDBOX_APPS": ",".join(self.labels),
                "FACTORY_SANDBOX_DATABASE_URL": self.database_url,
                "FACTORY_SANDBOX_PROJECT_ROOT": str(_project_root()),
                # No __pycache__ left in app folders: releases store exactly the compiled files.
                "PYTHONDONTWRITEBYTECODE": "1",
            }
        )
        env.update(extra or {})
        return env

    def run(
        self,
        mode: str,
        args: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``entry.py MODE ARGS`` in a fresh interpreter; never raises on a failed command."""
        command = [sys.executable, str(ENTRY_SCRIPT), mode, *args]
        try:
            return subprocess.run(
                command,
                cwd=self.root,
                env=self.environment(env),
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            stdout = error.stdout.decode() if isinstance(error.stdout, bytes) else error.stdout
            stderr = error.stderr.decode() if isinstance(error.stderr, bytes) else error.stderr
            return subprocess.CompletedProcess(
                command,
                returncode=124,
                stdout=stdout or "",
                stderr=f"{stderr or ''}\nStopped after {timeout:.0f} seconds.",
            )


@contextmanager
def scratch_project(
    *,
    apps: Mapping[str, Path],
    database_url: str | None = None,
    copy_apps: bool = False,
) -> Iterator[ScratchProject]:
    """A temporary project installing ``apps`` (label → package folder), removed afterwards.

    With ``copy_apps`` the packages are copied (commands cannot write into the originals);
    otherwise they are linked, so ``makemigrations`` writes into the given folders.
    ``database_url`` None means a fresh SQLite file inside the project.
    """
    for label, path in apps.items():
        try:
            validate_app_label(label)
        except AppLabelInvalid as error:
            raise SandboxError(str(error)) from error
        if not (Path(path) / "__init__.py").is_file():
            raise SandboxError(f"{path} is not a Python package (no __init__.py) for app {label}.")
    root = Path(tempfile.mkdtemp(prefix="factory-sandbox-"))
    try:
        apps_dir = root / "apps"
        apps_dir.mkdir()
        for label, path in apps.items():
            if copy_apps:
                shutil.copytree(
                    path, apps_dir / label, ignore=shutil.ignore_patterns("__pycache__")
                )
            else:
                (apps_dir / label).symlink_to(Path(path).resolve(), target_is_directory=True)
        yield ScratchProject(
            root=root,
            apps_dir=apps_dir,
            labels=tuple(apps),
            database_url=database_url or f"sqlite:///{root / 'db.sqlite3'}",
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


def sandbox_run_manage(
    *,
    apps: Mapping[str, Path],
    args: Sequence[str],
    env: Mapping[str, str] | None = None,
    database_url: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    """Run ``manage.py ARGS`` in a fresh process whose project installs ``apps``.

    ``apps`` maps each label to its package folder; the folders are used in place, so
    ``makemigrations`` writes its files there. ``database_url`` is the database the command
    works on (None: an empty throwaway SQLite file). The returned process has ``stdout``,
    ``stderr`` and ``returncode``; a failing command does not raise.
    """
    with scratch_project(apps=apps, database_url=database_url) as project:
        return project.run("manage", args, env=env, timeout=timeout)


def sandbox_run_script(
    *,
    apps: Mapping[str, Path],
    script: Path,
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    database_url: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    """Run the Python file ``script`` (as ``__main__``, after ``django.setup()``) like above.

    The script runs in the scratch process: it may import Django, the apps and ``crm.kit``,
    but not the project's ``factory`` package (there ``factory`` is factory-boy).
    """
    with scratch_project(apps=apps, database_url=database_url) as project:
        return project.run("script", [str(Path(script).resolve()), *args], env=env, timeout=timeout)


# --- the check ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckStep:
    name: str
    ok: bool
    duration: float
    output: str = ""
    summary: str = ""


@dataclass(frozen=True)
class TestCounts:
    total: int
    passed: int
    failed: int
    errors: int
    skipped: int
    # "<TestClass>.<test_name>" of each test that passed, in the order they ran.
    passed_names: tuple[str, ...] = ()


STEP_NAMES = ("import", "check", "makemigrations", "migrate", "tests")


@dataclass
class CheckReport:
    """What the sandbox did with one app: each step, the migrations made, the test counts."""

    app_label: str
    database: str
    steps: list[CheckStep] = field(default_factory=list)
    migrations: dict[str, str] = field(default_factory=dict)
    tests: TestCounts | None = None
    models: dict[str, Any] = field(default_factory=dict)
    expected_steps: tuple[str, ...] = STEP_NAMES

    @property
    def ok(self) -> bool:
        names = tuple(step.name for step in self.steps)
        return names == self.expected_steps and all(step.ok for step in self.steps)

    @property
    def duration(self) -> float:
        return sum(step.duration for step in self.steps)

    def step(self, name: str) -> CheckStep:
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(name)

    def as_text(self) -> str:
        verdict = "passed" if self.ok else "FAILED"
        lines = [f"Sandbox check of app {self.app_label} on {self.database}: {verdict}"]
        width = max(len(name) for name in self.expected_steps)
        ran = {step.name for step in self.steps}
        for step in self.steps:
            mark = "✓" if step.ok else "✗"
            summary = f"  {step.summary}" if step.summary else ""
            lines.append(f"  {mark} {step.name:<{width}} {step.duration:6.2f} s{summary}")
            if not step.ok and step.output:
                lines += [f"      {line}" for line in step.output.splitlines()]
        lines += [
            f"  - {name:<{width}}   not run" for name in self.expected_steps if name not in ran
        ]
        lines.append(f"  total {self.duration:.2f} s")
        return "\n".join(lines)


# Line prefixes of scratch/entry.py's reports.
STEP_MARKER = "@@sandbox-step "
MODELS_MARKER = "@@sandbox-models "


def _timed_step(
    project: ScratchProject, name: str, mode: str, args: Sequence[str]
) -> tuple[CheckStep, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    process = project.run(mode, args)
    duration = time.perf_counter() - started
    output = output_tail(f"{process.stdout}\n{process.stderr}")
    return CheckStep(name=name, ok=process.returncode == 0, duration=duration, output=output), (
        process
    )


def _migration_files(app_dir: Path) -> dict[str, str]:
    folder = app_dir / "migrations"
    if not folder.is_dir():
        return {}
    return {
        f"migrations/{path.name}": path.read_text()
        for path in sorted(folder.glob("*.py"))
        if path.name != "__init__.py"
    }


def _test_counts(junit_path: Path) -> TestCounts | None:
    if not junit_path.is_file():
        return None
    root = ElementTree.parse(junit_path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    total = sum(int(suite.get("tests", 0)) for suite in suites)
    failed = sum(int(suite.get("failures", 0)) for suite in suites)
    errors = sum(int(suite.get("errors", 0)) for suite in suites)
    skipped = sum(int(suite.get("skipped", 0)) for suite in suites)
    outcomes = {"failure", "error", "skipped"}
    passed_names = tuple(
        f"{case.get('classname', '').rsplit('.', 1)[-1]}.{case.get('name')}"
        for case in root.iter("testcase")
        if not any(child.tag in outcomes for child in case)
    )
    return TestCounts(
        total=total,
        passed=total - failed - errors - skipped,
        failed=failed,
        errors=errors,
        skipped=skipped,
        passed_names=passed_names,
    )


def _run_generated_tests(project: ScratchProject, app_label: str) -> tuple[CheckStep, TestCounts]:
    tests_dir = project.apps_dir / app_label / "tests"
    shutil.copyfile(SCRATCH_SIDE_DIR / "sandbox_conftest.py", project.root / "conftest.py")
    (project.root / "pytest.ini").write_text("[pytest]\n")
    junit = project.root / "junit.xml"
    step, _process = _timed_step(
        project,
        "tests",
        "pytest",
        [
            str(tests_dir),
            "-q",
            "-p",
            "no:cacheprovider",
            # The project's test-only plugins: the generated tests need none of them.
            "-p",
            "no:hypothesispytest",
            "-p",
            "no:anyio",
            "-p",
            "no:faker",
            "--rootdir",
            str(project.root),
            "-c",
            str(project.root / "pytest.ini"),
            f"--junitxml={junit}",
        ],
    )
    counts = _test_counts(junit) or TestCounts(0, 0, 0, 0, 0)
    ok = step.ok and counts.total > 0 and counts.passed == counts.total
    summary = f"{counts.passed} of {counts.total} passed"
    if counts.skipped:
        summary += f", {counts.skipped} skipped"
    return CheckStep("tests", ok, step.duration, step.output, summary), counts


def _steps_run(
    project: ScratchProject, app_label: str, options: dict
) -> tuple[list[CheckStep], dict[str, Any]]:
    """Import, check, makemigrations and migrate in one scratch process (one Django start);
    the steps' reports, and the app's models when ``options["describe"]`` asks for them."""
    started = time.perf_counter()
    process = project.run("steps", [app_label, json.dumps(options)])
    steps = []
    models: dict[str, Any] = {}
    for line in process.stdout.splitlines():
        if line.startswith(MODELS_MARKER):
            models = json.loads(line.removeprefix(MODELS_MARKER))
        elif line.startswith(STEP_MARKER):
            data = json.loads(line.removeprefix(STEP_MARKER))
            steps.append(
                CheckStep(
                    name=data["name"],
                    ok=data["ok"],
                    duration=data["duration"],
                    output=output_tail(data["output"]),
                )
            )
    reported = {step.name for step in steps}
    if process.returncode != 0 and all(step.ok for step in steps):
        # The process died outside a step (or timed out): blame the first step not reported.
        missing = next((name for name in options["steps"] if name not in reported), "import")
        steps.append(
            CheckStep(
                name=missing,
                ok=False,
                duration=time.perf_counter() - started - sum(step.duration for step in steps),
                output=output_tail(f"{process.stdout}\n{process.stderr}"),
            )
        )
    return steps, models


def _check_in_project(
    project: ScratchProject, app_label: str, run_tests: bool, describe: bool
) -> CheckReport:
    database = "PostgreSQL" if _is_postgres(project.database_url) else "SQLite"
    expected = STEP_NAMES if run_tests else STEP_NAMES[:-1]
    report = CheckReport(app_label=app_label, database=database, expected_steps=expected)
    app_dir = project.apps_dir / app_label
    existing = _migration_files(app_dir)
    makemigrations = ["makemigrations", app_label, "--noinput"]
    if existing:
        # Never let --noinput answer for an evolving app (a rename would become drop + add):
        # its migrations must already be made, and this only confirms nothing is missing.
        makemigrations += ["--check", "--dry-run"]
    options = {
        "steps": ["import", "check", "makemigrations", "migrate"],
        "check": ["check", "--fail-level", "WARNING"],
        "makemigrations": makemigrations,
        "migrate": ["migrate", "--noinput"],
        "describe": describe,
    }
    steps, report.models = _steps_run(project, app_label, options)
    for step in steps:
        if step.name == "makemigrations":
            made = {k: v for k, v in _migration_files(app_dir).items() if k not in existing}
            report.migrations = made
            names = ", ".join(path.removeprefix("migrations/") for path in made)
            summary = names or "no new migration needed"
            step = CheckStep(step.name, step.ok, step.duration, step.output, summary)
        report.steps.append(step)
    if not report.steps or not all(step.ok for step in report.steps):
        return report
    if run_tests:
        step, counts = _run_generated_tests(project, app_label)
        report.steps.append(step)
        report.tests = counts
    return report


def sandbox_check_app(
    *,
    app_dir: Path,
    app_label: str,
    database_url: str | None = None,
    run_tests: bool = True,
    describe_models: bool = False,
) -> CheckReport:
    """Check a compiled app in separate processes; the given folder is never modified.

    Steps: import every module, ``check`` (warnings fail), ``makemigrations`` (the initial
    migration; for an app that already has migrations, only a check that none is missing),
    ``migrate`` on a scratch database, and the app's generated tests on that database.
    The database is a temporary SQLite file, or with ``database_url`` (a PostgreSQL server)
    a uniquely named database created there and dropped afterwards. Stops at the first
    failing step; ``report.migrations`` holds the migration files the check made, and with
    ``describe_models`` ``report.models`` describes the app's models (see ``scratch/
    sandbox_introspect.py``), e.g. to compare them with another app's.
    """
    apps = {app_label: Path(app_dir)}
    if database_url is None:
        with scratch_project(apps=apps, copy_apps=True) as project:
            return _check_in_project(project, app_label, run_tests, describe_models)
    with (
        scratch_postgres_database(server_url=database_url, prefix=f"sandbox_{app_label}") as url,
        scratch_project(apps=apps, database_url=url, copy_apps=True) as project,
    ):
        return _check_in_project(project, app_label, run_tests, describe_models)
