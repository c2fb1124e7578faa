"""Stages changed in a later spec reach the database, found by their keys (the spec's ids).

A recruiting app whose candidates move through a hiring pipeline, with an automation on
entering the "hired" stage, is created and evolved in scratch processes. A stage added in
a new spec version appears after migrate, a renamed stage keeps its row and its records,
and the automation still fires once its stage was renamed. The last test deploys a new
version without the evolution's data step: the kit's ``post_migrate`` sync alone brings
the stages in line. The last ones edit stages and options as an admin would: a migrate
keeps the edits, and a new spec version changes only the values the admin left alone.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from factory.evolution.plan import MigrationPlan
from factory.evolution.services import app_code_write, app_evolve, app_step_run
from factory.sandbox import sandbox_run_script
from factory.spec.models import (
    AutomationSpec,
    ChoiceOptionSpec,
    CreateTaskAction,
    PipelineSpec,
    StageEnteredTrigger,
    StageSpec,
)
from tests.evolution.conftest import EVOLVING_APP, uses_postgres
from tests.evolution.specs import recruiting_spec

MOVES_SCRIPT = Path(__file__).with_name("scripts") / "pipeline_moves.py"
MOVES_MARKER = "PIPELINE-MOVES "
EDITS_SCRIPT = Path(__file__).with_name("scripts") / "admin_edits.py"
EDITS_MARKER = "ADMIN-EDITS "
HIRING_STAGES = [
    ("hiring_new", "New"),
    ("hiring_screening", "Screening"),
    ("hiring_hired", "Hired"),
]


def hiring_spec():
    """The evolution tests' recruiting app, its candidates moving through a hiring pipeline."""
    spec = recruiting_spec()
    spec.entity("candidate").stage_field = "step"
    spec.pipelines.append(
        PipelineSpec(
            id="hiring",
            entity="candidate",
            name="Hiring",
            is_default=True,
            stages=[
                StageSpec(id=key, name=name, kind="won" if key == "hiring_hired" else "open")
                for key, name in HIRING_STAGES
            ],
        )
    )
    spec.automations.append(
        AutomationSpec(
            id="contract_on_hire",
            name="Contract when hired",
            entity="candidate",
            trigger=StageEnteredTrigger(stage="hiring_hired"),
            actions=[CreateTaskAction(title="Send the contract")],
        )
    )
    return spec


def stage_of(spec, key: str) -> StageSpec:
    return next(stage for stage in spec.pipelines[0].stages if stage.id == key)


def _hiring_app_create(app_dir, database_url) -> None:
    app_evolve(
        old=None,
        new=hiring_spec(),
        app_label=EVOLVING_APP,
        app_dir=app_dir,
        database_url=database_url,
    )


@pytest.fixture(scope="module")
def hiring_sqlite_original(tmp_path_factory):
    """On SQLite the app is created once; each test works on a copy of its folder and file."""
    if uses_postgres():
        return None
    root = tmp_path_factory.mktemp("hiring")
    database = root / "db.sqlite3"
    _hiring_app_create(root / EVOLVING_APP, f"sqlite:///{database}")
    return root / EVOLVING_APP, database


@pytest.fixture
def hiring_app(hiring_sqlite_original, app_dir, evolution_database_url):
    if hiring_sqlite_original is None:
        _hiring_app_create(app_dir, evolution_database_url)
    else:
        original_dir, original_database = hiring_sqlite_original
        shutil.copytree(original_dir, app_dir)
        shutil.copyfile(original_database, evolution_database_url.removeprefix("sqlite:///"))
    return hiring_spec()


def moves(app_dir, database_url, actions: list[list[str]]) -> dict[str, Any]:
    process = sandbox_run_script(
        apps={EVOLVING_APP: app_dir},
        script=MOVES_SCRIPT,
        args=[EVOLVING_APP, json.dumps(actions)],
        database_url=database_url,
    )
    for line in reversed(process.stdout.splitlines()):
        if line.startswith(MOVES_MARKER):
            return json.loads(line.removeprefix(MOVES_MARKER))
    raise AssertionError(f"the moves script gave no report:\n{process.stderr[-3000:]}")


def stage_rows(values) -> dict[str, dict[str, Any]]:
    """Stage rows of a dump, by primary key."""
    return values["Stage"]


def evolve(old, new, app_dir, database_url):
    return app_evolve(
        old=old,
        new=new,
        app_label=EVOLVING_APP,
        app_dir=app_dir,
        database_url=database_url,
        dump=True,
    )


def test_a_stage_added_in_a_new_spec_version_appears_after_migrate(
    hiring_app, app_dir, evolution_database_url
):
    old = hiring_app
    new = old.model_copy(deep=True)
    new.pipelines[0].stages.insert(2, StageSpec(id="hiring_interview", name="Interview"))

    report = evolve(old, new, app_dir, evolution_database_url)

    stages = sorted(stage_rows(report.step.values).values(), key=lambda row: int(row["order"]))
    assert [(row["key"], row["name"], row["order"]) for row in stages] == [
        ("hiring_new", "New", "0"),
        ("hiring_screening", "Screening", "1"),
        ("hiring_interview", "Interview", "2"),
        ("hiring_hired", "Hired", "3"),
    ]
    assert [row["key"] for row in report.step.values["Pipeline"].values()] == ["hiring"]


def test_a_renamed_stage_keeps_its_row_and_its_records(hiring_app, app_dir, evolution_database_url):
    old = hiring_app
    placed = moves(
        app_dir,
        evolution_database_url,
        [["create", "Ada", "hiring_screening"], ["create", "Alan", "hiring_screening"]],
    )
    assert placed["candidates"] == {"Ada": "hiring_screening", "Alan": "hiring_screening"}
    before = stage_rows(app_step_run_dump(app_dir, evolution_database_url))
    screening_pk = next(pk for pk, row in before.items() if row["key"] == "hiring_screening")
    new = old.model_copy(deep=True)
    stage_of(new, "hiring_screening").name = "Phone screen"

    report = evolve(old, new, app_dir, evolution_database_url)

    after = stage_rows(report.step.values)
    assert sorted(after) == sorted(before)  # same rows: none added, none removed
    assert (after[screening_pk]["key"], after[screening_pk]["name"]) == (
        "hiring_screening",
        "Phone screen",
    )
    candidates = report.step.values["Candidate"].values()
    assert sorted((row["full_name"], row["step"]) for row in candidates) == [
        ("Ada", screening_pk),
        ("Alan", screening_pk),
    ]


def test_an_automation_on_a_stage_fires_after_the_stage_was_renamed(
    hiring_app, app_dir, evolution_database_url
):
    old = hiring_app
    new = old.model_copy(deep=True)
    stage_of(new, "hiring_hired").name = "Signed"
    evolve(old, new, app_dir, evolution_database_url)

    report = moves(
        app_dir,
        evolution_database_url,
        [
            ["create", "Ada", "hiring_new"],
            ["move", "Ada", "hiring_screening"],
            ["create", "Grace", "hiring_new"],
            ["move", "Ada", "hiring_hired"],
        ],
    )

    assert ["hiring_hired", "Signed", 2] in report["stages"]
    assert report["candidates"] == {"Ada": "hiring_hired", "Grace": "hiring_new"}
    assert report["tasks"] == [["Send the contract", "Ada"]]


def test_without_the_evolution_data_step_the_kit_sync_alone_brings_the_stages(
    hiring_app, app_dir, evolution_database_url
):
    """A release deployed with a bare migrate: post_migrate installs the spec by key."""
    old = hiring_app
    new = old.model_copy(deep=True)
    stage_of(new, "hiring_hired").name = "Signed"
    new.pipelines[0].stages.insert(1, StageSpec(id="hiring_call", name="First call"))
    new.pipelines[0].name = "Hiring 2026"

    app_code_write(spec=new, app_label=EVOLVING_APP, app_dir=app_dir)
    values = app_step_run_dump(app_dir, evolution_database_url)

    stages = sorted(stage_rows(values).values(), key=lambda row: int(row["order"]))
    assert [(row["key"], row["name"]) for row in stages] == [
        ("hiring_new", "New"),
        ("hiring_call", "First call"),
        ("hiring_screening", "Screening"),
        ("hiring_hired", "Signed"),
    ]
    pipelines = list(values["Pipeline"].values())
    assert [(row["key"], row["name"]) for row in pipelines] == [("hiring", "Hiring 2026")]
    report = moves(
        app_dir,
        evolution_database_url,
        [["create", "Ada", "hiring_call"], ["move", "Ada", "hiring_hired"]],
    )
    assert report["tasks"] == [["Send the contract", "Ada"]]


def app_step_run_dump(app_dir, database_url):
    """Migrate with the app's current code (no data step) and dump every value."""
    step = app_step_run(
        app_dir=app_dir,
        plan=MigrationPlan(app_label=EVOLVING_APP),
        database_url=database_url,
        dump=True,
    )
    assert step.migrations == []  # the stages live in rows, not in the schema
    return step.values


def admin_edits(app_dir, database_url, edits: list[list[Any]]) -> dict[str, Any]:
    process = sandbox_run_script(
        apps={EVOLVING_APP: app_dir},
        script=EDITS_SCRIPT,
        args=[EVOLVING_APP, json.dumps(edits)],
        database_url=database_url,
    )
    for line in reversed(process.stdout.splitlines()):
        if line.startswith(EDITS_MARKER):
            return json.loads(line.removeprefix(EDITS_MARKER))
    raise AssertionError(f"the edits script gave no report:\n{process.stderr[-3000:]}")


ADMIN_EDITS = [
    ["Stage", {"key": "hiring_screening"}, {"name": "Phone screen", "probability": 15}],
    [
        "ChoiceOption",
        {"choice_list__key": "seniority", "value": "senior"},
        {"label": "Senior developer", "colour": "#123456"},
    ],
]


def test_a_migrate_keeps_what_an_admin_edited(hiring_app, app_dir, evolution_database_url):
    admin_edits(app_dir, evolution_database_url, ADMIN_EDITS)

    app_step_run_dump(app_dir, evolution_database_url)

    after = admin_edits(app_dir, evolution_database_url, [])
    assert after["stages"] == [
        ["hiring_new", "New", 0, 0],
        ["hiring_screening", "Phone screen", 15, 1],
        ["hiring_hired", "Hired", 0, 2],
    ]
    assert after["options"] == [
        ["junior", "Junior", "#6c757d", 0],
        ["senior", "Senior developer", "#123456", 1],
        ["lead", "Lead developer", "#6c757d", 2],
    ]


def test_a_new_spec_version_changes_only_the_values_the_admin_left_alone(
    hiring_app, app_dir, evolution_database_url
):
    old = hiring_app
    admin_edits(app_dir, evolution_database_url, ADMIN_EDITS)
    new = old.model_copy(deep=True)
    stage_of(new, "hiring_new").name = "Applied"
    stage_of(new, "hiring_screening").name = "Screening call"
    stage_of(new, "hiring_screening").probability = 20
    new.pipelines[0].stages.insert(2, StageSpec(id="hiring_interview", name="Interview"))
    seniority = next(item for item in new.choice_lists if item.key == "seniority")
    seniority.options[0].label = "Junior developer"
    seniority.options[1].label = "Senior engineer"
    seniority.options.append(ChoiceOptionSpec(value="principal", label="Principal"))

    evolve(old, new, app_dir, evolution_database_url)

    after = admin_edits(app_dir, evolution_database_url, [])
    assert after["stages"] == [
        ["hiring_new", "Applied", 0, 0],
        ["hiring_screening", "Phone screen", 15, 1],
        ["hiring_interview", "Interview", 0, 2],
        ["hiring_hired", "Hired", 0, 3],
    ]
    assert after["options"] == [
        ["junior", "Junior developer", "#6c757d", 0],
        ["senior", "Senior developer", "#123456", 1],
        ["lead", "Lead developer", "#6c757d", 2],
        ["principal", "Principal", "#6c757d", 3],
    ]
