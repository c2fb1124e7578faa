"""``python manage.py factory spec diff OLD NEW``: the plan from one spec to another.

Prints each change with its class (safe, needs a default, destructive) and, with ``--app``
naming an installed app, the number of live values it touches. Only parses and prints;
the diff and the counting live in ``factory.evolution``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.apps import apps

from factory.evolution.diff import spec_diff
from factory.evolution.impact import spec_diff_impact, spec_diff_impact_text, spec_diff_uncounted
from factory.spec.io import spec_load
from factory.spec.validation import SpecInvalid


def register(spec_subparsers: Any) -> None:
    parser = spec_subparsers.add_parser(
        "diff", help="Compare two specs: classified changes and the live data they touch."
    )
    parser.add_argument("old", type=Path, help="The spec as it is now (YAML or JSON).")
    parser.add_argument("new", type=Path, help="The spec as wanted.")
    parser.add_argument("--json", action="store_true", help="Print the plan as JSON.")
    parser.add_argument(
        "--app", metavar="LABEL", help="Installed app whose live values are counted."
    )
    parser.add_argument(
        "--database", default="default", help="Database alias to count in (default: default)."
    )
    parser.set_defaults(handler=spec_diff_command)


def _load(path: Path, stderr: Any) -> Any:
    try:
        return spec_load(path=path)
    except SpecInvalid as invalid:
        stderr.write(f"{path}: {invalid}")
        return None


def spec_diff_command(options: dict[str, Any], stdout: Any, stderr: Any) -> int:
    old, new = _load(options["old"], stderr), _load(options["new"], stderr)
    if old is None or new is None:
        return 1
    app_label = options.get("app")
    if app_label and not apps.is_installed(app_label) and app_label not in apps.app_configs:
        stderr.write(
            f"No installed app has the label {app_label!r}; name one of"
            f" {', '.join(sorted(apps.app_configs))}, or leave out --app."
        )
        return 2
    diff = spec_diff(old=old, new=new)
    if app_label:
        impact = spec_diff_impact(diff, app_label=app_label, using=options["database"])
    else:
        impact = spec_diff_uncounted(diff)
    if options.get("json"):
        stdout.write(json.dumps(impact.to_jsonable(), indent=2, default=str))
    else:
        stdout.write(spec_diff_impact_text(impact))
    return 0
