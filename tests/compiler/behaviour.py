"""Run a behaviour script inside a compiled template app, through the real sandbox.

Tests of the crm kit use it to show that a tenant's generated admin behaves like the base
CRM: the script (under ``tests/compiler/scripts/``) becomes one more test module of the
compiled app, and the sandbox runs it with the app's generated tests on its own tables.
"""

from __future__ import annotations

from pathlib import Path

from factory.compiler import compile_app_spec, generated_test_count, write_app_package
from factory.sandbox import sandbox_check_app
from factory.spec.template import template_app_spec

SCRIPTS = Path(__file__).parent / "scripts"


def template_app_behaviour_passed(
    *, tmp_path: Path, app_label: str, script: str, prefix: str
) -> list[str]:
    """Compile the template spec as ``app_label`` with ``script`` added, run the sandbox,
    check that every test passed, and return the names of the script's tests (those
    starting with ``prefix``), sorted."""
    files = compile_app_spec(spec=template_app_spec(), app_label=app_label)
    files[f"tests/test_{Path(script).stem}.py"] = (SCRIPTS / script).read_text()
    app_dir = tmp_path / app_label
    write_app_package(files=files, out_dir=app_dir)

    report = sandbox_check_app(app_dir=app_dir, app_label=app_label)

    assert report.ok, report.as_text()
    assert report.tests.passed == report.tests.total
    generated = generated_test_count(spec=template_app_spec(), app_label=app_label)
    passed = sorted(name for name in report.tests.passed_names if name.startswith(prefix))
    assert report.tests.total == generated + len(passed), report.as_text()
    return passed
