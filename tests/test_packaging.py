"""How the project installs: its dependencies only, never its own packages.

The project's Django app is called ``factory``, like factory-boy's top-level package. A
wheel that carried our packages would overwrite factory-boy's files in site-packages on a
plain ``pip install .`` (the Dockerfile's install), and every compiled app would then fail
its sandbox check. The sandbox also runs each release's generated tests with pytest, in
production, so pytest must be a runtime dependency.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _runtime_requirement_names() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {
        re.split(r"[<>=\[;! ]", line, maxsplit=1)[0].lower() for line in project["dependencies"]
    }


def test_the_wheel_carries_no_python_package(tmp_path: Path) -> None:
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    for package in ("config", "crm", "factory"):
        # Decoys: a wheel built from the real checkout would find these folders.
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--wheel-dir",
            str(tmp_path / "dist"),
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "dist").glob("crm_factory-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert [n for n in names if not n.startswith("crm_factory-")] == []


def test_what_the_sandbox_runs_in_production_is_a_runtime_dependency() -> None:
    assert {"pytest", "pytest-django", "factory-boy"} <= _runtime_requirement_names()
