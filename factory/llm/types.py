"""The vocabulary of the provider interface: messages, tools, tool calls, usage, results.

These are our own shapes, independent of any vendor, so that a conversation can be
persisted, recorded, replayed and sent to another provider unchanged. They are plain
pydantic models that serialise to JSON; adapters translate them, nothing else does.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

ModelT = TypeVar("ModelT", bound=BaseModel)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ToolSpec(_Frozen):
    """A tool the model may call: its parameters are a JSON Schema object."""

    name: str
    description: str
    parameters: dict[str, Any]


class ToolCall(_Frozen):
    """One call the model asked for.

    ``arguments_error`` is set when the model sent arguments that are not a JSON object:
    the call is then malformed and goes back to the model as an error.
    """

    id: str
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    arguments_error: str | None = None

    def signature(self) -> str:
        """What makes two calls 'the same call' for stuck detection (the id does not)."""
        from factory.llm.canonical import canonical_json

        return canonical_json({"name": self.name, "arguments": self.arguments})


class Message(_Frozen):
    """One message of a conversation, in our dialect.

    ``system``: instructions; ``user``: the task or the harness's feedback; ``assistant``:
    the model's text and tool calls; ``tool``: the result of one tool call.
    """

    role: Literal["system", "user", "assistant", "tool"]
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    tool_name: str | None = None
    is_error: bool = False

    @classmethod
    def system(cls, content: str) -> Message:
        return cls(role="system", content=content)

    @classmethod
    def user(cls, content: str) -> Message:
        return cls(role="user", content=content)

    @classmethod
    def assistant(cls, content: str = "", tool_calls: tuple[ToolCall, ...] = ()) -> Message:
        return cls(role="assistant", content=content, tool_calls=tuple(tool_calls))

    @classmethod
    def tool_result(cls, call: ToolCall, content: str, *, is_error: bool = False) -> Message:
        return cls(
            role="tool",
            content=content,
            tool_call_id=call.id,
            tool_name=call.name,
            is_error=is_error,
        )


class Usage(_Frozen):
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cached_input_tokens=self.cached_input_tokens + other.cached_input_tokens,
        )


class StopReason(StrEnum):
    END_TURN = "end_turn"  # the model finished speaking
    TOOL_USE = "tool_use"  # the model wants tool results
    MAX_TOKENS = "max_tokens"  # the output was cut at the token limit
    REFUSAL = "refusal"  # the model or the vendor's filter refused
    OTHER = "other"  # anything else the vendor reports (kept raw in raw_stop_reason)


class TurnResult(_Frozen):
    """What one tool-using turn produced. ``provider`` says who answered: a replayed or
    scripted turn says so ("replay", "scripted"), so nobody mistakes it for a live model."""

    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    stop_reason: StopReason
    raw_stop_reason: str = ""
    refusal: str = ""
    usage: Usage = Field(default_factory=Usage)
    provider: str
    model: str


@dataclass(frozen=True)
class StructuredResult(Generic[ModelT]):
    """A validated object and what it cost (a repair try is included in ``usage``)."""

    value: ModelT
    usage: Usage
    provider: str
    model: str
    repaired: bool = False
