"""Any OpenAI-compatible server (Ollama, vLLM, llama.cpp...) through ``base_url``.

These servers speak the Chat Completions dialect, not the Responses API, and enforce JSON
schemas unevenly: the schema is sent both as ``response_format`` and in the instructions,
and the answer is validated on our side with one repair try (``SdkProvider.structured``).
Usage may be missing on some servers; it then counts as zero rather than failing the run.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import openai
from pydantic import BaseModel

from factory.llm.base import RawStructured, SdkProvider, translate_status_error
from factory.llm.errors import ProviderError
from factory.llm.openai_responses import parse_call
from factory.llm.schema import shape_schema
from factory.llm.types import Message, StopReason, ToolSpec, TurnResult, Usage

_FINISH_REASONS = {
    "stop": StopReason.END_TURN,
    "tool_calls": StopReason.TOOL_USE,
    "function_call": StopReason.TOOL_USE,
    "length": StopReason.MAX_TOKENS,
    "content_filter": StopReason.REFUSAL,
}


class OpenAICompatibleProvider(SdkProvider):
    name = "openai_compatible"

    def __init__(
        self,
        *,
        model: str,
        base_url: str,
        api_key: str | None = None,
        timeout: float = 120.0,
        client: openai.OpenAI | None = None,
        http_client: Any = None,
        **options: Any,
    ) -> None:
        super().__init__(model=model, **options)
        if client is None:
            client = openai.OpenAI(
                # Local servers usually ignore the key, but the SDK insists on one.
                api_key=api_key or "not-needed",
                base_url=base_url,
                timeout=timeout,
                max_retries=0,
                http_client=http_client,
            )
        self._client = client.with_options(max_retries=0)

    def _send_turn(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec], max_output_tokens: int
    ) -> TurnResult:
        request: dict[str, Any] = {
            "model": self.model,
            "messages": chat_messages(messages),
            "max_tokens": max_output_tokens,
        }
        if tools:
            request["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": tool.name,
                        "description": tool.description,
                        "parameters": tool.parameters,
                    },
                }
                for tool in tools
            ]
        return self._turn_result(self._client.chat.completions.create(**request))

    def _send_structured(
        self, messages: Sequence[Message], output_type: type[BaseModel], max_output_tokens: int
    ) -> RawStructured:
        schema = shape_schema(output_type)
        instruction = (
            "Answer with only a JSON object, no text around it, matching this JSON Schema: "
            + json.dumps(schema, separators=(",", ":"))
        )
        request: dict[str, Any] = {
            "model": self.model,
            "messages": chat_messages(messages, extra_system=instruction),
            "max_tokens": max_output_tokens,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": output_type.__name__, "schema": schema},
            },
        }
        result = self._turn_result(self._client.chat.completions.create(**request))
        return RawStructured(
            text=result.text,
            usage=result.usage,
            stop_reason=result.stop_reason,
            refusal=result.refusal,
        )

    def _translate_error(self, error: Exception) -> ProviderError | None:
        return translate_status_error(
            error,
            vendor=f"The model server at {self._client.base_url}",
            status_error=openai.APIStatusError,
            connection_error=openai.APIConnectionError,
        )

    def _turn_result(self, completion: Any) -> TurnResult:
        choice = completion.choices[0] if completion.choices else None
        message = choice.message if choice else None
        calls = tuple(
            parse_call(call.id, call.function.name, call.function.arguments)
            for call in (getattr(message, "tool_calls", None) or [])
            if getattr(call, "function", None) is not None
        )
        raw = (choice.finish_reason if choice else "") or ""
        refusal = (getattr(message, "refusal", None) or "") if message else ""
        stop = StopReason.REFUSAL if refusal else _FINISH_REASONS.get(raw, StopReason.OTHER)
        if calls and stop == StopReason.END_TURN:
            # Some servers say "stop" even when they return tool calls.
            stop = StopReason.TOOL_USE
        usage = completion.usage
        details = getattr(usage, "prompt_tokens_details", None) if usage else None
        return TurnResult(
            text=(getattr(message, "content", None) or "") if message else "",
            tool_calls=calls,
            stop_reason=stop,
            raw_stop_reason=raw,
            refusal=refusal,
            usage=Usage(
                input_tokens=(usage.prompt_tokens or 0) if usage else 0,
                output_tokens=(usage.completion_tokens or 0) if usage else 0,
                cached_input_tokens=(getattr(details, "cached_tokens", 0) or 0) if details else 0,
            ),
            provider=self.name,
            model=completion.model or self.model,
        )


def chat_messages(messages: Sequence[Message], *, extra_system: str = "") -> list[dict[str, Any]]:
    # One system message first: several chat templates of local servers accept no other.
    system = "\n\n".join([m.content for m in messages if m.role == "system"] + [extra_system])
    result: list[dict[str, Any]] = []
    if system.strip():
        result.append({"role": "system", "content": system.strip()})
    for message in messages:
        if message.role == "user":
            result.append({"role": "user", "content": message.content})
        elif message.role == "assistant":
            entry: dict[str, Any] = {"role": "assistant", "content": message.content or None}
            if message.tool_calls:
                entry["tool_calls"] = [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {
                            "name": call.name,
                            "arguments": json.dumps(call.arguments, ensure_ascii=False),
                        },
                    }
                    for call in message.tool_calls
                ]
            result.append(entry)
        elif message.role == "tool":
            result.append(
                {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content}
            )
    return result
