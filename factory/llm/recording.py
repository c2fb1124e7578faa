"""Record and replay at our interface, as JSONL.

``RecordingProvider`` wraps any provider and appends one JSON line per call: the request
in our dialect (messages, tools or output schema), its key (a hash of the request), and
the answer. ``ReplayProvider`` answers from such a file: the same request gets the same
answer, labelled ``provider="replay"``; a request that was never recorded raises
``ReplayMissError`` at once. The replay provider holds no client: it cannot reach the
network, whatever happens.
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from factory.llm.base import ModelProvider
from factory.llm.canonical import canonical_hash
from factory.llm.errors import ReplayMissError
from factory.llm.schema import model_schema
from factory.llm.types import Message, StructuredResult, ToolSpec, TurnResult, Usage

ModelT = TypeVar("ModelT", bound=BaseModel)

RECORDING_FORMAT = 1


def turn_request(messages: Sequence[Message], tools: Sequence[ToolSpec]) -> dict[str, Any]:
    return {
        "messages": [message.model_dump(mode="json") for message in messages],
        "tools": [tool.model_dump(mode="json") for tool in tools],
    }


def structured_request(messages: Sequence[Message], output_type: type[BaseModel]) -> dict[str, Any]:
    return {
        "messages": [message.model_dump(mode="json") for message in messages],
        "output_type": output_type.__name__,
        "schema": model_schema(output_type),
    }


def recording_entry(
    *, kind: str, request: dict[str, Any], response: dict[str, Any], provider: str, model: str
) -> dict[str, Any]:
    """One line of a recording; the persisted runs export the same lines."""
    return {
        "format": RECORDING_FORMAT,
        "kind": kind,
        "key": canonical_hash({"kind": kind, **request}),
        "provider": provider,
        "model": model,
        "request": request,
        "response": response,
    }


class RecordingProvider(ModelProvider):
    """Passes every call to ``inner`` and appends what was asked and answered to ``path``."""

    def __init__(self, inner: ModelProvider, path: str | Path) -> None:
        self.inner = inner
        self.name = inner.name
        self.model = inner.model
        self.billable = inner.billable
        self.path = Path(path)

    def run_turn(
        self,
        *,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        max_output_tokens: int | None = None,
    ) -> TurnResult:
        result = self.inner.run_turn(
            messages=messages, tools=tools, max_output_tokens=max_output_tokens
        )
        self._append(
            recording_entry(
                kind="turn",
                request=turn_request(messages, tools),
                response=result.model_dump(mode="json"),
                provider=result.provider,
                model=result.model,
            )
        )
        return result

    def structured(
        self,
        *,
        messages: Sequence[Message],
        output_type: type[ModelT],
        max_output_tokens: int | None = None,
    ) -> StructuredResult[ModelT]:
        result = self.inner.structured(
            messages=messages, output_type=output_type, max_output_tokens=max_output_tokens
        )
        self._append(
            recording_entry(
                kind="structured",
                request=structured_request(messages, output_type),
                response={
                    "value": result.value.model_dump(mode="json"),
                    "usage": result.usage.model_dump(mode="json"),
                    "repaired": result.repaired,
                },
                provider=result.provider,
                model=result.model,
            )
        )
        return result

    def _append(self, entry: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")


class ReplayProvider(ModelProvider):
    """Answers from a recording. Same request, same answer; anything else fails loudly."""

    name = "replay"
    billable = False

    def __init__(self, entries: Iterable[dict[str, Any]], *, source: str = "a recording") -> None:
        self.source = source
        self._answers: dict[str, deque[dict[str, Any]]] = defaultdict(deque)
        models = []
        for number, entry in enumerate(entries, start=1):
            if entry.get("format") != RECORDING_FORMAT:
                raise ReplayMissError(
                    f"Line {number} of {source} is not a recording line of format "
                    f"{RECORDING_FORMAT}; record the run again."
                )
            self._answers[entry["key"]].append(entry)
            models.append(entry.get("model", ""))
        self.model = models[0] if models else "replay"

    @classmethod
    def from_path(cls, path: str | Path) -> ReplayProvider:
        path = Path(path)
        if not path.exists():
            raise ReplayMissError(f"There is no recording at {path}: record a run first.")
        with path.open(encoding="utf-8") as handle:
            lines = [json.loads(line) for line in handle if line.strip()]
        return cls(lines, source=str(path))

    def run_turn(
        self,
        *,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        max_output_tokens: int | None = None,
    ) -> TurnResult:
        entry = self._take("turn", turn_request(messages, tools))
        recorded = TurnResult.model_validate(entry["response"])
        return recorded.model_copy(update={"provider": self.name})

    def structured(
        self,
        *,
        messages: Sequence[Message],
        output_type: type[ModelT],
        max_output_tokens: int | None = None,
    ) -> StructuredResult[ModelT]:
        entry = self._take("structured", structured_request(messages, output_type))
        response = entry["response"]
        return StructuredResult(
            value=output_type.model_validate(response["value"]),
            usage=Usage.model_validate(response["usage"]),
            provider=self.name,
            model=entry.get("model", self.model),
            repaired=bool(response.get("repaired")),
        )

    def _take(self, kind: str, request: dict[str, Any]) -> dict[str, Any]:
        key = canonical_hash({"kind": kind, **request})
        answers = self._answers.get(key)
        if not answers:
            last = request["messages"][-1] if request["messages"] else {}
            raise ReplayMissError(
                f"No answer in {self.source} for this {kind} request (key {key[:12]}, "
                f"{len(request['messages'])} messages, last one from {last.get('role', '?')}: "
                f"{str(last.get('content', ''))[:120]!r}). The prompt, the tools or the "
                "conversation changed since the recording: record the run again."
            )
        return answers.popleft()
