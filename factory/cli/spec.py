"""``python manage.py factory spec ...``: validate a spec, export the template, the schema.

Only parses arguments and prints; loading, validation and the template live in
``factory.spec``. More ``spec`` subcommands plug in through ``SPEC_SUBCOMMAND_MODULES``:
each listed module exposes ``register(spec_subparsers)`` and sets
``handler=function(options, stdout, stderr) -> int``; a listed module that does not exist
yet is skipped.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from factory.spec.io import SCHEMA_PATH, app_spec_schema_text, spec_dump, spec_load
from factory.spec.template import template_app_spec
from factory.spec.validation import SpecInvalid

SPEC_SUBCOMMAND_MODULES = [
    "factory.cli.spec_diff",
]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("spec", help="Validate, export and describe app specs.")
    spec_subparsers = parser.add_subparsers(
        dest="spec_command", required=True, metavar="SPEC_COMMAND"
    )

    validate = spec_subparsers.add_parser("validate", help="Check a spec file (YAML or JSON).")
    validate.add_argument("file", type=Path, help="Path of the spec file.")
    validate.add_argument("--json", action="store_true", help="Print the result as JSON.")
    validate.set_defaults(handler=spec_validate_command)

    export = spec_subparsers.add_parser(
        "export-template", help="Print the base CRM's template spec."
    )
    export.add_argument("--format", choices=["yaml", "json"], default="yaml", dest="fmt")
    export.add_argument("--out", type=Path, help="Write to this file instead of printing.")
    export.set_defaults(handler=spec_export_template_command)

    schema = spec_subparsers.add_parser("schema", help="Print the JSON Schema of app specs.")
    schema.add_argument(
        "--write",
        action="store_true",
        help=f"Rewrite the committed schema file ({SCHEMA_PATH.name}).",
    )
    schema.set_defaults(handler=spec_schema_command)

    for module_name in SPEC_SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            continue
        module.register(spec_subparsers)


def spec_validate_command(options: dict[str, Any], stdout: Any, stderr: Any) -> int:
    path = options["file"]
    try:
        spec = spec_load(path=path)
    except SpecInvalid as invalid:
        if options.get("json"):
            problems = [{"path": p.path, "message": p.message} for p in invalid.problems]
            stdout.write(json.dumps({"valid": False, "problems": problems}, indent=2))
        else:
            count = len(invalid.problems)
            stderr.write(f"{path}: {count} problem{'s' if count != 1 else ''}")
            for problem in invalid.problems:
                stderr.write(str(problem))
        return 1
    if options.get("json"):
        stdout.write(json.dumps({"valid": True, "problems": []}, indent=2))
    else:
        stdout.write(
            f"{path}: valid ({len(spec.entities)} entities, {len(spec.choice_lists)} choice "
            f"lists, {len(spec.pipelines)} pipelines, {len(spec.automations)} automations, "
            f"{len(spec.roles)} roles)"
        )
    return 0


def spec_export_template_command(options: dict[str, Any], stdout: Any, stderr: Any) -> int:
    text = spec_dump(template_app_spec(), fmt=options.get("fmt") or "yaml")
    out = options.get("out")
    if out:
        Path(out).write_text(text, encoding="utf-8")
        stdout.write(f"Wrote the template spec to {out}.")
    else:
        stdout.write(text, ending="")
    return 0


def spec_schema_command(options: dict[str, Any], stdout: Any, stderr: Any) -> int:
    text = app_spec_schema_text()
    if options.get("write"):
        SCHEMA_PATH.write_text(text, encoding="utf-8")
        stdout.write(f"Wrote {SCHEMA_PATH.name}.")
    else:
        stdout.write(text, ending="")
    return 0
