"""The questioner answers Django's autodetector from the plan, and only from the plan.

These run the real ``MigrationAutodetector`` on hand-built model states in the test
process: no subprocess, no database.
"""

from __future__ import annotations

import pytest
from django.db import models
from django.db.migrations.autodetector import MigrationAutodetector
from django.db.migrations.state import ModelState, ProjectState

from factory.evolution.scratch.evolution_makemigrations import (
    field_renames_state,
    model_renames_state,
)
from factory.evolution.scratch.evolution_questioner import QuestionUnanswered, SpecDiffQuestioner

LABEL = "evo"


def _plan(**parts):
    return {
        "app_label": LABEL,
        "renamed_models": [],
        "renamed_fields": [],
        "replaced_fields": [],
        "fills": [],
        **parts,
    }


def _state(model_name, fields, options=None):
    state = ProjectState()
    state.add_model(
        ModelState(
            LABEL,
            model_name,
            [("id", models.BigAutoField(primary_key=True)), *fields],
            options=options or {},
        )
    )
    return state


def _operations(from_state, to_state, plan):
    questioner = SpecDiffQuestioner(plan=plan, specified_apps={LABEL})
    changes = MigrationAutodetector(from_state, to_state, questioner)._detect_changes()
    operations = [op for migration in changes.get(LABEL, []) for op in migration.operations]
    return [type(op).__name__ for op in operations], operations, questioner


def _candidate(salary_name="salary", title=None):
    return [
        (salary_name, models.IntegerField(null=True, blank=True)),
        ("title", title or models.CharField(max_length=100, blank=True)),
    ]


def test_a_planned_field_rename_becomes_rename_field():
    plan = _plan(renamed_fields=[{"model": "Candidate", "old": "salary", "new": "pay"}])

    names, operations, questioner = _operations(
        _state("Candidate", _candidate()), _state("Candidate", _candidate("pay")), plan
    )

    assert names == ["RenameField"]
    assert (operations[0].old_name, operations[0].new_name) == ("salary", "pay")
    assert questioner.answers == [
        {"question": "Was field candidate.salary renamed to pay?", "answer": "True"}
    ]


def test_without_a_planned_rename_the_questioner_says_no():
    """The same shapes, but the diff says the ids differ: drop and add, as the spec says."""
    names, _ops, questioner = _operations(
        _state("Candidate", _candidate()), _state("Candidate", _candidate("pay")), _plan()
    )

    assert sorted(names) == ["AddField", "RemoveField"]
    assert [answer["answer"] for answer in questioner.answers] == ["False"]


def test_a_planned_model_rename_becomes_rename_model():
    plan = _plan(renamed_models=[{"old": "Candidate", "new": "Applicant"}])

    names, operations, _questioner = _operations(
        _state("Candidate", _candidate()), _state("Applicant", _candidate()), plan
    )

    assert names == ["RenameModel"]
    assert (operations[0].old_name, operations[0].new_name) == ("Candidate", "Applicant")


def test_a_new_required_field_gets_the_plans_fill_value():
    plan = _plan(fills=[{"model": "Candidate", "field": "level", "value": "junior"}])
    new_fields = [*_candidate(), ("level", models.CharField(max_length=20))]

    names, operations, _questioner = _operations(
        _state("Candidate", _candidate()), _state("Candidate", new_fields), plan
    )

    assert names == ["AddField"]
    assert (operations[0].field.default, operations[0].preserve_default) == ("junior", False)


def test_a_new_required_field_without_fill_is_refused_with_a_sentence():
    new_fields = [*_candidate(), ("level", models.CharField(max_length=20))]

    with pytest.raises(QuestionUnanswered) as refused:
        _operations(_state("Candidate", _candidate()), _state("Candidate", new_fields), _plan())

    assert str(refused.value) == (
        "Field level on candidate needs a value for the rows that already exist, and the spec"
        " gives none. Give the field a default in the spec, or a value for the existing rows,"
        " or make it optional."
    )


def test_a_nullable_field_made_required_gets_the_fill_value():
    plan = _plan(fills=[{"model": "Candidate", "field": "salary", "value": 0}])
    required = [
        ("salary", models.IntegerField()),
        ("title", models.CharField(max_length=100, blank=True)),
    ]

    names, operations, _questioner = _operations(
        _state("Candidate", _candidate()), _state("Candidate", required), plan
    )

    assert names == ["AlterField"]
    assert (operations[0].field.default, operations[0].preserve_default) == (0, False)


def test_rename_and_type_change_at_once_is_split_in_two_steps():
    """Django asks nothing when the renamed field also changes: the step state fixes that."""
    old = _state("Candidate", _candidate(), options={"ordering": ["-salary"]})
    new = _state(
        "Candidate",
        [
            ("pay", models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)),
            ("title", models.CharField(max_length=100, blank=True)),
        ],
        options={"ordering": ["-pay"]},
    )
    plan = _plan(renamed_fields=[{"model": "Candidate", "old": "salary", "new": "pay"}])
    single_step, _ops, _q = _operations(old, new, plan)
    assert sorted(single_step) == ["AddField", "AlterModelOptions", "RemoveField"]

    step_state = field_renames_state(old, plan)
    first, _ops, _q = _operations(old, step_state, plan)
    second, second_ops, _q = _operations(step_state, new, plan)

    assert first == ["AlterModelOptions", "RenameField"]
    assert second == ["AlterField"]
    assert second_ops[0].name == "pay"


def test_model_rename_step_keeps_fields():
    plan = _plan(renamed_models=[{"old": "Candidate", "new": "Applicant"}])

    state = model_renames_state(_state("Candidate", _candidate()), plan)

    assert list(state.models) == [(LABEL, "applicant")]
    assert list(state.models[LABEL, "applicant"].fields) == ["id", "salary", "title"]


def test_replaced_field_is_dropped_in_the_step_state_with_its_index():
    index = models.Index(fields=["title"], name="evo_title_idx")
    old = _state("Candidate", _candidate(), options={"indexes": [index], "ordering": ["title"]})
    plan = _plan(replaced_fields=[{"model": "Candidate", "field": "title"}])

    state = field_renames_state(old, plan)

    model_state = state.models[LABEL, "candidate"]
    assert list(model_state.fields) == ["id", "salary"]
    assert model_state.options["indexes"] == []
    assert model_state.options["ordering"] == []
