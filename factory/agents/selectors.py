"""Reads of the agent harness: runs, turns, the conversation, the patch, a recording.

``agent_run_conversation`` rebuilds exactly the messages a model was sent, from the run's
frozen inputs and its turns: the harness resumes from it and ``agent_run_recording``
turns it into the JSONL lines a ``ReplayProvider`` answers from. Nothing here writes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet

from factory.agents.models import AgentRun, AgentTurn
from factory.agents.roles import role_definition, run_tool_specs
from factory.agents.tools import SpecOperation
from factory.llm.recording import recording_entry, structured_request, turn_request
from factory.llm.types import Message, StopReason, ToolCall, ToolSpec, TurnResult, Usage
from factory.spec.models import AppSpec


def agent_run_get(*, run_id: int) -> AgentRun:
    return AgentRun.objects.get(pk=run_id)


def agent_run_turns(*, run: AgentRun) -> list[AgentTurn]:
    return list(AgentTurn.objects.filter(run=run).order_by("index"))


def agent_run_tool_specs(*, run: AgentRun) -> list[ToolSpec]:
    return run_tool_specs(run.role, run.tools)


def agent_run_opening(*, run: AgentRun) -> list[Message]:
    return [Message.system(run.system_prompt), Message.user(run.task)]


def agent_turn_messages(*, turn: AgentTurn) -> list[Message]:
    """The model's message of this turn, then the harness's replies to it."""
    calls = tuple(ToolCall.model_validate(call) for call in turn.tool_calls)
    return [
        Message.assistant(turn.text, calls),
        *(Message.model_validate(reply) for reply in turn.replies),
    ]


def agent_run_conversation(
    *, run: AgentRun, turns: Sequence[AgentTurn] | None = None
) -> list[Message]:
    messages = agent_run_opening(run=run)
    for turn in turns if turns is not None else agent_run_turns(run=run):
        messages.extend(agent_turn_messages(turn=turn))
    return messages


def agent_run_operations(*, run: AgentRun) -> list[SpecOperation]:
    return [SpecOperation.model_validate(item) for item in run.patch]


def agent_run_pending(*, run: AgentRun) -> list[SpecOperation]:
    return [SpecOperation.model_validate(item) for item in run.pending]


def agent_run_spec(*, run: AgentRun) -> AppSpec:
    return AppSpec.model_validate(run.spec_current)


def agent_turn_result(*, turn: AgentTurn) -> TurnResult:
    return TurnResult(
        text=turn.text,
        tool_calls=tuple(ToolCall.model_validate(call) for call in turn.tool_calls),
        stop_reason=StopReason(turn.stop_reason),
        raw_stop_reason=turn.raw_stop_reason,
        refusal=turn.refusal,
        usage=Usage(
            input_tokens=turn.input_tokens,
            output_tokens=turn.output_tokens,
            cached_input_tokens=turn.cached_input_tokens,
        ),
        provider=turn.provider,
        model=turn.model,
    )


def agent_run_recording(*, run: AgentRun) -> list[dict[str, Any]]:
    """The run as recording lines (the format ``RecordingProvider`` writes), one per turn."""
    turns = agent_run_turns(run=run)
    definition = role_definition(run.role)
    if definition.structured:
        opening = agent_run_opening(run=run)
        return [
            recording_entry(
                kind="structured",
                request=structured_request(opening, definition.report),
                response={
                    "value": json.loads(turn.text),
                    "usage": Usage(
                        input_tokens=turn.input_tokens, output_tokens=turn.output_tokens
                    ).model_dump(mode="json"),
                    "repaired": False,
                },
                provider=turn.provider,
                model=turn.model,
            )
            for turn in turns
        ]
    tools = agent_run_tool_specs(run=run)
    messages = agent_run_opening(run=run)
    entries = []
    for turn in turns:
        result = agent_turn_result(turn=turn)
        entries.append(
            recording_entry(
                kind="turn",
                request=turn_request(messages, tools),
                response=result.model_dump(mode="json"),
                provider=turn.provider,
                model=turn.model,
            )
        )
        messages = [*messages, *agent_turn_messages(turn=turn)]
    return entries


def agent_runs_for(*, context_key: str, value: Any) -> QuerySet[AgentRun]:
    """Runs whose caller-given context has ``context_key == value`` (a build, a tenant)."""
    return AgentRun.objects.filter(**{f"context__{context_key}": value})


def agent_runs_usage_by_role(*, runs: Iterable[AgentRun]) -> dict[str, dict[str, Any]]:
    """Turns, tokens and cost per role, in the order roles first appear."""
    usage: dict[str, dict[str, Any]] = {}
    for run in runs:
        row = usage.setdefault(
            run.role,
            {"runs": 0, "turns": 0, "input_tokens": 0, "output_tokens": 0, "cost": Decimal(0)},
        )
        row["runs"] += 1
        row["turns"] += run.turns_count
        row["input_tokens"] += run.input_tokens
        row["output_tokens"] += run.output_tokens
        row["cost"] += run.cost
    return usage
