"""The agent loop: run (or resume) one agent run until it stops, persisting every turn.

Each turn: check the run's limits; send the conversation and the role's tools; play the
tool calls on the spec workspace (errors go back to the model as tool errors it can act
on); record the turn and the run's new state in one transaction; then decide whether to
stop. The run stops when the model calls ``finish`` with a valid report, at the turn
limit, over budget (tokens or money), when it is stuck (the same calls three turns in a
row, or three malformed turns in a row), when the model refuses, or when the provider
fails (a failed run can be resumed). Everything the loop needs to resume is in the
database: a new harness on the same run continues from the last recorded turn.

The harness has no other effect than the spec workspace: no shell, no files, no Python
for the model. It never talks to a vendor directly: the provider does.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from pydantic import BaseModel, ValidationError

from factory.agents.budgets import budget_stop, run_cost_basis_record
from factory.agents.models import AgentRun, AgentRunStatus, AgentTurn
from factory.agents.roles import FINISH_TOOL, RoleDefinition, role_definition
from factory.agents.selectors import (
    agent_run_conversation,
    agent_run_opening,
    agent_run_operations,
    agent_run_pending,
    agent_run_spec,
    agent_run_tool_specs,
    agent_run_turns,
    agent_turn_messages,
)
from factory.agents.services import (
    AgentRunConflict,
    agent_run_start,
    agent_run_stop,
    agent_turn_record,
)
from factory.agents.tools import SpecOperation, SpecWorkspace
from factory.llm.base import ModelProvider, describe_validation_error
from factory.llm.errors import ProviderError, ReplayMissError, StructuredOutputError
from factory.llm.pricing import ModelPrice, price_for, usage_cost
from factory.llm.types import Message, StopReason, ToolCall, TurnResult

logger = logging.getLogger(__name__)

REPEAT_LIMIT = 3  # the same calls this many turns in a row: stuck
MALFORMED_LIMIT = 3  # this many malformed turns in a row: stuck


@dataclass
class TurnPlay:
    """What the harness made of one model turn."""

    replies: list[Message] = field(default_factory=list)
    operations: list[SpecOperation] = field(default_factory=list)
    malformed: bool = False
    report: dict | None = None


class AgentHarness:
    def __init__(
        self,
        *,
        run: AgentRun,
        provider: ModelProvider,
        prices: Mapping[str, ModelPrice] | None = None,
    ) -> None:
        self.run = run
        self.provider = provider
        self.prices = prices or {}
        self.definition: RoleDefinition = role_definition(run.role)

    def execute(self) -> AgentRun:
        run = agent_run_start(run=self.run)
        self.run = run
        if run.is_terminal:
            return run
        # An unpriced model runs with its cost unknown (recorded as $0 with a note) rather
        # than failing: self-hosted servers have no price, and tokens and turns stay capped.
        # The note (or "no model called") keeps that $0 from being shown as a model's cost.
        run_cost_basis_record(run=run, provider=self.provider, prices=self.prices)
        try:
            if self.definition.structured:
                return self._answer_structured()
            return self._loop()
        except AgentRunConflict as conflict:
            logger.warning("%s", conflict)
            run.refresh_from_db()
            return run

    # The tool-using loop ---------------------------------------------------------------

    def _loop(self) -> AgentRun:
        run = self.run
        turns = agent_run_turns(run=run)
        messages = agent_run_conversation(run=run, turns=turns)
        tools = agent_run_tool_specs(run=run)
        workspace = SpecWorkspace(
            agent_run_spec(run=run),
            operations=agent_run_operations(run=run),
            pending=agent_run_pending(run=run),
        )
        while True:
            limit = budget_stop(run)
            if limit is not None:
                return agent_run_stop(run=run, status=limit[0], message=limit[1])
            try:
                result = self.provider.run_turn(messages=messages, tools=tools)
            except ProviderError as error:
                return self._provider_failed(error)
            play = self._play(result, workspace)
            turn = agent_turn_record(
                run=run,
                result=result,
                replies=play.replies,
                operations=play.operations,
                workspace=workspace,
                malformed=play.malformed,
                cost=self._cost(result),
            )
            turns.append(turn)
            messages.extend(agent_turn_messages(turn=turn))
            if play.report is not None:
                return agent_run_stop(
                    run=run,
                    status=AgentRunStatus.FINISHED,
                    message=f"Finished in {run.turns_count} turns.",
                    result=play.report,
                )
            if result.stop_reason == StopReason.REFUSAL:
                reason = (result.refusal or result.text or "no reason given").rstrip(". ")
                return agent_run_stop(
                    run=run,
                    status=AgentRunStatus.REFUSED,
                    message=f"The model refused: {reason}. Rephrase the task or check the request.",
                )
            stuck = stuck_reason(turns)
            if stuck:
                return agent_run_stop(run=run, status=AgentRunStatus.STUCK, message=stuck)

    def _play(self, result: TurnResult, workspace: SpecWorkspace) -> TurnPlay:
        play = TurnPlay()
        if not result.tool_calls:
            play.malformed = True
            play.replies.append(Message.user(_no_call_guidance(result.stop_reason)))
            return play
        allowed = set(self.run.tools)
        answers: dict[int, Message] = {}
        failures = 0
        finishes = []
        for position, call in enumerate(result.tool_calls):
            if call.name == FINISH_TOOL and call.arguments_error is None:
                finishes.append(position)
                continue
            reply, failed, malformed, operation = self._call(call, allowed, workspace)
            answers[position] = reply
            failures += failed
            play.malformed = play.malformed or malformed
            if operation is not None:
                play.operations.append(operation)
        for number, position in enumerate(finishes):
            call = result.tool_calls[position]
            if number > 0:
                answers[position] = _error(call, "finish was already called in this turn.")
            elif failures:
                answers[position] = _error(
                    call,
                    f"Not finished: {failures} other call(s) in this turn failed. Fix them, "
                    "then call finish again.",
                )
            else:
                report = self._validate_report(call)
                if isinstance(report, BaseModel):
                    play.report = report.model_dump(mode="json")
                    answers[position] = Message.tool_result(call, "Report received. Finished.")
                else:
                    answers[position] = _error(call, report)
        play.replies = [answers[position] for position in range(len(result.tool_calls))]
        return play

    def _call(
        self, call: ToolCall, allowed: set[str], workspace: SpecWorkspace
    ) -> tuple[Message, bool, bool, SpecOperation | None]:
        """(reply, failed, malformed, applied operation) for one non-finish call."""
        if call.arguments_error is not None:
            return (
                _error(
                    call,
                    f"Your call to {call.name} could not be read: {call.arguments_error}. Send "
                    "the arguments as one JSON object that follows the tool's schema.",
                ),
                True,
                True,
                None,
            )
        if call.name not in allowed:
            offered = ", ".join([*self.run.tools, FINISH_TOOL])
            return (
                _error(call, f"There is no tool {call.name!r} here. Your tools: {offered}."),
                True,
                True,
                None,
            )
        outcome = workspace.call(call.name, call.arguments)
        reply = Message.tool_result(call, outcome.content, is_error=outcome.is_error)
        return reply, outcome.is_error, False, outcome.applied

    def _validate_report(self, call: ToolCall) -> BaseModel | str:
        try:
            return self.definition.report.model_validate(call.arguments)
        except ValidationError as error:
            problems = "; ".join(describe_validation_error(error))
            return f"The report is invalid: {problems}. Call finish again with a corrected report."

    # The structured answer (analyst) ---------------------------------------------------

    def _answer_structured(self) -> AgentRun:
        run = self.run
        if run.turns_count:
            # The answer was recorded but the process died before the run was closed.
            last = agent_run_turns(run=run)[-1]
            return agent_run_stop(
                run=run,
                status=AgentRunStatus.FINISHED,
                message="Finished in 1 turn.",
                result=json.loads(last.text),
            )
        try:
            answer = self.provider.structured(
                messages=agent_run_opening(run=run), output_type=self.definition.report
            )
        except StructuredOutputError as error:
            return agent_run_stop(
                run=run,
                status=AgentRunStatus.STUCK,
                message=f"The model's answer could not be used: {error.message}",
            )
        except ProviderError as error:
            return self._provider_failed(error)
        value = answer.value.model_dump(mode="json")
        result = TurnResult(
            text=json.dumps(value, ensure_ascii=False, sort_keys=True),
            stop_reason=StopReason.END_TURN,
            usage=answer.usage,
            provider=answer.provider,
            model=answer.model,
        )
        agent_turn_record(
            run=run,
            result=result,
            replies=[],
            operations=[],
            workspace=SpecWorkspace(agent_run_spec(run=run)),
            malformed=False,
            cost=self._cost(result),
        )
        return agent_run_stop(
            run=run, status=AgentRunStatus.FINISHED, message="Finished in 1 turn.", result=value
        )

    # Money and failures ----------------------------------------------------------------

    def _cost(self, result: TurnResult) -> Decimal:
        if not self.provider.billable:
            return Decimal(0)
        price = price_for(result.model, self.prices) or price_for(self.provider.model, self.prices)
        return usage_cost(result.usage, price) if price else Decimal(0)

    def _provider_failed(self, error: ProviderError) -> AgentRun:
        run = agent_run_stop(
            run=self.run,
            status=AgentRunStatus.FAILED,
            message=f"The model provider failed: {error.message} The run can be resumed.",
        )
        if isinstance(error, ReplayMissError):
            raise error
        return run


def stuck_reason(turns: Sequence[AgentTurn]) -> str:
    """Why the run is stuck, from its last turns, or '' when it is not."""
    recent = list(turns[-MALFORMED_LIMIT:])
    if len(recent) == MALFORMED_LIMIT and all(turn.malformed for turn in recent):
        return (
            f"Stopped: the model's last {MALFORMED_LIMIT} answers were malformed (no tool call, "
            "unreadable arguments or unknown tools). Check the prompt and the model."
        )
    recent = list(turns[-REPEAT_LIMIT:])
    if len(recent) == REPEAT_LIMIT:
        signatures = {_turn_signature(turn) for turn in recent}
        if len(signatures) == 1 and signatures != {""}:
            names = ", ".join(call["name"] for call in recent[-1].tool_calls)
            return (
                f"Stopped: the model made the same call ({names}) {REPEAT_LIMIT} turns in a row "
                "without progress."
            )
    return ""


def _turn_signature(turn: AgentTurn) -> str:
    calls = [ToolCall.model_validate(call) for call in turn.tool_calls]
    return "|".join(sorted(call.signature() for call in calls))


def _error(call: ToolCall, content: str) -> Message:
    return Message.tool_result(call, content, is_error=True)


def _no_call_guidance(stop_reason: StopReason) -> str:
    if stop_reason == StopReason.MAX_TOKENS:
        return (
            "Your answer was cut at the output token limit before any tool call. Make "
            "smaller calls, one change at a time."
        )
    return (
        "You answered without calling a tool. You act only through the tools: make the "
        f"next change, or call {FINISH_TOOL} with your report when the task is done."
    )
