"""``python manage.py factory compile FILE --label LABEL --out DIR [--check]``.

Compiles a spec file into the app package ``DIR/LABEL/``; with ``--check`` the sandbox then
imports it, runs ``check``, makes its initial migration (written into the package), migrates
a scratch database and runs the app's generated tests, all in separate processes, and
prints a report (exit code 1 when a step fails). Only parses, orchestrates and prints: the
work is done by ``factory.compiler`` and ``factory.sandbox``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from factory.compiler import (
    AppLabelInvalid,
    CompileError,
    compile_app_spec,
    write_app_package,
)
from factory.sandbox import SandboxError, sandbox_check_app
from factory.spec.io import spec_load
from factory.spec.validation import SpecInvalid


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "compile", help="Compile a spec file into a Django app package (and check it)."
    )
    parser.add_argument("file", type=Path, help="Path of the spec file (YAML or JSON).")
    parser.add_argument(
        "--label", required=True, help="App label, also the package's name (e.g. acme_crm)."
    )
    parser.add_argument(
        "--out", required=True, type=Path, help="Folder in which the package LABEL/ is written."
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="Import, check, migrate and test the app in a sandbox and print a report.",
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="With --check: a PostgreSQL server to make the scratch database on "
        "(default: a temporary SQLite file).",
    )
    parser.set_defaults(handler=compile_command)


def compile_command(options: dict[str, Any], stdout: Any, stderr: Any) -> int:
    path, label = options["file"], options["label"]
    package_dir = Path(options["out"]) / label
    started = time.perf_counter()
    try:
        spec = spec_load(path=path)
        files = compile_app_spec(spec=spec, app_label=label)
    except SpecInvalid as invalid:
        count = len(invalid.problems)
        stderr.write(f"{path}: {count} problem{'s' if count != 1 else ''}; nothing was written.")
        for problem in invalid.problems:
            stderr.write(f"- {problem}")
        return 1
    except (AppLabelInvalid, CompileError) as error:
        stderr.write(f"{error} Nothing was written.")
        return 1
    write_app_package(files=files, out_dir=package_dir)
    stdout.write(
        f"Compiled {path} into {package_dir} ({len(files)} files) in "
        f"{time.perf_counter() - started:.2f} s."
    )
    if not options.get("check"):
        return 0
    try:
        report = sandbox_check_app(
            app_dir=package_dir, app_label=label, database_url=options.get("database_url")
        )
    except SandboxError as error:
        stderr.write(f"The sandbox could not start: {error}")
        return 1
    if report.migrations:
        migrations = {"migrations/__init__.py": "", **report.migrations}
        write_app_package(files={**files, **migrations}, out_dir=package_dir)
        names = ", ".join(sorted(report.migrations))
        stdout.write(f"Wrote the migrations the check made: {names}.")
    stdout.write(report.as_text())
    return 0 if report.ok else 1
