"""The migration plan: the questioner's answers built from a diff, or sentences refusing it."""

from __future__ import annotations

import pytest

from factory.evolution.diff import spec_diff
from factory.evolution.plan import EvolutionRefused, MigrationPlan, migration_plan_build
from factory.spec.models import FieldSpec, StageSpec
from factory.spec.template import template_app_spec
from tests.evolution.specs import field_of, recruiting_spec


def _plan(old, new, **options):
    return migration_plan_build(diff=spec_diff(old=old, new=new, **options), app_label="evo")


def test_renames_are_planned_with_the_new_model_name():
    old = recruiting_spec()
    new = old.model_copy(deep=True)
    new.entity("candidate").name = "Applicant"
    field_of(new, "candidate", "candidate_salary").name = "pay"

    plan = _plan(old, new)

    assert [(r.old, r.new) for r in plan.renamed_models] == [("Candidate", "Applicant")]
    assert [(r.model, r.old, r.new) for r in plan.renamed_fields] == [
        ("Applicant", "salary", "pay")
    ]
    assert plan.needs_rename_step
    assert not plan.needs_data_step


def test_text_to_choice_maps_values_and_labels_to_option_values():
    old = recruiting_spec()
    new = old.model_copy(deep=True)
    level = field_of(new, "candidate", "candidate_level")
    level.type, level.choice_list, level.max_length = "choice", "seniority", None

    (conversion,) = _plan(old, new).conversions

    assert (conversion.model, conversion.field, conversion.fallback) == (
        "Candidate",
        "level",
        None,
    )
    assert conversion.mapping == {
        "junior": "junior",
        "senior": "senior",
        "lead developer": "lead",
        "lead": "lead",
    }


def test_a_required_field_without_value_is_refused_and_a_fill_value_answers_it():
    old = recruiting_spec()
    new = old.model_copy(deep=True)
    new.entity("client").fields.append(
        FieldSpec(id="client_since", name="since", label="since", type="date", required=True)
    )

    with pytest.raises(EvolutionRefused) as refused:
        _plan(old, new)
    assert refused.value.problems == [
        "Adds required field since (date) to Client, with no default — existing rows need a"
        " value. Give field since a default in the spec, or a value for the existing rows, or"
        " make it optional."
    ]

    plan = _plan(old, new, fill_values={"client_since": "2024-01-31"})
    fill = plan.fill_for("client", "since")
    assert (fill.model, fill.field, fill.value) == ("Client", "since", "2024-01-31")


def test_a_text_field_made_required_replaces_blank_values_in_the_data_step():
    old = recruiting_spec()
    new = old.model_copy(deep=True)
    field_of(new, "candidate", "candidate_title").required = True

    plan = _plan(old, new, fill_values={"candidate_title": "unknown"})

    assert [(f.model, f.field, f.value) for f in plan.blank_replacements] == [
        ("Candidate", "title", "unknown")
    ]
    assert plan.needs_data_step


def test_optional_text_fields_answer_blank_when_django_asks():
    plan = _plan(recruiting_spec(), recruiting_spec())

    assert plan.fill_for("Candidate", "title").value == ""
    assert plan.fill_for("Candidate", "salary") is None  # a number has no blank value


def test_pipeline_and_stage_renames_are_synced_by_name():
    old = template_app_spec()
    new = old.model_copy(deep=True)
    pipeline = new.pipelines[0]
    old_first = pipeline.stages[0].name
    pipeline.stages[0].name = "First call"
    pipeline.stages.append(StageSpec(id="extra_stage", name="Extra"))
    new.entity("deal").name = "Opportunity"

    plan = _plan(old, new)

    synced = plan.pipelines[0]
    assert (synced["entity_old"], synced["entity"]) == ("deal", "opportunity")
    assert synced["stages"][0] == {
        "old_name": old_first,
        "name": "First call",
        "kind": pipeline.stages[0].kind.value,
        "probability": pipeline.stages[0].probability,
    }
    assert synced["stages"][-1]["old_name"] is None


def test_plan_survives_its_json_round_trip():
    old = recruiting_spec()
    new = old.model_copy(deep=True)
    new.entity("candidate").name = "Applicant"
    level = field_of(new, "candidate", "candidate_level")
    level.type, level.choice_list, level.max_length = "choice", "seniority", None

    plan = _plan(old, new)

    assert MigrationPlan.from_json(plan.to_json()) == plan
