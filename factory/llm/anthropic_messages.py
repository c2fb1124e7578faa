"""Anthropic through the Messages API.

Translates our conversation into Messages content blocks: system text as ``system``,
assistant tool calls as ``tool_use`` blocks, tool results as ``tool_result`` blocks in the
following user message (consecutive user-side messages are merged, as the API expects
alternating roles). Structured output uses ``output_config.format``; our own validation
still has the last word. The SDK's own retries are off; ``SdkProvider`` retries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import anthropic
from pydantic import BaseModel

from factory.llm.base import RawStructured, SdkProvider, translate_status_error
from factory.llm.errors import ProviderError
from factory.llm.schema import shape_schema
from factory.llm.types import Message, StopReason, ToolCall, ToolSpec, TurnResult, Usage

_STOP_REASONS = {
    "end_turn": StopReason.END_TURN,
    "stop_sequence": StopReason.END_TURN,
    "tool_use": StopReason.TOOL_USE,
    "max_tokens": StopReason.MAX_TOKENS,
    "model_context_window_exceeded": StopReason.MAX_TOKENS,
    "refusal": StopReason.REFUSAL,
}


class AnthropicMessagesProvider(SdkProvider):
    name = "anthropic"

    def __init__(
        self,
        *,
        model: str,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 120.0,
        client: anthropic.Anthropic | None = None,
        http_client: Any = None,
        **options: Any,
    ) -> None:
        super().__init__(model=model, **options)
        if client is None:
            client = anthropic.Anthropic(
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
        system, conversation = messages_input(messages)
        request: dict[str, Any] = {
            "model": self.model,
            "max_tokens": max_output_tokens,
            "messages": conversation,
        }
        if system:
            request["system"] = system
        if tools:
            request["tools"] = [
                {
                    "name": tool.name,
                    "description": tool.description,
                    "input_schema": tool.parameters,
                }
                for tool in tools
            ]
        return self._turn_result(self._client.messages.create(**request))

    def _send_structured(
        self, messages: Sequence[Message], output_type: type[BaseModel], max_output_tokens: int
    ) -> RawStructured:
        system, conversation = messages_input(messages)
        request: dict[str, Any] = {
            "model": self.model,
            "max_tokens": max_output_tokens,
            "messages": conversation,
            "output_config": {
                "format": {"type": "json_schema", "schema": shape_schema(output_type)}
            },
        }
        if system:
            request["system"] = system
        result = self._turn_result(self._client.messages.create(**request))
        return RawStructured(
            text=result.text,
            usage=result.usage,
            stop_reason=result.stop_reason,
            refusal=result.refusal,
        )

    def _translate_error(self, error: Exception) -> ProviderError | None:
        return translate_status_error(
            error,
            vendor="Anthropic",
            status_error=anthropic.APIStatusError,
            connection_error=anthropic.APIConnectionError,
        )

    def _turn_result(self, message: Any) -> TurnResult:
        texts: list[str] = []
        calls: list[ToolCall] = []
        for block in message.content or []:
            if block.type == "text":
                texts.append(block.text)
            elif block.type == "tool_use":
                arguments = block.input if isinstance(block.input, dict) else None
                calls.append(
                    ToolCall(id=block.id, name=block.name, arguments=arguments)
                    if arguments is not None
                    else ToolCall(
                        id=block.id,
                        name=block.name,
                        arguments_error="the arguments must be a JSON object",
                    )
                )
        raw = message.stop_reason or ""
        stop = _STOP_REASONS.get(raw, StopReason.OTHER)
        refusal = ""
        if stop == StopReason.REFUSAL:
            details = getattr(message, "stop_details", None)
            refusal = getattr(details, "explanation", None) or "".join(texts)
        usage = message.usage
        cached = (getattr(usage, "cache_read_input_tokens", None) or 0) if usage else 0
        # Anthropic counts cache reads and writes apart from input_tokens; all are input.
        written = (getattr(usage, "cache_creation_input_tokens", None) or 0) if usage else 0
        return TurnResult(
            text="".join(texts),
            tool_calls=tuple(calls),
            stop_reason=stop,
            raw_stop_reason=raw,
            refusal=refusal,
            usage=Usage(
                input_tokens=(usage.input_tokens if usage else 0) + cached + written,
                output_tokens=usage.output_tokens if usage else 0,
                cached_input_tokens=cached,
            ),
            provider=self.name,
            model=message.model or self.model,
        )


def messages_input(messages: Sequence[Message]) -> tuple[str, list[dict[str, Any]]]:
    system = "\n\n".join(m.content for m in messages if m.role == "system")
    conversation: list[dict[str, Any]] = []

    def append(role: str, blocks: list[dict[str, Any]]) -> None:
        if conversation and conversation[-1]["role"] == role:
            conversation[-1]["content"].extend(blocks)
        else:
            conversation.append({"role": role, "content": blocks})

    for message in messages:
        if message.role == "user":
            append("user", [{"type": "text", "text": message.content}])
        elif message.role == "tool":
            append(
                "user",
                [
                    {
                        "type": "tool_result",
                        "tool_use_id": message.tool_call_id,
                        "content": message.content,
                        "is_error": message.is_error,
                    }
                ],
            )
        elif message.role == "assistant":
            blocks: list[dict[str, Any]] = []
            if message.content:
                blocks.append({"type": "text", "text": message.content})
            blocks.extend(
                {"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments}
                for call in message.tool_calls
            )
            append("assistant", blocks or [{"type": "text", "text": "(no answer)"}])
    return system, conversation
