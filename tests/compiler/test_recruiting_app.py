"""A spec with every field type, automations and hostile strings, compiled and run.

The sandbox check proves it imports, passes ``check``, migrates and passes its generated
tests; the models' descriptions and behaviour tests run by the same check prove that every
user-written string arrives verbatim and that computed fields and automations behave.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from factory.compiler import compile_app_spec, generated_test_count, write_app_package
from factory.sandbox import sandbox_check_app
from tests.compiler.specs import HOSTILE, recruiting_spec

LABEL = "t_recruit"
BEHAVIOUR = Path(__file__).with_name("scripts") / "recruiting_behaviour.py"
BEHAVIOUR_TESTS = [
    "test_starting_data_keeps_the_names_of_the_spec",
    "test_computed_fields_compute",
    "test_a_new_application_gets_the_created_task",
    "test_entering_the_hired_stage_sets_the_billing_date_and_adds_a_task",
    "test_moving_to_another_stage_does_not_bill",
    "test_a_salary_change_flags_only_above_the_condition",
    "test_tag_changes_appear_in_the_timeline_of_the_app",
]
EXPECTED = {
    "client_status_labels": [HOSTILE[1], HOSTILE[3]],
    "pipeline_name": HOSTILE[4],
    "stage_names": [HOSTILE[1], "Screening", HOSTILE[0], HOSTILE[2]],
    "groups": [f"{LABEL}: Viewer", f"{LABEL}: {HOSTILE[1]}"],
    "own": [f"{LABEL}: {HOSTILE[1]}"],
    "created_task": HOSTILE[6],
    "hired_task": HOSTILE[5],
}


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory):
    """The compiled app, plus behaviour tests that the sandbox runs with the generated ones."""
    folder = tmp_path_factory.mktemp("recruiting") / LABEL
    files = compile_app_spec(spec=recruiting_spec(), app_label=LABEL)
    files["tests/test_behaviour.py"] = BEHAVIOUR.read_text()
    files["tests/recruiting_expected.json"] = json.dumps(EXPECTED)
    write_app_package(files=files, out_dir=folder)
    return folder


@pytest.fixture(scope="module")
def report(app_dir):
    return sandbox_check_app(app_dir=app_dir, app_label=LABEL, describe_models=True)


def test_the_app_passes_every_sandbox_step(report):
    expected = generated_test_count(spec=recruiting_spec(), app_label=LABEL) + len(BEHAVIOUR_TESTS)

    assert report.ok, report.as_text()
    assert (report.tests.total, report.tests.passed) == (expected, expected)


def test_the_check_never_writes_into_the_checked_folder(report, app_dir):
    assert not (app_dir / "migrations").exists()
    assert not list(app_dir.rglob("__pycache__"))


def test_labels_and_help_texts_arrive_verbatim(report):
    client = report.models["Client"]

    assert client["verbose_name"] == HOSTILE[0]
    assert client["verbose_name_plural"] == HOSTILE[1]
    assert client["fields"]["name"]["verbose_name"] == HOSTILE[2]
    assert client["fields"]["website"]["help_text"] == HOSTILE[3]
    assert client["fields"]["terms"]["verbose_name"] == HOSTILE[4]
    assert report.models["Candidate"]["fields"]["phone"]["help_text"] == HOSTILE[5]
    assert report.models["Opening"]["fields"]["title"]["verbose_name"] == HOSTILE[7]


def test_every_field_type_becomes_its_model_field(report):
    candidate = report.models["Candidate"]["fields"]
    opening = report.models["Opening"]["fields"]
    classes = {
        name: field["class"]
        for name, field in {**candidate, **report.models["Client"]["fields"]}.items()
    }

    assert classes["skills"] == "MultipleChoiceListField"
    assert classes["resume"] == "FileField"
    assert classes["last_contacted"] == "DateTimeField"
    assert classes["email"] == "EmailField"
    assert classes["website"] == "URLField"
    assert classes["status"] == "ChoiceListField"
    assert classes["active"] == "BooleanField"
    assert classes["terms"] == "TextField"
    assert (candidate["email"]["unique"], candidate["email"]["null"]) == (True, True)
    assert opening["shortlist"]["through"] is None
    assert opening["placed"]["through"] == "Placement"
    assert opening["client"]["on_delete"] == "CASCADE"
    application = report.models["Application"]["fields"]
    assert (application["step"]["related_model"], application["step"]["on_delete"]) == (
        "Stage",
        "PROTECT",
    )
    assert report.models["Application"]["pipeline_stage_field"] == "step"


@pytest.mark.parametrize("name", BEHAVIOUR_TESTS)
def test_the_app_behaves_as_its_spec_says(report, name):
    """Starting data, computed fields and the three automation triggers (see the module
    ``scripts/recruiting_behaviour.py``, run inside the sandbox)."""
    assert f"RecruitingBehaviourTests.{name}" in report.tests.passed_names, report.as_text()
