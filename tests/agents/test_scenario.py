"""The scripted recruitment scenario builds a valid recruitment CRM through the harness."""

from __future__ import annotations

import pytest

from factory.agents.models import AgentRun, AgentTurn
from factory.agents.scenarios.recruitment import recruitment_scenario_run
from factory.spec.template import template_app_spec
from factory.spec.validation import validate_app_spec

pytestmark = pytest.mark.django_db


def test_recruitment_scenario_runs_every_role_to_a_valid_spec():
    outcome = recruitment_scenario_run(spec=template_app_spec())

    assert [run.role for run in outcome.runs] == [
        "analyst",
        "architect",
        "data_model",
        "process",
        "automations",
        "screens",
        "api_roles",
        "qa",
    ]
    assert {run.status for run in outcome.runs} == {"finished"}
    assert validate_app_spec(outcome.spec) == []
    entity_ids = [entity.id for entity in outcome.spec.entities]
    assert entity_ids[-4:] == ["candidate", "campaign", "job_role", "application"]
    pipeline = next(p for p in outcome.spec.pipelines if p.id == "application_steps")
    assert [stage.kind for stage in pipeline.stages].count("lost") == 2
    assert outcome.spec.automations[0].trigger.stage == "application_hired"
    # One refused call in the whole scenario, repaired on the next turn.
    data_model = outcome.runs[2]
    assert data_model.turns_count == 7
    errors = [
        (turn.run.role, turn.index, reply["content"])
        for turn in AgentTurn.objects.select_related("run")
        for reply in turn.replies
        if reply["is_error"]
    ]
    assert errors == [
        (
            "data_model",
            2,
            "Invalid arguments for entity_add: entity.fields[candidate_title].name: 'Title' is "
            "not a valid name or id: use lowercase ASCII letters, digits and underscores, "
            "starting with a letter (at most 63 characters), for example 'title'.",
        )
    ]
    assert [run.pending for run in outcome.runs] == [[]] * 8
    assert set(AgentTurn.objects.values_list("provider", flat=True)) == {"scripted"}
    assert AgentRun.objects.count() == 8
