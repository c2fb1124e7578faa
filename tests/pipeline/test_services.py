"""The pipeline's states, from a request to a preview, with scripted agents in-process."""

from __future__ import annotations

import pytest

from factory.agents.models import AgentRun
from factory.pipeline import services
from factory.pipeline.models import (
    Answer,
    AnswerSource,
    ChangeRequest,
    PlanTask,
    Question,
    RequestState,
    TaskStatus,
)
from factory.pipeline.services import PipelineRefused
from factory.spec.models import AppSpec
from factory.tenants.models import TenantRelease
from tests.pipeline import scripts

pytestmark = pytest.mark.usefixtures("spec_only_builder")


def create(send, tenant, builder, **overrides):
    change_request, steps = services.change_request_create(
        tenant=tenant,
        builder=builder,
        text=scripts.REQUEST,
        provider_config=scripts.scripted(**overrides),
    )
    send(steps)
    change_request.refresh_from_db()
    return change_request


def answer(send, change_request, builder, answers):
    send(
        services.change_request_answer(
            change_request=change_request, answers=answers, actor=builder
        )
    )
    change_request.refresh_from_db()
    return change_request


def test_a_request_asks_questions_then_builds_a_preview(send, tenant, builder):
    change_request = create(send, tenant, builder)

    assert change_request.state == RequestState.AWAITING_ANSWERS
    types, deposit = change_request.questions.order_by("position")
    assert (types.round, types.text, types.blocking) == (1, "Which bike types do you rent?", False)
    assert types.options == ["City and electric.", "City, electric and mountain."]
    assert types.default == "City and electric."
    assert (deposit.blocking, deposit.default, deposit.options) == (True, "No.", [])

    change_request = answer(send, change_request, builder, {deposit.pk: "Yes, 50 euros."})

    assert change_request.state == RequestState.PREVIEW, change_request.error
    assert {(q.answer.text, q.answer.source) for q in Question.objects.filter(round=1)} == {
        ("City and electric.", AnswerSource.DEFAULT),
        ("Yes, 50 euros.", AnswerSource.BUILDER),
    }
    assert change_request.assumptions == [
        "One shop only.",
        "Which bike types do you rent? → City and electric.",
    ]
    tasks = {
        task.key: (task.wave, task.status, task.attempts) for task in change_request.tasks.all()
    }
    assert tasks == {
        "bikes": (1, TaskStatus.DONE, 1),
        "screens": (2, TaskStatus.DONE, 1),
        "api": (2, TaskStatus.DONE, 1),
    }
    release = change_request.release
    assert (release.number, release.status) == (1, "preview")
    bike = AppSpec.model_validate(release.spec).entity("bike")
    assert bike.admin.list_display == ["code", "daily_rate"]
    assert bike.api.search_fields == ["code"]
    assert "[safe] Adds entity Bike with 2 fields." in change_request.summary
    assert "Which bike types do you rent? → City and electric." in change_request.summary
    slots = list(change_request.agent_steps.order_by("id").values_list("slot", flat=True))
    assert slots == [
        "analyst:1",
        "analyst:2",
        "architect",
        "task:bikes#1",
        "task:screens#1",
        "task:api#1",
        "qa:1",
    ]
    assert set(AgentRun.objects.values_list("provider", flat=True)) == {"scripted"}


def test_questions_past_five_become_assumptions(send, tenant, builder):
    many = [
        {"question": f"Question number {n}?", "why": "It matters.", "suggested_answer": f"A{n}"}
        for n in range(1, 8)
    ]
    change_request = create(send, tenant, builder, **{"analyst:1": scripts.analyst(many)})

    assert change_request.questions.count() == 5
    assert change_request.assumptions == [
        "One shop only.",
        "Question number 6? → A6",
        "Question number 7? → A7",
    ]


def test_the_analyst_is_told_the_builders_language(send, tenant, builder):
    _change_request, steps = services.change_request_create(
        tenant=tenant,
        builder=builder,
        text=scripts.REQUEST,
        language="fr",
        provider_config=scripts.scripted(),
    )
    send(steps)

    run = AgentRun.objects.get(pipeline_step__slot="analyst:1")
    assert "The builder's language is French (fr)" in run.task
    assert "at most 5 questions" in run.task


def test_a_blocking_question_must_be_answered_and_nothing_is_written(send, tenant, builder):
    change_request = create(send, tenant, builder)
    types = change_request.questions.get(position=1)

    with pytest.raises(PipelineRefused, match="Question 2 is blocking"):
        services.change_request_answer(
            change_request=change_request, answers={types.pk: "City only."}, actor=builder
        )

    change_request.refresh_from_db()
    assert change_request.state == RequestState.AWAITING_ANSWERS
    assert Answer.objects.count() == 0


def test_answers_naming_another_requests_questions_are_refused(
    send, tenant, builder, other_tenant, other_builder
):
    mine = create(send, tenant, builder)
    theirs = create(send, other_tenant, other_builder)
    their_question = theirs.questions.first()

    with pytest.raises(PipelineRefused, match="not open questions of request"):
        services.change_request_answer(
            change_request=mine, answers={their_question.pk: "Hijack."}, actor=builder
        )

    assert Answer.objects.count() == 0


def test_invalid_edits_three_times_fail_the_request_and_leave_the_tenant_untouched(
    send, tenant, builder
):
    invalid = {
        "calls": [{"field_add": {"entity": "bike", "field": {"id": "x", "name": "Bad Name"}}}]
    }
    change_request = create(send, tenant, builder, task_bikes=[invalid, invalid, invalid])
    change_request = answer(
        send, change_request, builder, {change_request.questions.get(position=2).pk: "No."}
    )

    assert change_request.state == RequestState.FAILED
    assert change_request.error.startswith(
        "The data model specialist could not make valid edits for task bikes after 3 attempts; "
        "the last one ended with: Stopped: the model made the same call (field_add) 3 turns in a "
        "row without progress."
    )
    assert "Nothing was changed in Velo Rent: it has no live release yet" in change_request.error
    task = change_request.tasks.get(key="bikes")
    assert (task.status, task.attempts) == (TaskStatus.FAILED, 3)
    assert list(change_request.agent_steps.filter(task=task).values_list("slot", flat=True)) == [
        "task:bikes#1",
        "task:bikes#2",
        "task:bikes#3",
    ]
    assert TenantRelease.objects.filter(tenant=tenant).count() == 0
    assert change_request.tasks.filter(status=TaskStatus.RUNNING).count() == 0


def test_patches_that_conflict_run_again_on_the_merged_spec(send, tenant, builder):
    def columns(names):
        return [
            {"calls": [{"admin_options_update": {"entity": "bike", "list_display": names}}]},
            scripts.finish("Columns."),
        ]

    change_request = create(
        send,
        tenant,
        builder,
        architect=scripts.plan(
            scripts.task("bikes", "data_model"),
            scripts.task("list_a", "screens", ["bikes"]),
            scripts.task("list_b", "screens", ["bikes"]),
        ),
        task_list_a=columns(["code"]),
        task_list_b=columns(["code", "daily_rate"]),
    )
    change_request = answer(
        send, change_request, builder, {change_request.questions.get(position=2).pk: "No."}
    )

    assert change_request.state == RequestState.PREVIEW, change_request.error
    tasks = {task.key: (task.wave, task.attempts) for task in change_request.tasks.all()}
    assert tasks == {"bikes": (1, 1), "list_a": (2, 1), "list_b": (3, 2)}
    spec = AppSpec.model_validate(change_request.release.spec)
    assert spec.entity("bike").admin.list_display == ["code", "daily_rate"]
    run = AgentRun.objects.get(pipeline_step__slot="task:list_b#2")
    assert "task list_a changed entities/bike/admin/list_display too" in run.task


def test_qa_adds_tasks_for_the_gaps_it_finds(send, tenant, builder):
    gap = {
        "requirement": "R2",
        "problem": "Bikes cannot be searched by code.",
        "specialist": "screens",
        "instructions": "Add code to the bike search.",
    }
    change_request = create(
        send,
        tenant,
        builder,
        **{
            "qa:1": [
                {"calls": [{"finish": {"verdict": "repair", "covered": ["R1"], "gaps": [gap]}}]}
            ],
            "task:qa1_1": [
                {
                    "calls": [
                        {"admin_options_update": {"entity": "bike", "search_fields": ["code"]}}
                    ]
                },
                scripts.finish("Search by code."),
            ],
            "qa:2": scripts.QA_PASS,
        },
    )
    change_request = answer(
        send, change_request, builder, {change_request.questions.get(position=2).pk: "No."}
    )

    assert change_request.state == RequestState.PREVIEW, change_request.error
    added = change_request.tasks.get(key="qa1_1")
    assert (added.qa_round, added.specialist, added.status) == (1, "screens", TaskStatus.DONE)
    assert change_request.qa_round == 2
    assert change_request.qa_notes == []


def test_the_request_budget_stops_it_with_a_clear_message(send, tenant, builder, settings):
    settings.FACTORY_PIPELINE_MAX_AGENT_RUNS = 2
    change_request = create(send, tenant, builder)
    change_request = answer(
        send, change_request, builder, {change_request.questions.get(position=2).pk: "No."}
    )

    assert change_request.state == RequestState.FAILED
    assert change_request.error == (
        "The request needed more than 2 agent runs without finishing. Split it into smaller "
        "requests, or raise FACTORY_PIPELINE_MAX_AGENT_RUNS."
    )
    assert TenantRelease.objects.count() == 0


def test_failed_checks_fail_the_request_and_keep_the_failed_release(
    send, tenant, builder, settings
):
    settings.FACTORY_RELEASE_BUILDER = "tests.pipeline.builders.failing_release_build"
    change_request = create(send, tenant, builder)
    change_request = answer(
        send, change_request, builder, {change_request.questions.get(position=2).pk: "No."}
    )

    assert change_request.state == RequestState.FAILED
    assert change_request.error.startswith("The app built from the spec did not pass its checks")
    assert change_request.release.status == "failed"
    assert not TenantRelease.objects.filter(status__in=["live", "preview"]).exists()


def test_a_spec_upload_goes_to_the_same_checks_without_a_model(send, tenant, builder):
    from factory.spec.template import template_app_spec

    spec = template_app_spec()
    spec.entities[0].label = "client company"
    change_request, steps = services.change_request_create_from_spec(
        tenant=tenant, builder=builder, spec=spec
    )
    send(steps)
    change_request.refresh_from_db()

    assert (change_request.kind, change_request.state) == ("spec", RequestState.PREVIEW)
    assert AppSpec.model_validate(change_request.release.spec).entities[0].label == "client company"
    assert AgentRun.objects.count() == 0


def test_an_invalid_spec_upload_is_refused_before_anything_is_written(tenant, builder):
    from factory.spec.template import template_app_spec

    spec = template_app_spec()
    spec.entities[0].fields[0].name = "class"
    with pytest.raises(PipelineRefused, match="class"):
        services.change_request_create_from_spec(tenant=tenant, builder=builder, spec=spec)

    assert ChangeRequest.objects.count() == 0


def test_a_second_request_waits_for_the_first(send, tenant, builder):
    first = create(send, tenant, builder)

    with pytest.raises(PipelineRefused, match=f"Request #{first.pk} of Velo Rent is still"):
        services.change_request_create(
            tenant=tenant, builder=builder, text=scripts.REQUEST, provider_config=scripts.scripted()
        )

    assert ChangeRequest.objects.count() == 1


def test_a_delivered_twice_step_does_nothing_the_second_time(send, tenant, builder):
    change_request = create(send, tenant, builder)

    assert (
        services.change_request_analyse(change_request_id=change_request.pk, round_number=1) == []
    )

    assert change_request.questions.count() == 2
    assert AgentRun.objects.count() == 1


def test_a_cancelled_request_ignores_its_pending_steps(send, tenant, builder):
    change_request = create(send, tenant, builder)
    deposit = change_request.questions.get(position=2)
    steps = services.change_request_answer(
        change_request=change_request, answers={deposit.pk: "No."}, actor=builder
    )
    services.change_request_cancel(change_request=change_request, actor=builder)
    send(steps)

    change_request.refresh_from_db()
    assert change_request.state == RequestState.CANCELLED
    assert AgentRun.objects.count() == 1
    assert PlanTask.objects.count() == 0


def test_without_a_configured_model_the_request_fails_with_the_setting_to_set(
    send, tenant, builder, settings
):
    settings.FACTORY_LLM_PROVIDER = "openai"
    settings.OPENAI_API_KEY = ""
    change_request, steps = services.change_request_create(
        tenant=tenant, builder=builder, text=scripts.REQUEST
    )
    send(steps)  # a settings problem ends the request; it is not a crashed step

    change_request.refresh_from_db()
    assert change_request.state == RequestState.FAILED
    assert change_request.error == (
        "The analyst could not start because no model provider is ready: OPENAI_API_KEY is "
        "not set: set it, or choose another FACTORY_LLM_PROVIDER (anthropic, "
        "openai_compatible, replay). Send the request again once it is set."
    )


def test_a_run_over_its_token_budget_fails_the_request_at_once(send, tenant, builder, settings):
    settings.FACTORY_AGENT_MAX_INPUT_TOKENS = 50
    change_request, steps = services.change_request_create(
        tenant=tenant,
        builder=builder,
        text=scripts.REQUEST,
        provider_config={**scripts.scripted(), "count_tokens": True},
    )
    send(steps)
    change_request.refresh_from_db()
    change_request = answer(
        send, change_request, builder, {change_request.questions.get(position=2).pk: "No."}
    )

    assert change_request.state == RequestState.FAILED
    assert change_request.error.startswith(
        "The data model specialist ran out of budget on task bikes: Stopped: the run used "
    )
    assert "Nothing was changed in Velo Rent" in change_request.error
    assert change_request.tasks.get(key="bikes").attempts == 1
    assert TenantRelease.objects.count() == 0


class FakeRollbackPlan:
    def sentences(self):
        return ["Rolling bikes back from release 2 to release 1 restores …", "- bikes: 3 added"]


def deployed_request(tenant, builder):
    base = TenantRelease.objects.create(tenant=tenant, number=1, status="retired", spec={})
    release = TenantRelease.objects.create(
        tenant=tenant, number=2, status="live", spec={}, base_release=base
    )
    return ChangeRequest.objects.create(
        tenant=tenant, builder=builder, text=scripts.REQUEST, state="deployed", release=release
    )


def test_a_rollback_first_says_what_would_be_lost_then_rolls_back_when_confirmed(
    send, tenant, builder, monkeypatch
):
    from factory.tenants import services as tenant_services

    change_request = deployed_request(tenant, builder)
    monkeypatch.setattr(tenant_services, "rollback_plan", lambda **kwargs: FakeRollbackPlan())
    rolled = []

    def release_rollback(*, tenant, number=None, actor=None):
        rolled.append((tenant.slug, number))
        TenantRelease.objects.filter(number=2).update(status="retired")
        TenantRelease.objects.filter(number=1).update(status="live")
        return type("Outcome", (), {"ok": True, "error": ""})()

    monkeypatch.setattr(tenant_services, "release_rollback", release_rollback)

    with pytest.raises(PipelineRefused) as refused:
        services.change_request_rollback_request(change_request=change_request, actor=builder)
    assert refused.value.problems == [
        "Rolling bikes back from release 2 to release 1 restores …",
        "- bikes: 3 added",
        "Nothing was done: confirm the rollback to go ahead.",
    ]
    assert rolled == []

    send(
        services.change_request_rollback_request(
            change_request=change_request, actor=builder, confirm=True
        )
    )

    change_request.refresh_from_db()
    assert (change_request.state, change_request.step) == (RequestState.ROLLED_BACK, "")
    assert rolled == [("bikes", None)]


def test_only_the_request_whose_release_is_live_can_be_rolled_back(tenant, builder):
    change_request = deployed_request(tenant, builder)
    TenantRelease.objects.filter(number=2).update(status="retired")

    with pytest.raises(PipelineRefused, match="release is not the live one"):
        services.change_request_rollback_request(
            change_request=change_request, actor=builder, confirm=True
        )

    change_request.refresh_from_db()
    assert (change_request.state, change_request.step) == (RequestState.DEPLOYED, "")
