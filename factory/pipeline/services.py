"""Writes of the pipeline: create a change request, move it from state to state, run its
agents, merge their patches, build, deploy and roll back its release.

Every step function takes ids, checks that the request is still in the state the step
expects (so a step delivered twice, or after a cancel, does nothing), does its work, and
returns the ``Step`` objects to send next; the Celery tasks send them once the
transaction commits. Services never import the tasks. Agent runs are created once per
slot (``AgentStep``) and resumed from their last recorded turn, so a step that a dead
worker left half-done continues where it stopped. A request that cannot succeed ends
``failed`` with a sentence saying why, before anything of the tenant changed: the tenant
is only touched by ``release_build`` (a new release in preview) and ``release_deploy``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from factory.agents.models import AgentRun, AgentRunStatus
from factory.agents.outputs import AnalystReport, ArchitectPlan, QAVerdict
from factory.agents.services import agent_run_create, agent_run_execute
from factory.agents.tools import SpecOperation
from factory.llm.errors import ProviderConfigurationError
from factory.pipeline.merging import TaskPatch, patches_merge
from factory.pipeline.models import (
    AgentStep,
    Answer,
    AnswerSource,
    ChangeRequest,
    PlanTask,
    Question,
    RequestKind,
    RequestState,
    TaskStatus,
)
from factory.pipeline.providers import (
    default_provider_config,
    provider_config_check,
    step_provider,
)
from factory.pipeline.summary import change_summary_text, release_changes
from factory.spec.models import AppSpec
from factory.spec.validation import SpecInvalid, validate_app_spec
from factory.tenants.models import ReleaseStatus, Tenant, TenantRelease
from factory.tenants.selectors import release_live

logger = logging.getLogger(__name__)

MAX_QUESTIONS_PER_ROUND = 5
MAX_ANALYSIS_ROUNDS = 2
MAX_TASK_ATTEMPTS = 3
MAX_QA_ROUNDS = 2
MIN_REQUEST_LENGTH = 10
LANGUAGE_NAMES = {
    "en": "English",
    "fr": "French",
    "de": "German",
    "es": "Spanish",
    "it": "Italian",
    "nl": "Dutch",
    "pt": "Portuguese",
}
# Steps of a request whose work is under way (what a resume sends again).
STEP_ANALYSE = "analyse"
STEP_PLAN = "plan"
STEP_BUILD = "build"
STEP_QA = "qa"
STEP_RELEASE = "release"
STEP_DEPLOY = "deploy"
STEP_ROLLBACK = "rollback"


class PipelineRefused(Exception):
    """An action refused before anything changed; ``problems`` say why and what to do."""

    def __init__(self, *problems: str) -> None:
        self.problems = [problem for problem in problems if problem]
        super().__init__("\n".join(self.problems))


class StepRetry(Exception):
    """A step met a passing problem (the model provider failed): retry it later."""


@dataclass(frozen=True)
class Step:
    """A Celery step to send once the current transaction commits."""

    name: str  # analyse, plan, dispatch, specialists, merge, qa, release, deploy, rollback
    change_request_id: int
    number: int = 0  # the round or the wave the step is for
    task_ids: tuple[int, ...] = ()


# --- reading helpers --------------------------------------------------------------------


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code.split("-")[0].lower(), code)


def _locked(change_request_id: int) -> ChangeRequest:
    return (
        ChangeRequest.objects.select_for_update().select_related("tenant").get(pk=change_request_id)
    )


def _spec(data: Mapping[str, Any] | None) -> AppSpec:
    return AppSpec.model_validate(data)


def _template_spec() -> AppSpec:
    from factory.spec.template import template_app_spec

    return template_app_spec()


def requirements_text(change_request: ChangeRequest) -> str:
    return "\n".join(f"{item['id']}. {item['text']}" for item in change_request.requirements)


def answers_text(change_request: ChangeRequest) -> str:
    lines = []
    for question in change_request.questions.select_related("answer").order_by("round", "position"):
        answer = getattr(question, "answer", None)
        if answer is None:
            continue
        how = "assumed, nobody answered" if answer.source == AnswerSource.DEFAULT else "builder"
        lines.append(f"- {question.text} → {answer.text} ({how})")
    return "\n".join(lines) or "(no questions were asked)"


def changes_text(change_request: ChangeRequest) -> str:
    lines = []
    for task in change_request.tasks.filter(status=TaskStatus.DONE):
        tools = ", ".join(operation["tool"] for operation in task.patch) or "no edits"
        lines.append(f"- {task.key} ({task.specialist}): {task.report or task.title} [{tools}]")
    return "\n".join(lines) or "(no changes)"


def request_usage(change_request: ChangeRequest) -> dict[str, Any]:
    """Agent runs, turns, tokens and cost of the request so far."""
    runs = AgentRun.objects.filter(pipeline_step__change_request=change_request)
    totals = runs.aggregate(
        input_tokens=Sum("input_tokens"), output_tokens=Sum("output_tokens"), cost=Sum("cost")
    )
    return {
        "runs": runs.count(),
        "turns": sum(runs.values_list("turns_count", flat=True)),
        "input_tokens": totals["input_tokens"] or 0,
        "output_tokens": totals["output_tokens"] or 0,
        "cost": totals["cost"] or Decimal(0),
    }


def _request_budget_problem(change_request: ChangeRequest) -> str:
    limit = Decimal(str(settings.FACTORY_PIPELINE_MAX_COST_USD or 0))
    max_runs = int(settings.FACTORY_PIPELINE_MAX_AGENT_RUNS)
    usage = request_usage(change_request)
    if limit > 0 and usage["cost"] >= limit:
        return (
            f"The request used ${usage['cost']:.4f} of model time, over its budget of "
            f"${limit:.2f}. Split it into smaller requests, or raise "
            "FACTORY_PIPELINE_MAX_COST_USD."
        )
    if usage["runs"] >= max_runs:
        return (
            f"The request needed more than {max_runs} agent runs without finishing. Split it "
            "into smaller requests, or raise FACTORY_PIPELINE_MAX_AGENT_RUNS."
        )
    return ""


# --- failing, cancelling --------------------------------------------------------------------


def _untouched_words(change_request: ChangeRequest) -> str:
    live = release_live(tenant=change_request.tenant)
    where = f"release {live.number} stays live" if live else "it has no live release yet"
    return f"Nothing was changed in {change_request.tenant.name}: {where}, with its data as before."


@transaction.atomic
def change_request_fail(*, change_request_id: int, message: str) -> ChangeRequest:
    """End the request as failed with ``message`` (a request already ended stays as it is)."""
    change_request = _locked(change_request_id)
    if change_request.state in {RequestState.FAILED, RequestState.CANCELLED}:
        return change_request
    change_request.state = RequestState.FAILED
    change_request.error = message
    change_request.step = ""
    change_request.finished_at = timezone.now()
    change_request.save(update_fields=["state", "error", "step", "finished_at", "updated_at"])
    logger.info("Change request %s failed: %s", change_request_id, message)
    return change_request


def change_request_step_failed(*, change_request_id: int, error: BaseException) -> None:
    """A step raised after its retries: the request fails with the error, said plainly."""
    change_request = ChangeRequest.objects.filter(pk=change_request_id).first()
    if change_request is None or not (change_request.is_active or change_request.step):
        return
    detail = str(error).strip() or type(error).__name__
    change_request_fail(
        change_request_id=change_request_id,
        message=f"The {change_request.step or change_request.state} step failed: {detail} "
        f"{_untouched_words(change_request)}",
    )


@transaction.atomic
def change_request_cancel(*, change_request: ChangeRequest, actor: Any = None) -> ChangeRequest:
    locked = _locked(change_request.pk)
    if locked.state not in {
        RequestState.ANALYSING,
        RequestState.AWAITING_ANSWERS,
        RequestState.PLANNING,
        RequestState.BUILDING,
        RequestState.CHECKING,
        RequestState.PREVIEW,
    } or (locked.state == RequestState.PREVIEW and locked.step):
        raise PipelineRefused(
            f"Request #{locked.pk} is {locked.get_state_display().lower()}; only a request "
            "that is not deployed or ended can be cancelled."
        )
    locked.state = RequestState.CANCELLED
    locked.step = ""
    locked.finished_at = timezone.now()
    locked.save(update_fields=["state", "step", "finished_at", "updated_at"])
    return locked


# --- creating requests ----------------------------------------------------------------------


def _tenant_busy(tenant: Tenant) -> ChangeRequest | None:
    return (
        ChangeRequest.objects.filter(tenant=tenant)
        .exclude(
            state__in=[
                RequestState.DEPLOYED,
                RequestState.FAILED,
                RequestState.CANCELLED,
                RequestState.ROLLED_BACK,
            ]
        )
        .first()
    )


def _starting_point(tenant: Tenant) -> tuple[TenantRelease | None, dict[str, Any]]:
    live = release_live(tenant=tenant)
    return live, (live.spec if live else _template_spec().to_jsonable())


@transaction.atomic
def change_request_create(
    *,
    tenant: Tenant,
    builder: Any,
    text: str,
    language: str = "en",
    provider_config: Mapping[str, Any] | None = None,
    confirm_destructive: bool = False,
) -> tuple[ChangeRequest, list[Step]]:
    """A request in plain words; its first step is the analyst's."""
    text = (text or "").strip()
    problems = []
    if len(text) < MIN_REQUEST_LENGTH:
        problems.append(
            "Describe the change in a few sentences: what your business tracks, how work "
            "moves, who uses the CRM."
        )
    language = (language or "en").strip()
    if not language or len(language) > 16:
        problems.append("Give the language as a short code such as en, fr or de.")
    config = dict(provider_config if provider_config is not None else default_provider_config())
    try:
        provider_config_check(config)
    except Exception as error:
        problems.append(str(error))
    Tenant.objects.select_for_update().filter(pk=tenant.pk).first()
    busy = _tenant_busy(tenant)
    if busy is not None:
        problems.append(
            f"Request #{busy.pk} of {tenant.name} is still {busy.get_state_display().lower()}; "
            "deploy or cancel it before starting another."
        )
    if problems:
        raise PipelineRefused(*problems)
    live, spec = _starting_point(tenant)
    change_request = ChangeRequest.objects.create(
        tenant=tenant,
        builder=builder,
        kind=RequestKind.AGENTS,
        text=text,
        language=language,
        state=RequestState.ANALYSING,
        step=STEP_ANALYSE,
        analysis_round=1,
        base_release=live,
        spec_base=spec,
        spec_working=spec,
        provider_config=config,
        confirm_destructive=confirm_destructive,
    )
    return change_request, [Step("analyse", change_request.pk, number=1)]


@transaction.atomic
def change_request_create_from_spec(
    *, tenant: Tenant, builder: Any, spec: AppSpec, confirm_destructive: bool = False
) -> tuple[ChangeRequest, list[Step]]:
    """The direct path, without a model: the builder's own spec goes to the same checks,
    preview and deploy as the agents' work."""
    problems = validate_app_spec(spec)
    if problems:
        raise PipelineRefused(str(SpecInvalid(problems)))
    Tenant.objects.select_for_update().filter(pk=tenant.pk).first()
    busy = _tenant_busy(tenant)
    if busy is not None:
        raise PipelineRefused(
            f"Request #{busy.pk} of {tenant.name} is still {busy.get_state_display().lower()}; "
            "deploy or cancel it before uploading a spec."
        )
    live, base = _starting_point(tenant)
    data = spec.to_jsonable()
    change_request = ChangeRequest.objects.create(
        tenant=tenant,
        builder=builder,
        kind=RequestKind.SPEC,
        language=spec.language,
        state=RequestState.CHECKING,
        step=STEP_RELEASE,
        base_release=live,
        spec_base=base,
        spec_working=data,
        spec_uploaded=data,
        confirm_destructive=confirm_destructive,
    )
    return change_request, [Step("release", change_request.pk)]


# --- running agents -------------------------------------------------------------------------


def _prompt_context(change_request: ChangeRequest) -> dict[str, str]:
    return {
        "request": change_request.text,
        "requirements": requirements_text(change_request) or "(none yet)",
        "answers": answers_text(change_request),
        "changes": changes_text(change_request),
    }


def agent_step_run(
    *,
    change_request: ChangeRequest,
    slot: str,
    role: str,
    task_text: str,
    spec: AppSpec,
    plan_task: PlanTask | None = None,
) -> AgentRun:
    """Run (or resume) the agent of ``slot``; the run is created once, whoever asks first.

    A provider failure leaves the run resumable and raises ``StepRetry``; a request over
    its budget, or a model provider that is not configured, raises ``PipelineRefused``
    with the sentence to show.
    """
    with transaction.atomic():
        locked = _locked(change_request.pk)
        step = AgentStep.objects.filter(change_request=locked, slot=slot).select_related("run")
        existing = step.first()
        if existing is None:
            problem = _request_budget_problem(locked)
            if problem:
                raise PipelineRefused(problem)
            run = agent_run_create(
                role=role,
                task=task_text,
                spec=spec,
                prompt_context=_prompt_context(locked),
                context={"change_request": locked.pk, "slot": slot, "tenant": locked.tenant.slug},
            )
            existing = AgentStep.objects.create(
                change_request=locked, slot=slot, task=plan_task, run=run
            )
    run = existing.run
    if run.is_terminal:
        return run
    try:
        provider, prices = step_provider(
            config=change_request.provider_config, role=role, slot=slot, turns_done=run.turns_count
        )
    except ProviderConfigurationError as error:
        # Retrying cannot help until someone changes the settings: the request ends here,
        # with the sentence saying what to set, instead of a crashed step.
        raise PipelineRefused(
            f"The {role} could not start because no model provider is ready: {error} "
            "Send the request again once it is set."
        ) from error
    run = agent_run_execute(run_id=run.pk, provider=provider, prices=prices)
    if run.status == AgentRunStatus.FAILED:
        raise StepRetry(run.status_message)
    return run


def _stopped_words(run: AgentRun) -> str:
    return run.status_message or f"the run stopped ({run.get_status_display().lower()})"


# --- analysis and questions -----------------------------------------------------------------


def _analyst_task(change_request: ChangeRequest, round_number: int) -> str:
    language = language_name(change_request.language)
    lines = [
        f"Analyse the request of {change_request.tenant.name} (round {round_number} of at "
        f"most {MAX_ANALYSIS_ROUNDS}).",
        f"The builder's language is {language} ({change_request.language}): write the "
        "summary, requirements, questions, options and assumptions in it.",
        f"Ask at most {MAX_QUESTIONS_PER_ROUND} questions, the most important first.",
    ]
    if round_number > 1:
        lines += [
            "The builder answered your first questions (or left them to your suggested default):",
            answers_text(change_request),
            "Update the requirements with these answers. Ask again only what is still unclear "
            "and changes the CRM; usually nothing.",
        ]
    return "\n".join(lines)


def change_request_analyse(*, change_request_id: int, round_number: int) -> list[Step]:
    change_request = ChangeRequest.objects.select_related("tenant").get(pk=change_request_id)
    if (
        change_request.state != RequestState.ANALYSING
        or change_request.analysis_round != round_number
    ):
        return []
    try:
        run = agent_step_run(
            change_request=change_request,
            slot=f"analyst:{round_number}",
            role="analyst",
            task_text=_analyst_task(change_request, round_number),
            spec=_spec(change_request.spec_base),
        )
    except PipelineRefused as refused:
        change_request_fail(change_request_id=change_request_id, message=str(refused))
        return []
    if run.status != AgentRunStatus.FINISHED:
        change_request_fail(
            change_request_id=change_request_id,
            message=f"The analyst could not read the request: {_stopped_words(run)} "
            f"{_untouched_words(change_request)}",
        )
        return []
    return _analysis_apply(
        change_request_id, round_number, AnalystReport.model_validate(run.result)
    )


def _merge_unique(items: Sequence[str], more: Sequence[str]) -> list[str]:
    merged = list(items)
    for item in more:
        if item and item not in merged:
            merged.append(item)
    return merged


@transaction.atomic
def _analysis_apply(change_request_id: int, round_number: int, report: AnalystReport) -> list[Step]:
    change_request = _locked(change_request_id)
    if (
        change_request.state != RequestState.ANALYSING
        or change_request.analysis_round != round_number
    ):
        return []
    asked = report.questions[:MAX_QUESTIONS_PER_ROUND]
    # Questions past the limit are not asked: their suggested answers become assumptions.
    extra = [
        f"{question.question} → {question.suggested_answer or 'left open'}"
        for question in report.questions[MAX_QUESTIONS_PER_ROUND:]
    ]
    change_request.requirements = [item.model_dump(mode="json") for item in report.requirements]
    change_request.assumptions = _merge_unique(
        change_request.assumptions, [*report.assumptions, *extra]
    )
    if asked and not change_request.questions.filter(round=round_number).exists():
        for position, question in enumerate(asked, start=1):
            options = list(question.options)
            default = question.suggested_answer or (options[0] if options else "")
            if default and options and default not in options:
                options.insert(0, default)
            Question.objects.create(
                change_request=change_request,
                round=round_number,
                position=position,
                text=question.question,
                why=question.why,
                options=options,
                default=default,
                free_text=True,
                blocking=question.blocking,
            )
    if asked:
        change_request.state = RequestState.AWAITING_ANSWERS
        change_request.step = ""
        change_request.save()
        return []
    change_request.state = RequestState.PLANNING
    change_request.step = STEP_PLAN
    change_request.save()
    return [Step("plan", change_request.pk)]


def open_questions(change_request: ChangeRequest) -> list[Question]:
    return list(
        change_request.questions.filter(
            round=change_request.analysis_round, answer__isnull=True
        ).order_by("position")
    )


@transaction.atomic
def change_request_answer(
    *, change_request: ChangeRequest, answers: Mapping[int, str], actor: Any = None
) -> list[Step]:
    """Record the builder's answers to the open round (question id → text).

    Blocking questions must be answered; the others, left empty, take their suggested
    default and are listed as assumptions. Refused, with nothing written, when the request
    is not waiting for answers or an answer names a question of another round or request.
    """
    locked = _locked(change_request.pk)
    if locked.state != RequestState.AWAITING_ANSWERS:
        raise PipelineRefused(
            f"Request #{locked.pk} is {locked.get_state_display().lower()}, not waiting for "
            "answers."
        )
    questions = {question.pk: question for question in open_questions(locked)}
    unknown = sorted(str(key) for key in answers if int(key) not in questions)
    if unknown:
        raise PipelineRefused(
            f"Question(s) {', '.join(unknown)} are not open questions of request #{locked.pk}; "
            "answer the questions it shows."
        )
    given = {int(key): (text or "").strip() for key, text in answers.items()}
    problems = [
        f"Question {position} is blocking: answer it (“{question.text}”)."
        for position, question in enumerate(questions.values(), start=1)
        if question.blocking and not given.get(question.pk)
    ]
    problems += [
        f"The answer to question {position} is too long: keep it under 2,000 characters."
        for position, question in enumerate(questions.values(), start=1)
        if len(given.get(question.pk, "")) > 2000
    ]
    if problems:
        raise PipelineRefused(*problems)
    assumed = []
    for question in questions.values():
        text = given.get(question.pk, "")
        if text:
            Answer.objects.create(
                question=question, text=text, source=AnswerSource.BUILDER, answered_by=actor
            )
        else:
            Answer.objects.create(
                question=question,
                text=question.default or "no preference",
                source=AnswerSource.DEFAULT,
            )
            assumed.append(f"{question.text} → {question.default or 'no preference'}")
    locked.assumptions = _merge_unique(locked.assumptions, assumed)
    if locked.analysis_round < MAX_ANALYSIS_ROUNDS:
        locked.analysis_round += 1
        locked.state = RequestState.ANALYSING
        locked.step = STEP_ANALYSE
        locked.save()
        return [Step("analyse", locked.pk, number=locked.analysis_round)]
    locked.state = RequestState.PLANNING
    locked.step = STEP_PLAN
    locked.save()
    return [Step("plan", locked.pk)]


# --- planning -------------------------------------------------------------------------------


def planned_waves(tasks: Sequence[tuple[str, Sequence[str]]]) -> dict[str, int]:
    """Wave of each task: 1 without dependencies, else one after its latest dependency."""
    waves: dict[str, int] = {}
    for key, depends_on in tasks:
        waves[key] = 1 + max((waves.get(item, 0) for item in depends_on), default=0)
    return waves


def change_request_plan(*, change_request_id: int) -> list[Step]:
    change_request = ChangeRequest.objects.select_related("tenant").get(pk=change_request_id)
    if change_request.state != RequestState.PLANNING:
        return []
    try:
        run = agent_step_run(
            change_request=change_request,
            slot="architect",
            role="architect",
            task_text="Plan the changes as small tasks for the specialists, with their "
            "dependencies, then call finish with the plan.",
            spec=_spec(change_request.spec_base),
        )
    except PipelineRefused as refused:
        change_request_fail(change_request_id=change_request_id, message=str(refused))
        return []
    if run.status != AgentRunStatus.FINISHED:
        change_request_fail(
            change_request_id=change_request_id,
            message=f"The architect could not make a plan: {_stopped_words(run)} "
            f"{_untouched_words(change_request)}",
        )
        return []
    return _plan_apply(change_request_id, ArchitectPlan.model_validate(run.result))


@transaction.atomic
def _plan_apply(change_request_id: int, plan: ArchitectPlan) -> list[Step]:
    change_request = _locked(change_request_id)
    if change_request.state != RequestState.PLANNING:
        return []
    if not change_request.tasks.exists():
        waves = planned_waves([(task.id, task.depends_on) for task in plan.tasks])
        for position, task in enumerate(plan.tasks, start=1):
            PlanTask.objects.create(
                change_request=change_request,
                key=task.id,
                position=position,
                specialist=task.specialist,
                title=task.title,
                description=task.instructions,
                requirements=list(task.requirements),
                depends_on=list(task.depends_on),
                planned_wave=waves[task.id],
            )
    if plan.notes:
        change_request.assumptions = _merge_unique(
            change_request.assumptions, [f"Architect's note: {plan.notes}"]
        )
    change_request.state = RequestState.BUILDING
    change_request.step = STEP_BUILD
    change_request.save()
    return [Step("dispatch", change_request.pk)]


# --- building: waves of specialists ---------------------------------------------------------


@transaction.atomic
def change_request_dispatch(*, change_request_id: int) -> list[Step]:
    """Send the next wave: every pending task whose dependencies are done. With none left,
    hand over to QA. Sent twice, it sends the running wave again (its tasks are idempotent)."""
    change_request = _locked(change_request_id)
    if change_request.state != RequestState.BUILDING:
        return []
    tasks = list(change_request.tasks.order_by("position"))
    running = [task.pk for task in tasks if task.status == TaskStatus.RUNNING]
    if running:
        return [Step("specialists", change_request.pk, change_request.wave, tuple(running))]
    if change_request.merged_wave < change_request.wave:
        return [Step("merge", change_request.pk, number=change_request.wave)]
    done = {task.key for task in tasks if task.status == TaskStatus.DONE}
    pending = [task for task in tasks if task.status == TaskStatus.PENDING]
    ready = [task for task in pending if set(task.depends_on) <= done]
    if pending and not ready:
        waiting = ", ".join(task.key for task in pending)
        return _fail_now(
            change_request,
            f"Tasks {waiting} wait for tasks that did not complete. "
            f"{_untouched_words(change_request)}",
        )
    if not ready:
        change_request.state = RequestState.CHECKING
        change_request.qa_round += 1
        change_request.step = STEP_QA
        change_request.save()
        return [Step("qa", change_request.pk, number=change_request.qa_round)]
    change_request.wave += 1
    change_request.save(update_fields=["wave", "updated_at"])
    for task in ready:
        task.status = TaskStatus.RUNNING
        task.wave = change_request.wave
        task.attempts += 1
        task.save(update_fields=["status", "wave", "attempts"])
    return [
        Step(
            "specialists",
            change_request.pk,
            change_request.wave,
            tuple(task.pk for task in ready),
        )
    ]


def _fail_now(change_request: ChangeRequest, message: str) -> list[Step]:
    change_request.state = RequestState.FAILED
    change_request.error = message
    change_request.step = ""
    change_request.finished_at = timezone.now()
    change_request.save()
    return []


def _specialist_task_text(task: PlanTask) -> str:
    lines = [f"Task {task.key}: {task.title}.", task.description]
    if task.requirements:
        lines.append(f"Requirements served: {', '.join(task.requirements)}.")
    if task.attempts > 1 and task.error:
        lines.append(
            f"This is attempt {task.attempts}: the previous one did not succeed ({task.error}). "
            "Start again from the spec as it is now."
        )
    return "\n".join(lines)


def _pending_words(run: AgentRun) -> list[str]:
    return [
        f"{item['tool']} ({item.get('destructive') or 'destructive'})" for item in run.pending or []
    ]


def plan_task_work(*, change_request_id: int, task_id: int) -> list[Step]:
    """One specialist's attempt at one task; the last task of its wave to finish sends the
    merge."""
    task = PlanTask.objects.select_related("change_request__tenant").get(pk=task_id)
    change_request = task.change_request
    if change_request.state != RequestState.BUILDING or task.status != TaskStatus.RUNNING:
        return []
    attempt = task.attempts
    try:
        run = agent_step_run(
            change_request=change_request,
            slot=f"task:{task.key}#{attempt}",
            role=task.specialist,
            task_text=_specialist_task_text(task),
            spec=_spec(change_request.spec_working),
            plan_task=task,
        )
    except PipelineRefused as refused:
        change_request_fail(
            change_request_id=change_request.pk,
            message=f"{refused} {_untouched_words(change_request)}",
        )
        return []
    return _task_outcome_apply(change_request.pk, task.pk, attempt, run)


@transaction.atomic
def _task_outcome_apply(
    change_request_id: int, task_id: int, attempt: int, run: AgentRun
) -> list[Step]:
    change_request = _locked(change_request_id)
    task = PlanTask.objects.select_for_update().get(pk=task_id)
    if (
        change_request.state != RequestState.BUILDING
        or task.status != TaskStatus.RUNNING
        or task.attempts != attempt
    ):
        return []
    specialist = task.get_specialist_display().lower()
    if run.status == AgentRunStatus.FINISHED:
        task.status = TaskStatus.DONE
        task.patch = list(run.patch)
        task.report = (run.result or {}).get("summary", "")
        pending = _pending_words(run)
        if pending:
            change_request.qa_notes = _merge_unique(
                change_request.qa_notes,
                [f"Task {task.key} left edits for you to confirm: {', '.join(pending)}"],
            )
            change_request.save(update_fields=["qa_notes", "updated_at"])
        task.error = ""
    elif run.status == AgentRunStatus.BUDGET:
        task.status = TaskStatus.FAILED
        task.error = _stopped_words(run)
        task.save()
        return _fail_now(
            change_request,
            f"The {specialist} specialist ran out of budget on task {task.key}: "
            f"{task.error} {_untouched_words(change_request)}",
        )
    else:
        task.error = _stopped_words(run)
        if task.attempts >= MAX_TASK_ATTEMPTS:
            task.status = TaskStatus.FAILED
            task.save()
            return _fail_now(
                change_request,
                f"The {specialist} specialist could not make valid edits for task {task.key} "
                f"after {task.attempts} attempts; the last one ended with: {task.error} "
                f"{_untouched_words(change_request)} Rephrase the request, or upload the "
                "spec yourself.",
            )
        task.status = TaskStatus.PENDING
    task.save()
    if change_request.tasks.filter(status=TaskStatus.RUNNING).exists():
        return []
    return [Step("merge", change_request.pk, number=change_request.wave)]


@transaction.atomic
def change_request_merge(*, change_request_id: int, wave: int) -> list[Step]:
    """Merge the patches of a finished wave into the request's spec; a task whose patch
    conflicts with another goes back to pending, to run again on the merged spec."""
    change_request = _locked(change_request_id)
    if change_request.state != RequestState.BUILDING:
        return []
    if change_request.merged_wave >= wave:
        return [Step("dispatch", change_request.pk)]
    if change_request.tasks.filter(status=TaskStatus.RUNNING).exists():
        return []
    done = list(change_request.tasks.filter(status=TaskStatus.DONE, wave=wave).order_by("position"))
    outcome = patches_merge(
        _spec(change_request.spec_working),
        [
            TaskPatch(
                key=task.key,
                operations=tuple(SpecOperation.model_validate(item) for item in task.patch),
            )
            for task in done
        ],
    )
    for task in done:
        reason = outcome.conflicts.get(task.key)
        if reason is None:
            continue
        task.error = f"conflict: {reason}"
        if task.attempts >= MAX_TASK_ATTEMPTS:
            task.status = TaskStatus.FAILED
            task.save()
            return _fail_now(
                change_request,
                f"Task {task.key} kept conflicting with other tasks ({reason}). "
                f"{_untouched_words(change_request)}",
            )
        task.status = TaskStatus.PENDING
        task.save()
    change_request.spec_working = outcome.spec.to_jsonable()
    change_request.merged_wave = wave
    change_request.save(update_fields=["spec_working", "merged_wave", "updated_at"])
    return [Step("dispatch", change_request.pk)]


# --- QA, then the release -------------------------------------------------------------------


def change_request_qa(*, change_request_id: int, round_number: int) -> list[Step]:
    change_request = ChangeRequest.objects.select_related("tenant").get(pk=change_request_id)
    if (
        change_request.state != RequestState.CHECKING
        or change_request.step != STEP_QA
        or change_request.qa_round != round_number
    ):
        return []
    try:
        run = agent_step_run(
            change_request=change_request,
            slot=f"qa:{round_number}",
            role="qa",
            task_text="Check every requirement against the spec and give your verdict.",
            spec=_spec(change_request.spec_working),
        )
    except PipelineRefused as refused:
        change_request_fail(change_request_id=change_request_id, message=str(refused))
        return []
    return _qa_apply(change_request_id, round_number, run)


@transaction.atomic
def _qa_apply(change_request_id: int, round_number: int, run: AgentRun) -> list[Step]:
    change_request = _locked(change_request_id)
    if change_request.state != RequestState.CHECKING or change_request.qa_round != round_number:
        return []
    if run.status != AgentRunStatus.FINISHED:
        # QA that could not finish does not block a valid build; the builder is told.
        change_request.qa_notes = _merge_unique(
            change_request.qa_notes, [f"The QA check did not finish: {_stopped_words(run)}"]
        )
        verdict = None
    else:
        verdict = QAVerdict.model_validate(run.result)
    if verdict is not None and verdict.verdict == "repair":
        if round_number < MAX_QA_ROUNDS:
            position = change_request.tasks.count()
            for number, gap in enumerate(verdict.gaps, start=1):
                PlanTask.objects.get_or_create(
                    change_request=change_request,
                    key=f"qa{round_number}_{number}",
                    defaults={
                        "position": position + number,
                        "specialist": gap.specialist,
                        "title": f"Fix {gap.requirement}: {gap.problem}"[:200],
                        "description": gap.instructions,
                        "requirements": [gap.requirement],
                        "qa_round": round_number,
                        "planned_wave": change_request.wave + 1,
                    },
                )
            change_request.state = RequestState.BUILDING
            change_request.step = STEP_BUILD
            change_request.save()
            return [Step("dispatch", change_request.pk)]
        change_request.qa_notes = _merge_unique(
            change_request.qa_notes,
            [f"{gap.requirement}: {gap.problem}" for gap in verdict.gaps],
        )
    change_request.step = STEP_RELEASE
    change_request.save()
    return [Step("release", change_request.pk)]


def _release_step_fail(change_request: ChangeRequest, message: str) -> list[Step]:
    """End the release step without a build. A release that a killed worker left building
    in an earlier try of this step is settled here, as no build follows to settle it."""
    from factory.tenants.services import releases_interrupted_settle

    releases_interrupted_settle(tenant=change_request.tenant)
    change_request_fail(change_request_id=change_request.pk, message=message)
    return []


def change_request_release(*, change_request_id: int) -> list[Step]:
    """Validate, compile and check the spec (separate processes) into a preview release.

    A try of this step whose worker was killed mid-build left its release ``building``; the
    next try's build marks it failed (``release_build`` settles interrupted releases).
    """
    from factory.tenants.services import TenantRefused, release_build

    change_request = ChangeRequest.objects.select_related("tenant", "builder").get(
        pk=change_request_id
    )
    if change_request.state != RequestState.CHECKING or change_request.step != STEP_RELEASE:
        return []
    tenant = change_request.tenant
    live = release_live(tenant=tenant)
    if (live.pk if live else None) != change_request.base_release_id:
        return _release_step_fail(
            change_request,
            f"{tenant.name} deployed release {live.number if live else '(none)'} while "
            "this request was being built, so its result would undo that release. Nothing was "
            "changed; submit the request again to build on the live release.",
        )
    spec = _spec(change_request.spec_working)
    problems = validate_app_spec(spec)
    if problems:
        return _release_step_fail(
            change_request,
            f"The merged spec is not valid: {SpecInvalid(problems)} "
            f"{_untouched_words(change_request)}",
        )
    try:
        outcome = release_build(
            tenant=tenant,
            spec=spec,
            actor=change_request.builder,
            confirm_destructive=change_request.confirm_destructive,
        )
    except TenantRefused as refused:
        return _release_step_fail(change_request, f"{refused} {_untouched_words(change_request)}")
    release = outcome.release
    if not outcome.ok:
        ChangeRequest.objects.filter(pk=change_request_id).update(release=release)
        what = (
            "passed its checks but its preview could not be prepared"
            if release.check_ok
            else "did not pass its checks"
        )
        change_request_fail(
            change_request_id=change_request_id,
            message=f"The app built from the spec {what} (release {release.number} is kept as "
            f"failed, with its report). {_untouched_words(change_request)}"
            + (f" {outcome.preview_note}" if outcome.preview_note else "")
            + f"\n{release.error[-2000:]}",
        )
        return []
    _release_apply(change_request_id, release)
    return []


@transaction.atomic
def _release_apply(change_request_id: int, release: TenantRelease) -> None:
    change_request = _locked(change_request_id)
    if change_request.state != RequestState.CHECKING:
        return
    first = change_request.base_release_id is None
    changes, counted = release_changes(
        base_spec=_spec(change_request.spec_base),
        spec=_spec(release.spec),
        migration_plan=release.migration_plan,
        first_release=first,
    )
    change_request.release = release
    change_request.summary = change_summary_text(
        tenant_name=change_request.tenant.name,
        release_number=release.number,
        changes=changes,
        counted=counted,
        first_release=first,
        assumptions=change_request.assumptions,
        open_points=change_request.qa_notes,
    )
    change_request.state = RequestState.PREVIEW
    change_request.step = ""
    change_request.save()


# --- deploy and rollback --------------------------------------------------------------------


@transaction.atomic
def change_request_deploy_request(
    *, change_request: ChangeRequest, actor: Any = None
) -> list[Step]:
    locked = _locked(change_request.pk)
    if locked.state != RequestState.PREVIEW or locked.release is None:
        raise PipelineRefused(
            f"Request #{locked.pk} is {locked.get_state_display().lower()}; only a request in "
            "preview can be deployed."
        )
    if locked.step == STEP_DEPLOY:
        return []  # already on its way
    if locked.release.status != ReleaseStatus.PREVIEW:
        raise PipelineRefused(
            f"Release {locked.release.number} is no longer in preview "
            f"({locked.release.get_status_display().lower()}); submit the request again."
        )
    locked.step = STEP_DEPLOY
    locked.save(update_fields=["step", "updated_at"])
    return [Step("deploy", locked.pk)]


def change_request_deploy(*, change_request_id: int) -> list[Step]:
    from factory.tenants.services import TenantRefused, release_deploy

    change_request = ChangeRequest.objects.select_related("tenant", "release").get(
        pk=change_request_id
    )
    if change_request.state != RequestState.PREVIEW or change_request.step != STEP_DEPLOY:
        return []
    release = change_request.release
    assert release is not None, "a request in preview has its release"
    if release.status == ReleaseStatus.LIVE:  # deployed, then the worker died
        _deployed_apply(change_request_id)
        return []
    try:
        outcome = release_deploy(
            tenant=change_request.tenant, number=release.number, actor=change_request.builder
        )
    except TenantRefused as refused:
        change_request_fail(change_request_id=change_request_id, message=str(refused))
        return []
    if not outcome.ok:
        change_request_fail(
            change_request_id=change_request_id,
            message=f"The deploy of release {release.number} failed; the tenant stays on its "
            f"previous release with its data as before.\n{outcome.error[-2000:]}",
        )
        return []
    _deployed_apply(change_request_id)
    return []


@transaction.atomic
def _deployed_apply(change_request_id: int) -> None:
    change_request = _locked(change_request_id)
    change_request.state = RequestState.DEPLOYED
    change_request.step = ""
    change_request.error = ""
    change_request.finished_at = timezone.now()
    change_request.save()


def change_request_rollback_plan(*, change_request: ChangeRequest) -> Any:
    """What rolling back this request's release would restore and lose (reads only)."""
    from factory.tenants.services import TenantRefused, rollback_plan

    live = release_live(tenant=change_request.tenant)
    if (
        change_request.state != RequestState.DEPLOYED
        or live is None
        or live.pk != change_request.release_id
    ):
        raise PipelineRefused(
            f"Request #{change_request.pk}'s release is not the live one; only the request "
            "whose release is live can be rolled back."
        )
    try:
        return rollback_plan(tenant=change_request.tenant)
    except TenantRefused as refused:
        raise PipelineRefused(*refused.problems) from refused


@transaction.atomic
def change_request_rollback_request(
    *, change_request: ChangeRequest, actor: Any = None, confirm: bool = False
) -> list[Step]:
    locked = _locked(change_request.pk)
    plan = change_request_rollback_plan(change_request=locked)
    if not confirm:
        raise PipelineRefused(
            *plan.sentences(), "Nothing was done: confirm the rollback to go ahead."
        )
    if locked.step == STEP_ROLLBACK:
        return []
    locked.step = STEP_ROLLBACK
    locked.save(update_fields=["step", "updated_at"])
    return [Step("rollback", locked.pk)]


def change_request_rollback(*, change_request_id: int) -> list[Step]:
    from factory.tenants.services import TenantRefused, release_rollback

    change_request = ChangeRequest.objects.select_related("tenant").get(pk=change_request_id)
    if change_request.state != RequestState.DEPLOYED or change_request.step != STEP_ROLLBACK:
        return []
    try:
        outcome = release_rollback(tenant=change_request.tenant)
    except TenantRefused as refused:
        _rollback_stop(change_request_id, str(refused))
        return []
    if not outcome.ok:
        _rollback_stop(
            change_request_id,
            f"The rollback failed; the release stays live with its data: {outcome.error[-2000:]}",
        )
        return []
    with transaction.atomic():
        locked = _locked(change_request_id)
        locked.state = RequestState.ROLLED_BACK
        locked.step = ""
        locked.error = ""
        locked.finished_at = timezone.now()
        locked.save()
    return []


@transaction.atomic
def _rollback_stop(change_request_id: int, message: str) -> None:
    locked = _locked(change_request_id)
    locked.step = ""
    locked.error = message
    locked.save(update_fields=["step", "error", "updated_at"])


# --- resuming -------------------------------------------------------------------------------


def change_request_resume(*, change_request: ChangeRequest) -> list[Step]:
    """The step to send again for a request whose worker died (each step is idempotent)."""
    state, step, pk = change_request.state, change_request.step, change_request.pk
    if state == RequestState.ANALYSING:
        return [Step("analyse", pk, number=change_request.analysis_round)]
    if state == RequestState.PLANNING:
        return [Step("plan", pk)]
    if state == RequestState.BUILDING:
        return [Step("dispatch", pk)]
    if state == RequestState.CHECKING and step == STEP_QA:
        return [Step("qa", pk, number=change_request.qa_round)]
    if state == RequestState.CHECKING and step == STEP_RELEASE:
        return [Step("release", pk)]
    if state == RequestState.PREVIEW and step == STEP_DEPLOY:
        return [Step("deploy", pk)]
    if state == RequestState.DEPLOYED and step == STEP_ROLLBACK:
        return [Step("rollback", pk)]
    return []
