"""A provider that plays a script: tests, the bench and offline demos use it.

Each call takes the next entry of the script: a ``TurnResult`` for ``run_turn``, a
pydantic object (or a dict or JSON text to validate) for ``structured``, an exception to
raise, or a function of the request returning one of those. Everything it returns is
labelled ``provider="scripted"``. It remembers every request, so tests can check exactly
what a model would have been sent. Running past the end of the script is an error.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from factory.llm.base import ModelProvider, describe_validation_error, parse_structured
from factory.llm.errors import ScriptExhaustedError, StructuredOutputError
from factory.llm.schema import shape_schema
from factory.llm.types import (
    Message,
    StopReason,
    StructuredResult,
    ToolCall,
    ToolSpec,
    TurnResult,
    Usage,
)

ModelT = TypeVar("ModelT", bound=BaseModel)

ScriptEntry = TurnResult | BaseModel | dict | str | Exception | Callable[..., Any]


class TokenCounter(Protocol):
    def count_request(self, messages: Sequence[Message], tools: Sequence[ToolSpec]) -> int: ...

    def count_response(self, text: str, tool_calls: Sequence[ToolCall]) -> int: ...


def scripted_turn(
    *calls: tuple[str, dict[str, Any]] | ToolCall,
    text: str = "",
    stop_reason: StopReason | None = None,
    usage: Usage | None = None,
) -> TurnResult:
    """A turn for a script: ``scripted_turn(("field_add", {...}), text="Adding...")``.

    Call ids are left empty and numbered by the provider when it plays the turn
    (``call_<turn>_<n>``).
    """
    tool_calls = tuple(
        call if isinstance(call, ToolCall) else ToolCall(id="", name=call[0], arguments=call[1])
        for call in calls
    )
    return TurnResult(
        text=text,
        tool_calls=tool_calls,
        stop_reason=stop_reason or (StopReason.TOOL_USE if tool_calls else StopReason.END_TURN),
        usage=usage or Usage(),
        provider="scripted",
        model="scripted",
    )


def malformed_call(name: str, raw_arguments: str) -> ToolCall:
    """A call whose arguments are not valid JSON, as a confused model may send."""
    return ToolCall(
        id="", name=name, arguments_error=f"the arguments are not valid JSON: {raw_arguments}"
    )


class ScriptedProvider(ModelProvider):
    name = "scripted"

    def __init__(
        self,
        script: Iterable[ScriptEntry],
        *,
        model: str = "scripted",
        token_counter: TokenCounter | None = None,
        billable: bool = False,
    ) -> None:
        self.model = model
        self.billable = billable
        self._script = list(script)
        self._position = 0
        self._token_counter = token_counter
        self.requests: list[dict[str, Any]] = []

    @property
    def remaining(self) -> int:
        return len(self._script) - self._position

    def run_turn(
        self,
        *,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        max_output_tokens: int | None = None,
    ) -> TurnResult:
        self.requests.append({"kind": "turn", "messages": list(messages), "tools": list(tools)})
        entry = self._next(messages, tools)
        if not isinstance(entry, TurnResult):
            raise ScriptExhaustedError(
                f"Script entry {self._position} is a {type(entry).__name__}, "
                "but a tool-using turn was asked for."
            )
        # Ids follow the conversation, not the script: a resumed run gets the ids the
        # uninterrupted run would have had.
        number = 1 + sum(1 for message in messages if message.role == "assistant")
        calls = tuple(
            call if call.id else call.model_copy(update={"id": f"call_{number}_{index}"})
            for index, call in enumerate(entry.tool_calls, start=1)
        )
        usage = entry.usage
        if self._token_counter is not None and usage == Usage():
            usage = Usage(
                input_tokens=self._token_counter.count_request(messages, tools),
                output_tokens=self._token_counter.count_response(entry.text, calls),
            )
        return entry.model_copy(
            update={"tool_calls": calls, "usage": usage, "provider": self.name, "model": self.model}
        )

    def structured(
        self,
        *,
        messages: Sequence[Message],
        output_type: type[ModelT],
        max_output_tokens: int | None = None,
    ) -> StructuredResult[ModelT]:
        self.requests.append(
            {"kind": "structured", "messages": list(messages), "output_type": output_type}
        )
        entry = self._next(messages, ())
        value = _as_output(entry, output_type)
        usage = Usage()
        if self._token_counter is not None:
            # The schema travels with a structured request, much as a tool definition does.
            schema = ToolSpec(
                name=output_type.__name__, description="", parameters=shape_schema(output_type)
            )
            usage = Usage(
                input_tokens=self._token_counter.count_request(messages, (schema,)),
                output_tokens=self._token_counter.count_response(value.model_dump_json(), ()),
            )
        return StructuredResult(value=value, usage=usage, provider=self.name, model=self.model)

    def _next(self, messages: Sequence[Message], tools: Sequence[ToolSpec]) -> Any:
        if self._position >= len(self._script):
            raise ScriptExhaustedError(
                f"The script has {len(self._script)} entries and all were played; "
                "the run asked for one more."
            )
        entry = self._script[self._position]
        self._position += 1
        if callable(entry) and not isinstance(entry, BaseModel | type):
            entry = entry(messages, tools)
        if isinstance(entry, Exception):
            raise entry
        return entry


def _as_output(entry: Any, output_type: type[ModelT]) -> ModelT:
    if isinstance(entry, output_type):
        return entry
    if isinstance(entry, str):
        return parse_structured(entry, output_type)
    try:
        data = entry.model_dump(mode="json") if isinstance(entry, BaseModel) else dict(entry)
        return output_type.model_validate(data)
    except (ValidationError, TypeError, ValueError) as error:
        problems = (
            describe_validation_error(error) if isinstance(error, ValidationError) else [str(error)]
        )
        raise StructuredOutputError(
            f"The scripted answer is not a valid {output_type.__name__}: " + "; ".join(problems),
            last_output=json.dumps(entry, default=str),
            problems=problems,
        ) from error
