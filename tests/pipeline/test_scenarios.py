"""The shipped scenarios still play: the demo's recording replays to a preview, and every
eval case's hand-authored script reaches a preview that passes its acceptance checks.

A failure here after a prompt, tool or template change means the scripts or the recording
must follow it (`factory demo --rerecord` records the demo again from its script).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from factory.agents.models import AgentRun
from factory.agents.selectors import agent_run_operations
from factory.pipeline.demo import RECORDING_PATH, SCENARIO_PATH
from factory.pipeline.evaluation import acceptance_failures
from factory.pipeline.models import RequestState
from factory.pipeline.scenarios import scenario_load, scenario_run, scenarios_in
from factory.spec.models import AppSpec

EVALS = Path(__file__).resolve().parent.parent.parent / "evals"

pytestmark = pytest.mark.usefixtures("spec_only_builder")


def play(scenario, send, builder, config, slug="scenario", name=None):
    from factory.tenants.services import tenant_create

    tenant = tenant_create(slug=slug, name=name or scenario.title)
    asked = []
    change_request = scenario_run(
        scenario=scenario,
        tenant=tenant,
        builder=builder,
        provider_config=config,
        send=send,
        on_questions=lambda questions, answers: asked.append(len(questions)),
    )
    return change_request, asked


def test_the_demo_recording_replays_to_a_preview(send, builder):
    scenario = scenario_load(SCENARIO_PATH)

    change_request, asked = play(
        scenario,
        send,
        builder,
        {"kind": "replay", "path": str(RECORDING_PATH)},
        slug=scenario.tenant_slug,
        name=scenario.tenant_name,
    )

    assert change_request.state == RequestState.PREVIEW, change_request.error
    assert asked == [5]
    assert set(AgentRun.objects.values_list("provider", flat=True)) == {"replay"}
    spec = AppSpec.model_validate(change_request.release.spec)
    assert acceptance_failures(scenario.checks, spec=spec, release=change_request.release) == []
    waves = {task.key: task.wave for task in change_request.tasks.all()}
    assert waves == {
        "data_model": 1,
        "process": 2,
        "automations": 3,
        "screens": 3,
        "api_roles": 3,
    }
    # The billing automation is the automations specialist's work, after the pipeline's.
    automations = AgentRun.objects.get(role="automations")
    assert [operation.tool for operation in agent_run_operations(run=automations)] == [
        "automation_add"
    ]


@pytest.mark.parametrize("case", scenarios_in(EVALS), ids=lambda case: case.name)
def test_each_eval_case_script_passes_its_checks(case, send, builder):
    change_request, asked = play(
        case, send, builder, {"kind": "scripted", "script": dict(case.script)}
    )

    assert change_request.state == RequestState.PREVIEW, change_request.error
    assert asked, "each case asks the builder at least one question"
    spec = AppSpec.model_validate(change_request.release.spec)
    assert acceptance_failures(case.checks, spec=spec, release=change_request.release) == []


def test_there_are_six_eval_cases_of_different_businesses():
    names = [case.name for case in scenarios_in(EVALS)]

    assert sorted(names) == [
        "bike_rental",
        "clinic",
        "hotel",
        "lettings_agency",
        "preschool",
        "recruitment_agency",
    ]
