"""Benchmark: compile + migration time of the factory, against bare Django on the same code.

For the template spec and a generated spec of 60 entities it measures
- compile: ``compile_app_spec`` + ``write_app_package`` (in this process);
- factory: the sandbox check without the generated tests (import, ``check``,
  ``makemigrations``, ``migrate`` on a scratch database, in a subprocess);
- bare: ``manage.py makemigrations <label>`` then ``manage.py migrate`` on the same
  generated code and a fresh database, as two plain subprocesses;
and prints the ratio (compile + factory) / bare.

Usage: ``python bench/compile.py [--entities 60] [--database-url postgres://...]``
(default database: temporary SQLite files).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

import django

django.setup()

from factory.compiler import compile_app_spec, write_app_package  # noqa: E402
from factory.sandbox import (  # noqa: E402
    sandbox_check_app,
    sandbox_run_manage,
    scratch_postgres_database,
)
from factory.spec.models import AppSpec  # noqa: E402
from factory.spec.template import template_app_spec  # noqa: E402
from tests.compiler.specs import wide_spec  # noqa: E402


def scratch_database(server_url: str | None, folder: Path, name: str):
    if server_url:
        return scratch_postgres_database(server_url=server_url, prefix=f"bench_{name}")
    return nullcontext(f"sqlite:///{folder / f'{name}.sqlite3'}")


def bench_one(name: str, spec: AppSpec, label: str, server_url: str | None) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="factory-bench-") as scratch:
        folder = Path(scratch)
        started = time.perf_counter()
        files = compile_app_spec(spec=spec, app_label=label)
        write_app_package(files=files, out_dir=folder / "factory" / label)
        compiled = time.perf_counter() - started

        started = time.perf_counter()
        report = sandbox_check_app(
            app_dir=folder / "factory" / label,
            app_label=label,
            database_url=server_url,
            run_tests=False,
        )
        checked = time.perf_counter() - started
        if not report.ok:
            raise SystemExit(f"The sandbox check of {name} failed:\n{report.as_text()}")

        write_app_package(files=files, out_dir=folder / "bare" / label)
        apps = {label: folder / "bare" / label}
        with scratch_database(server_url, folder, "bare") as database_url:
            started = time.perf_counter()
            for args in (["makemigrations", label], ["migrate", "--noinput"]):
                process = sandbox_run_manage(apps=apps, args=args, database_url=database_url)
                if process.returncode != 0:
                    raise SystemExit(f"Bare {args[0]} of {name} failed:\n{process.stderr}")
            bare = time.perf_counter() - started
    steps = {step.name: step.duration for step in report.steps}
    return {
        "files": len(files),
        "lines": sum(text.count("\n") for text in files.values()),
        "compile": compiled,
        "factory": checked,
        "makemigrations": steps["makemigrations"],
        "migrate": steps["migrate"],
        "bare": bare,
        "ratio": (compiled + checked) / bare,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=60)
    parser.add_argument("--database-url", default=None, help="A PostgreSQL server URL.")
    options = parser.parse_args()
    cases = [
        ("template", template_app_spec(), "bench_template"),
        (f"{options.entities} entities", wide_spec(options.entities), "bench_wide"),
    ]
    database = "PostgreSQL" if options.database_url else "SQLite"
    print(f"Compile + migration time on {database} (seconds; ratio = factory / bare Django)")
    header = (
        f"{'spec':<14}{'files':>6}{'lines':>7}{'compile':>9}{'sandbox':>9}"
        f"{'(mkmig':>8}{'migrate)':>9}{'bare':>8}{'ratio':>7}"
    )
    print(header)
    for name, spec, label in cases:
        row = bench_one(name, spec, label, options.database_url)
        print(
            f"{name:<14}{row['files']:>6}{row['lines']:>7}{row['compile']:>9.2f}"
            f"{row['factory']:>9.2f}{row['makemigrations']:>8.2f}{row['migrate']:>9.2f}"
            f"{row['bare']:>8.2f}{row['ratio']:>7.2f}"
        )
    print(
        "sandbox = one subprocess: import every module, check, makemigrations, migrate;"
        " bare = makemigrations and migrate as two manage.py subprocesses."
    )


if __name__ == "__main__":
    main()
