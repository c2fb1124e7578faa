"""Evolution services: take an app from its current spec to a new one without losing a row.

``app_evolve`` is the driver: diff the specs, refuse what cannot be migrated safely (an
unconfirmed destructive change, a required field with no value for existing rows, text
that matches no option of its new choice list), compile the new spec over the app folder
(keeping its migrations), make the migrations in a fresh ``manage.py`` process with the
spec-diff questioner, and apply them. When making the migrations fails, the app folder is
put back as it was. ``app_step_run`` is the lower door that the driver and the tests share:
one scratch process that makes migrations, migrates, loads and dumps rows.

Everything that imports the app runs in a subprocess (``factory.sandbox``): this process
never imports the new code, never re-populates its registry and never touches INSTALLED_APPS.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from factory.compiler import compile_app_spec, write_app_package
from factory.evolution.diff import ChangeClass, ChangeKind, SpecDiff, spec_diff
from factory.evolution.impact import SpecDiffImpact, impact_from_counts, impact_queries
from factory.evolution.plan import EvolutionRefused, MigrationPlan, migration_plan_build
from factory.sandbox import sandbox_run_script
from factory.spec.models import AppSpec

SCRATCH_DIR = Path(__file__).resolve().parent / "scratch"
STEP_SCRIPT = SCRATCH_DIR / "evolution_step.py"
IMPACT_SCRIPT = SCRATCH_DIR / "evolution_impact.py"
STEP_MARKER = "EVOLUTION-STEP "
IMPACT_MARKER = "EVOLUTION-IMPACT "


class EvolutionFailed(Exception):
    """A subprocess step failed; ``stage`` names it and the message says what went wrong."""

    def __init__(self, stage: str, message: str) -> None:
        self.stage = stage
        super().__init__(message)


@dataclass
class StepReport:
    migrations: list[dict[str, Any]] = field(default_factory=list)
    answers: list[dict[str, Any]] = field(default_factory=list)
    migrate_output: str = ""
    values: dict[str, dict[str, dict[str, Any]]] | None = None
    loaded: int = 0

    def operations(self) -> list[dict[str, Any]]:
        return [op for migration in self.migrations for op in migration["operations"]]


@dataclass
class EvolutionReport:
    diff: SpecDiff
    plan: MigrationPlan
    step: StepReport
    impact: SpecDiffImpact | None = None


def _last_report(stdout: str, marker: str) -> Any:
    for line in reversed(stdout.splitlines()):
        if line.startswith(marker):
            return json.loads(line.removeprefix(marker))
    return None


def app_step_run(
    *,
    app_dir: Path,
    plan: MigrationPlan,
    database_url: str,
    migrate: bool = True,
    rows: dict[str, list[dict[str, Any]]] | None = None,
    dump: bool = False,
) -> StepReport:
    """Make the plan's migrations in a fresh process; optionally migrate, load rows, dump."""
    with tempfile.TemporaryDirectory(prefix="factory-evolution-") as scratch:
        plan_path = Path(scratch) / "plan.json"
        plan_path.write_text(plan.to_json())
        args = [str(plan_path)]
        if migrate:
            args.append("--migrate")
        if rows:
            rows_path = Path(scratch) / "rows.json"
            rows_path.write_text(json.dumps(rows, default=str))
            args += ["--load", str(rows_path)]
        if dump:
            args.append("--dump")
        process = sandbox_run_script(
            apps={plan.app_label: app_dir},
            script=STEP_SCRIPT,
            args=args,
            database_url=database_url,
        )
    report = _last_report(process.stdout, STEP_MARKER)
    if report is None:
        raise EvolutionFailed(
            "process",
            f"The evolution process of app {plan.app_label} stopped without a report"
            f" (exit code {process.returncode}):\n{process.stderr[-3000:]}",
        )
    if "error" in report:
        raise EvolutionFailed(report["stage"], report["error"])
    return StepReport(
        migrations=report.get("migrations", []),
        answers=report.get("answers", []),
        migrate_output=report.get("migrate_output", ""),
        values=report.get("values"),
        loaded=report.get("loaded", 0),
    )


def app_impact_count(
    *, diff: SpecDiff, app_dir: Path, app_label: str, database_url: str
) -> SpecDiffImpact:
    """Count the diff's data impact with the app's current code, in a scratch process."""
    queries = impact_queries(diff)
    flat = [query for change_queries in queries for query in change_queries]
    if not flat:
        return impact_from_counts(diff, app_label=app_label, counts=[[] for _ in queries])
    with tempfile.TemporaryDirectory(prefix="factory-impact-") as scratch:
        request = Path(scratch) / "queries.json"
        request.write_text(json.dumps({"app_label": app_label, "queries": flat}, default=str))
        process = sandbox_run_script(
            apps={app_label: app_dir},
            script=IMPACT_SCRIPT,
            args=[str(request)],
            database_url=database_url,
        )
    counts = _last_report(process.stdout, IMPACT_MARKER)
    if counts is None:
        raise EvolutionFailed(
            "impact",
            f"Counting the data impact in app {app_label} failed:\n{process.stderr[-3000:]}",
        )
    per_change, position = [], 0
    for change_queries in queries:
        per_change.append(counts[position : position + len(change_queries)])
        position += len(change_queries)
    return impact_from_counts(diff, app_label=app_label, counts=per_change)


def _refusals(impact: SpecDiffImpact, *, confirm_destructive: bool) -> list[str]:
    problems = []
    destructive = [
        item for item in impact.impacts if item.change.classification == ChangeClass.DESTRUCTIVE
    ]
    if destructive and not confirm_destructive:
        problems.append(
            "These changes can lose data and need an explicit confirmation: "
            + "; ".join(item.sentence for item in destructive)
            + "."
        )
    for item in impact.impacts:
        if not item.count:
            continue
        kind = item.change.kind
        if kind == ChangeKind.FIELD_CONVERTED and not item.change.fill_given:
            problems.append(
                f"{item.sentence}. Add options (or labels) matching those values, or give the"
                " field a default for values that match none."
            )
        elif kind == ChangeKind.FIELD_NARROWED:
            problems.append(f"{item.sentence}. Correct those values first, then evolve again.")
        elif kind == ChangeKind.FIELD_UNIQUE_ADDED:
            problems.append(f"{item.sentence}. Make those values distinct first.")
    return problems


def _copy_tree(source: Path, target: Path) -> None:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))


def app_evolve(
    *,
    old: AppSpec | None,
    new: AppSpec,
    app_label: str,
    app_dir: Path,
    database_url: str,
    fill_values: dict[str, Any] | None = None,
    confirm_destructive: bool = False,
    rows: dict[str, list[dict[str, Any]]] | None = None,
    dump: bool = False,
) -> EvolutionReport:
    """Bring the app in ``app_dir`` and its database from ``old`` to ``new``.

    ``old`` None creates the app. ``rows`` are inserted and ``dump`` reads every value back
    once migrated (demos and tests). Raises ``EvolutionRefused`` (nothing changed) when a
    change cannot be migrated safely, ``EvolutionFailed`` when a subprocess step fails: the
    app folder is put back, and a failed migrate moves the database back to the previous
    migration (a conversion already applied stays converted, which is one reason a deploy
    takes a backup first).
    """
    app_dir = Path(app_dir)
    baseline = old or AppSpec(name=new.name)
    diff = spec_diff(old=baseline, new=new, fill_values=fill_values)
    plan = migration_plan_build(diff=diff, app_label=app_label)
    impact = None
    if old is not None and diff.changes:
        impact = app_impact_count(
            diff=diff, app_dir=app_dir, app_label=app_label, database_url=database_url
        )
        problems = _refusals(impact, confirm_destructive=confirm_destructive)
        if problems:
            raise EvolutionRefused(problems)
    with tempfile.TemporaryDirectory(prefix="factory-evolution-backup-") as backup_root:
        backup = Path(backup_root) / "app"
        if app_dir.exists():
            _copy_tree(app_dir, backup)
        try:
            app_code_write(spec=new, app_label=app_label, app_dir=app_dir)
            step = app_step_run(
                app_dir=app_dir, plan=plan, database_url=database_url, rows=rows, dump=dump
            )
        except Exception:
            shutil.rmtree(app_dir, ignore_errors=True)
            if backup.exists():
                _copy_tree(backup, app_dir)
            raise
    return EvolutionReport(diff=diff, plan=plan, step=step, impact=impact)


def app_code_write(*, spec: AppSpec, app_label: str, app_dir: Path) -> None:
    """Compile ``spec`` over the app folder, keeping the migrations it already has."""
    files = compile_app_spec(spec=spec, app_label=app_label)
    write_app_package(files=files, out_dir=app_dir, keep_migrations=True)
