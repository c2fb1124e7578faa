"""The compiled template: it passes the sandbox (SQLite and PostgreSQL) and equals ``crm/``.

Proves the issue's requirement that the base CRM and the compiled template agree: each
model of ``crm`` and of the compiled template has the same fields, field by field (the
compiled app is described by the sandbox process, since it cannot be installed here).
"""

from __future__ import annotations

import pytest

from factory.compiler import compile_app_spec, generated_test_count, write_app_package
from factory.sandbox import sandbox_check_app
from factory.sandbox.scratch.sandbox_introspect import app_models_describe
from factory.spec.template import template_app_spec
from tests.compiler.conftest import postgres_server_url

LABEL = "t_template"
# What defines a column and a relation; verbose names and help texts may differ.
COMPARED = (
    "class",
    "internal_type",
    "null",
    "blank",
    "unique",
    "db_index",
    "max_length",
    "max_digits",
    "decimal_places",
    "choice_list",
    "related_model",
    "on_delete",
    "related_name",
    "through",
)


def compiled_template(folder):
    files = compile_app_spec(spec=template_app_spec(), app_label=LABEL)
    write_app_package(files=files, out_dir=folder / LABEL)
    return folder / LABEL


@pytest.fixture(scope="module")
def sqlite_report(tmp_path_factory):
    app_dir = compiled_template(tmp_path_factory.mktemp("template"))
    return sandbox_check_app(app_dir=app_dir, app_label=LABEL, describe_models=True)


def assert_passed_every_step(report):
    assert report.ok, report.as_text()
    assert [step.name for step in report.steps] == [
        "import",
        "check",
        "makemigrations",
        "migrate",
        "tests",
    ]
    expected = generated_test_count(spec=template_app_spec(), app_label=LABEL)
    assert (report.tests.total, report.tests.passed) == (expected, expected)
    assert list(report.migrations) == ["migrations/0001_initial.py"]


def test_the_compiled_template_passes_the_sandbox_on_sqlite(sqlite_report):
    assert_passed_every_step(sqlite_report)
    assert sqlite_report.database == "SQLite"
    assert sqlite_report.step("makemigrations").summary == "0001_initial.py"
    assert sqlite_report.step("tests").summary == "32 of 32 passed"


def test_its_admin_pages_and_api_crud_are_among_the_passed_tests(sqlite_report):
    passed = set(sqlite_report.tests.passed_names)
    for model, entity in (("Company", "company"), ("Contact", "contact"), ("Deal", "deal")):
        assert f"{model}Tests.test_admin_pages_answer" in passed
        for test in ("lists", "retrieves_a", "creates_a", "updates_a", "archives_a"):
            assert f"{model}Tests.test_api_{test}_{entity}" in passed
    for test in ("lists", "retrieves_a", "creates_a", "updates_a", "deletes_a"):
        assert f"DealContactTests.test_api_{test}_deal_contact" in passed
    assert {
        "KitPagesTests.test_admin_pages_answer",
        "KitPagesTests.test_api_lists_answer",
    } <= passed
    assert "DealTests.test_moves_through_every_stage" in passed
    assert len(passed) == sqlite_report.tests.total


@pytest.mark.services
def test_the_compiled_template_passes_the_sandbox_on_postgresql(tmp_path):
    server_url = postgres_server_url()
    app_dir = compiled_template(tmp_path)

    report = sandbox_check_app(app_dir=app_dir, app_label=LABEL, database_url=server_url)

    assert_passed_every_step(report)
    assert report.database == "PostgreSQL"


def test_crm_and_the_compiled_template_have_the_same_models(sqlite_report):
    crm = app_models_describe("crm")

    assert sorted(sqlite_report.models) == sorted(crm)


def test_crm_and_the_compiled_template_agree_field_by_field(sqlite_report):
    crm = app_models_describe("crm")
    differences = []
    for model, description in sorted(crm.items()):
        compiled = sqlite_report.models[model]
        if sorted(compiled["fields"]) != sorted(description["fields"]):
            differences.append((model, sorted(compiled["fields"]), sorted(description["fields"])))
            continue
        for name, crm_field in description["fields"].items():
            for key in COMPARED:
                if compiled["fields"][name][key] != crm_field[key]:
                    differences.append(
                        (model, name, key, crm_field[key], compiled["fields"][name][key])
                    )
        for key in ("base", "pipeline_stage_field"):
            if compiled[key] != description[key]:
                differences.append((model, key, description[key], compiled[key]))

    assert differences == []


def test_the_comparison_covers_every_field_of_the_template(sqlite_report):
    """Guards the test above against comparing nothing."""
    deal = sqlite_report.models["Deal"]["fields"]

    assert deal["amount"]["max_digits"] == 14
    assert deal["stage"]["related_model"] == "Stage"
    assert deal["stage"]["on_delete"] == "PROTECT"
    assert deal["contacts"]["through"] == "DealContact"
    assert deal["currency"]["choice_list"] == "currency"
    assert sum(len(model["fields"]) for model in sqlite_report.models.values()) == 161
    assert len(sqlite_report.models) == 18
