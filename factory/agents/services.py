"""Writes of the agent harness: create runs, record turns, stop runs, execute and replay.

Every change to a run goes through these functions, each in one transaction: a turn and
the run's new state (spec, patch, pending edits, totals) are saved together, so a process
that dies leaves the run at its last complete turn, never between two. Recording a turn
locks the run row and checks the turn's index, so two workers cannot both add turn N.
Services never talk to a model themselves: ``agent_run_execute`` hands the run to the
harness.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from factory.agents.budgets import AgentBudget
from factory.agents.models import TERMINAL_STATUSES, AgentRun, AgentRunStatus, AgentTurn
from factory.agents.prompts import prompt_placeholders, prompt_render
from factory.agents.roles import role_definition
from factory.agents.tools import SpecOperation, SpecWorkspace, spec_summary_text
from factory.llm.base import ModelProvider
from factory.llm.pricing import ModelPrice
from factory.llm.types import Message, TurnResult
from factory.spec.models import AppSpec


class AgentRunConflict(RuntimeError):
    """Another process recorded this turn first: this one must stop working on the run."""


@transaction.atomic
def agent_run_create(
    *,
    role: str,
    task: str,
    spec: AppSpec,
    prompt_context: Mapping[str, str] | None = None,
    budget: AgentBudget | None = None,
    context: Mapping[str, Any] | None = None,
    tools: Sequence[str] | None = None,
) -> AgentRun:
    """A pending run with everything it depends on frozen: prompt, tools, spec, budget."""
    definition = role_definition(role)
    values = dict(prompt_context or {})
    if "spec_summary" in prompt_placeholders(definition.prompt) and "spec_summary" not in values:
        values["spec_summary"] = spec_summary_text(spec)
    prompt = prompt_render(definition.prompt, values)
    budget = budget or AgentBudget.from_settings()
    tool_names = list(tools if tools is not None else definition.tool_names)
    return AgentRun.objects.create(
        role=definition.role,
        task=task,
        prompt_name=prompt.name,
        prompt_version=prompt.version,
        system_prompt=prompt.text,
        tools=tool_names,
        spec_before=spec.to_jsonable(),
        spec_current=spec.to_jsonable(),
        max_turns=budget.max_turns,
        max_input_tokens=budget.max_input_tokens,
        max_output_tokens=budget.max_output_tokens,
        max_cost=budget.max_cost,
        context=dict(context or {}),
    )


@transaction.atomic
def agent_run_copy(*, run: AgentRun, context: Mapping[str, Any] | None = None) -> AgentRun:
    """A fresh pending run with the same frozen inputs, marked as a replay of ``run``."""
    return AgentRun.objects.create(
        role=run.role,
        task=run.task,
        prompt_name=run.prompt_name,
        prompt_version=run.prompt_version,
        system_prompt=run.system_prompt,
        tools=list(run.tools),
        spec_before=run.spec_before,
        spec_current=run.spec_before,
        max_turns=run.max_turns,
        max_input_tokens=run.max_input_tokens,
        max_output_tokens=run.max_output_tokens,
        max_cost=run.max_cost,
        context=dict(context if context is not None else run.context),
        replay_of=run,
    )


@transaction.atomic
def agent_run_start(*, run: AgentRun) -> AgentRun:
    """Mark a run running (a pending or failed run); a terminal run is returned as it is."""
    locked = AgentRun.objects.select_for_update().get(pk=run.pk)
    if locked.status not in TERMINAL_STATUSES:
        locked.status = AgentRunStatus.RUNNING
        locked.status_message = ""
        locked.save(update_fields=["status", "status_message", "updated_at"])
    return locked


def agent_turn_record(
    *,
    run: AgentRun,
    result: TurnResult,
    replies: Sequence[Message],
    operations: Sequence[SpecOperation],
    workspace: SpecWorkspace,
    malformed: bool,
    cost: Decimal,
) -> AgentTurn:
    """Save one turn and the run's state after it, together; update ``run`` in place."""
    try:
        with transaction.atomic():
            locked = AgentRun.objects.select_for_update().get(pk=run.pk)
            if locked.turns_count != run.turns_count or locked.is_terminal:
                raise AgentRunConflict(
                    f"Run {run.pk} moved on elsewhere (turn {locked.turns_count}, "
                    f"{locked.status}); this process stops working on it."
                )
            turn = AgentTurn.objects.create(
                run=locked,
                index=locked.turns_count,
                provider=result.provider,
                model=result.model,
                text=result.text,
                tool_calls=[call.model_dump(mode="json") for call in result.tool_calls],
                replies=[message.model_dump(mode="json") for message in replies],
                stop_reason=result.stop_reason,
                raw_stop_reason=result.raw_stop_reason[:64],
                refusal=result.refusal,
                input_tokens=result.usage.input_tokens,
                output_tokens=result.usage.output_tokens,
                cached_input_tokens=result.usage.cached_input_tokens,
                cost=cost,
                malformed=malformed,
                operations=[operation.model_dump(mode="json") for operation in operations],
            )
            locked.turns_count += 1
            locked.input_tokens += result.usage.input_tokens
            locked.output_tokens += result.usage.output_tokens
            locked.cost += cost
            locked.provider = result.provider
            locked.model = result.model
            locked.spec_current = workspace.spec.to_jsonable()
            locked.patch = [operation.model_dump(mode="json") for operation in workspace.operations]
            locked.pending = [operation.model_dump(mode="json") for operation in workspace.pending]
            locked.save()
    except IntegrityError as error:
        raise AgentRunConflict(f"Turn {run.turns_count} of run {run.pk} already exists.") from error
    _refresh_totals(run, locked)
    return turn


def _refresh_totals(run: AgentRun, saved: AgentRun) -> None:
    for name in (
        "turns_count",
        "input_tokens",
        "output_tokens",
        "cost",
        "provider",
        "model",
        "spec_current",
        "patch",
        "pending",
        "updated_at",
    ):
        setattr(run, name, getattr(saved, name))


@transaction.atomic
def agent_run_stop(
    *, run: AgentRun, status: str, message: str, result: Mapping[str, Any] | None = None
) -> AgentRun:
    """Put the run in ``status`` with a sentence saying why; keep the report if any."""
    locked = AgentRun.objects.select_for_update().get(pk=run.pk)
    locked.status = status
    locked.status_message = message
    if result is not None:
        locked.result = dict(result)
    if status in TERMINAL_STATUSES:
        locked.finished_at = timezone.now()
    locked.save(update_fields=["status", "status_message", "result", "finished_at", "updated_at"])
    for name in ("status", "status_message", "result", "finished_at", "updated_at"):
        setattr(run, name, getattr(locked, name))
    return run


def agent_run_execute(
    *,
    run_id: int,
    provider: ModelProvider | None = None,
    prices: Mapping[str, ModelPrice] | None = None,
) -> AgentRun:
    """Run (or resume) a run until it stops; the provider defaults to the role's one."""
    from factory.agents.harness import AgentHarness
    from factory.llm.config import ProviderSettings, provider_for_role

    run = AgentRun.objects.get(pk=run_id)
    if run.is_terminal:
        return run
    if provider is None or prices is None:
        config = ProviderSettings.from_django()
        provider = provider or provider_for_role(run.role, config=config)
        prices = prices if prices is not None else config.prices
    return AgentHarness(run=run, provider=provider, prices=prices).execute()


def agent_run_replay(*, run_id: int) -> AgentRun:
    """Run the same task again, answered from the original run's own turns, offline."""
    from factory.agents.selectors import agent_run_recording
    from factory.llm.recording import ReplayProvider

    original = AgentRun.objects.get(pk=run_id)
    replay = agent_run_copy(run=original)
    provider = ReplayProvider(agent_run_recording(run=original), source=f"agent run {run_id}")
    return agent_run_execute(run_id=replay.pk, provider=provider, prices={})
