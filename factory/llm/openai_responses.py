"""OpenAI through the Responses API.

Translates our conversation into Responses input items (system text as ``instructions``,
assistant tool calls as ``function_call`` items, tool results as ``function_call_output``)
and back. Requests are stateless (``store=False``): the harness owns the conversation and
resends it, so a resumed or replayed run never depends on state kept by the vendor.
The SDK's own retries are off; ``SdkProvider`` retries.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import openai
from pydantic import BaseModel

from factory.llm.base import RawStructured, SdkProvider, translate_status_error
from factory.llm.errors import ProviderError
from factory.llm.schema import shape_schema
from factory.llm.types import Message, StopReason, ToolCall, ToolSpec, TurnResult, Usage


class OpenAIResponsesProvider(SdkProvider):
    name = "openai"

    def __init__(
        self,
        *,
        model: str,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 120.0,
        client: openai.OpenAI | None = None,
        http_client: Any = None,
        **options: Any,
    ) -> None:
        super().__init__(model=model, **options)
        if client is None:
            client = openai.OpenAI(
                api_key=api_key,
                base_url=base_url or None,
                timeout=timeout,
                max_retries=0,
                http_client=http_client,
            )
        self._client = client.with_options(max_retries=0)

    def _send_turn(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec], max_output_tokens: int
    ) -> TurnResult:
        instructions, items = responses_input(messages)
        request: dict[str, Any] = {
            "model": self.model,
            "input": items,
            "max_output_tokens": max_output_tokens,
            "store": False,
        }
        if instructions:
            request["instructions"] = instructions
        if tools:
            request["tools"] = [
                {
                    "type": "function",
                    "name": tool.name,
                    "description": tool.description,
                    "parameters": tool.parameters,
                    "strict": False,
                }
                for tool in tools
            ]
        response = self._client.responses.create(**request)
        return self._turn_result(response)

    def _send_structured(
        self, messages: Sequence[Message], output_type: type[BaseModel], max_output_tokens: int
    ) -> RawStructured:
        instructions, items = responses_input(messages)
        request: dict[str, Any] = {
            "model": self.model,
            "input": items,
            "max_output_tokens": max_output_tokens,
            "store": False,
            "text": {
                "format": {
                    "type": "json_schema",
                    "name": output_type.__name__,
                    "schema": shape_schema(output_type),
                    "strict": False,
                }
            },
        }
        if instructions:
            request["instructions"] = instructions
        response = self._client.responses.create(**request)
        result = self._turn_result(response)
        return RawStructured(
            text=result.text,
            usage=result.usage,
            stop_reason=result.stop_reason,
            refusal=result.refusal,
        )

    def _translate_error(self, error: Exception) -> ProviderError | None:
        return translate_status_error(
            error,
            vendor="OpenAI",
            status_error=openai.APIStatusError,
            connection_error=openai.APIConnectionError,
        )

    def _turn_result(self, response: Any) -> TurnResult:
        texts: list[str] = []
        refusals: list[str] = []
        calls: list[ToolCall] = []
        for item in response.output or []:
            if item.type == "message":
                for part in item.content or []:
                    if part.type == "output_text":
                        texts.append(part.text)
                    elif part.type == "refusal":
                        refusals.append(part.refusal)
            elif item.type == "function_call":
                calls.append(parse_call(item.call_id, item.name, item.arguments))
        usage = response.usage
        details = getattr(usage, "input_tokens_details", None) if usage else None
        reason = getattr(getattr(response, "incomplete_details", None), "reason", None) or ""
        return TurnResult(
            text="".join(texts),
            tool_calls=tuple(calls),
            stop_reason=_stop_reason(response.status, reason, bool(refusals), bool(calls)),
            raw_stop_reason=reason or (response.status or ""),
            refusal="\n".join(refusals),
            usage=Usage(
                input_tokens=usage.input_tokens if usage else 0,
                output_tokens=usage.output_tokens if usage else 0,
                cached_input_tokens=getattr(details, "cached_tokens", 0) or 0,
            ),
            provider=self.name,
            model=response.model or self.model,
        )


def _stop_reason(status: str | None, reason: str, refused: bool, called: bool) -> StopReason:
    if refused or reason == "content_filter":
        return StopReason.REFUSAL
    if reason == "max_output_tokens":
        return StopReason.MAX_TOKENS
    if status not in (None, "completed"):
        return StopReason.OTHER
    return StopReason.TOOL_USE if called else StopReason.END_TURN


def responses_input(messages: Sequence[Message]) -> tuple[str, list[dict[str, Any]]]:
    instructions = "\n\n".join(m.content for m in messages if m.role == "system")
    items: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "user":
            items.append({"role": "user", "content": message.content})
        elif message.role == "assistant":
            if message.content:
                items.append({"role": "assistant", "content": message.content})
            items.extend(
                {
                    "type": "function_call",
                    "call_id": call.id,
                    "name": call.name,
                    "arguments": json.dumps(call.arguments, ensure_ascii=False),
                }
                for call in message.tool_calls
            )
        elif message.role == "tool":
            items.append(
                {
                    "type": "function_call_output",
                    "call_id": message.tool_call_id,
                    "output": message.content,
                }
            )
    return instructions, items


def parse_call(call_id: str, name: str, arguments: str | None) -> ToolCall:
    """A tool call whose arguments are a JSON string (OpenAI dialects)."""
    text = arguments or "{}"
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as error:
        return ToolCall(
            id=call_id,
            name=name,
            arguments_error=f"the arguments are not valid JSON ({error.msg}): {text[:200]}",
        )
    if not isinstance(parsed, dict):
        return ToolCall(
            id=call_id,
            name=name,
            arguments_error=f"the arguments must be a JSON object: {text[:200]}",
        )
    return ToolCall(id=call_id, name=name, arguments=parsed)
