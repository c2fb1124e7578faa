"""One evolution step in the scratch process.

``SCRIPT PLAN.json [--migrate] [--load ROWS.json] [--dump]``: make the migrations of the app
named by the plan (``evolution_makemigrations``), then optionally apply every pending
migration, insert rows with the new models, and dump every stored value. One process does
it all because the new models can only be imported by a fresh process, and starting one
per action would triple the cost of an evolution.

Prints one JSON report on the last line of stdout (``EVOLUTION-STEP {...}``): the
migrations written with their operations, the questions answered, the migrate output, the
dumped values; or ``{"error": ..., "stage": ...}`` with exit code 1. Imports only Django,
the standard library and its sibling modules (``factory`` is factory-boy in this process).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.db.migrations.loader import MigrationLoader

if __package__:
    from .evolution_makemigrations import RenameLost, make_migrations
    from .evolution_questioner import QuestionUnanswered
    from .evolution_values import values_dump, values_load
else:  # run as a script in the scratch process, beside its sibling modules
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from evolution_makemigrations import RenameLost, make_migrations
    from evolution_questioner import QuestionUnanswered
    from evolution_values import values_dump, values_load

REPORT_MARKER = "EVOLUTION-STEP "


def _fail(stage: str, error: Exception) -> int:
    print(REPORT_MARKER + json.dumps({"error": str(error), "stage": stage}))
    return 1


def _leaf(label: str) -> str:
    """The app's last migration before this step ("zero" for a new app)."""
    leaves = MigrationLoader(None, ignore_no_migrations=True).graph.leaf_nodes(label)
    return leaves[0][1] if leaves else "zero"


def _migrate_back(label: str, target: str) -> str:
    """Unapply what this step applied, so that the database matches the previous code."""
    try:
        call_command("migrate", label, target, interactive=False, verbosity=0)
    except Exception as error:  # reported, never hidden: the deploy's backup is the way back
        return f"Moving the database back to migration {target} failed too: {error}"
    return f"The database was moved back to migration {target}."


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="evolution_step")
    parser.add_argument("plan", type=Path)
    parser.add_argument("--migrate", action="store_true")
    parser.add_argument("--load", type=Path)
    parser.add_argument("--dump", action="store_true")
    options = parser.parse_args(argv)
    plan = json.loads(options.plan.read_text())
    label = plan["app_label"]
    report: dict[str, Any] = {}
    before = _leaf(label)
    try:
        report.update(make_migrations(plan))
    except (QuestionUnanswered, RenameLost) as error:
        return _fail("makemigrations", error)
    if options.migrate:
        output = io.StringIO()
        try:
            call_command("migrate", interactive=False, stdout=output, verbosity=1)
        except Exception as error:  # the report carries any failure back to the factory
            return _fail("migrate", RuntimeError(f"{error} {_migrate_back(label, before)}"))
        report["migrate_output"] = output.getvalue()
    if options.load:
        report["loaded"] = values_load(label, json.loads(options.load.read_text()))
    if options.dump:
        report["values"] = values_dump(label)
    print(REPORT_MARKER + json.dumps(report, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
