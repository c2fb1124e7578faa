"""Contract tests of the Anthropic adapter through the real SDK (Messages API)."""

from __future__ import annotations

from typing import Any

import pytest

from factory.llm.anthropic_messages import AnthropicMessagesProvider
from factory.llm.errors import ProviderRequestError, ProviderTransientError
from factory.llm.types import Message, StopReason, ToolCall, Usage
from tests.llm.test_openai_responses import CONVERSATION, TOOL, Verdict


def message(
    content: list[dict[str, Any]],
    *,
    stop_reason: str = "end_turn",
    input_tokens: int = 100,
    output_tokens: int = 25,
    cache_read: int | None = None,
    stop_details: dict | None = None,
) -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-6-20260101",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "stop_details": stop_details,
        "usage": {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cache_read_input_tokens": cache_read,
            "cache_creation_input_tokens": None,
        },
    }


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


@pytest.fixture
def provider(vendor, no_wait) -> AnthropicMessagesProvider:
    return AnthropicMessagesProvider(
        model="claude-sonnet-4-6",
        api_key="sk-ant-test",
        http_client=vendor.http_client(),
        **no_wait,
    )


def test_tool_call_round_trip(vendor, provider):
    vendor.reply(
        body=message(
            [
                text("Fixing the name."),
                {
                    "type": "tool_use",
                    "id": "toolu_2",
                    "name": "field_add",
                    "input": {"entity": "company", "name": "status"},
                },
            ],
            stop_reason="tool_use",
        )
    )
    conversation = [*CONVERSATION, Message.user("Try again.")]

    result = provider.run_turn(messages=conversation, tools=[TOOL])

    request = vendor.requests[0]
    assert request.url.path == "/v1/messages"
    assert request.headers["authorization"] == "Bearer sk-ant-test"
    assert vendor.body() == {
        "model": "claude-sonnet-4-6",
        "max_tokens": 4096,
        "system": "You edit specs.",
        "messages": [
            {"role": "user", "content": [text("Add a status field to company.")]},
            {
                "role": "assistant",
                "content": [
                    text("Adding it."),
                    {
                        "type": "tool_use",
                        "id": "call_1",
                        "name": "field_add",
                        "input": {"entity": "company", "name": "x"},
                    },
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "call_1",
                        "content": "Invalid name 'x'.",
                        "is_error": True,
                    },
                    text("Try again."),
                ],
            },
        ],
        "tools": [
            {"name": "field_add", "description": "Add a field.", "input_schema": TOOL.parameters}
        ],
    }
    assert result.text == "Fixing the name."
    assert result.tool_calls == (
        ToolCall(id="toolu_2", name="field_add", arguments={"entity": "company", "name": "status"}),
    )
    assert result.stop_reason == StopReason.TOOL_USE
    assert result.provider == "anthropic"
    assert result.model == "claude-sonnet-4-6-20260101"


def test_usage_is_parsed_with_cache_reads_counted_as_input(vendor, provider):
    vendor.reply(body=message([text("Done.")], input_tokens=300, output_tokens=40, cache_read=1200))

    result = provider.run_turn(messages=CONVERSATION[:2], tools=[])

    assert result.usage == Usage(input_tokens=1500, output_tokens=40, cached_input_tokens=1200)
    assert result.stop_reason == StopReason.END_TURN


def test_structured_output(vendor, provider):
    vendor.reply(body=message([text('{"verdict": "repair", "score": 4}')]))

    result = provider.structured(messages=CONVERSATION[:2], output_type=Verdict)

    assert result.value == Verdict(verdict="repair", score=4)
    assert vendor.body()["output_config"] == {
        "format": {
            "type": "json_schema",
            "schema": {
                "type": "object",
                "properties": {
                    "verdict": {"enum": ["pass", "repair"], "type": "string"},
                    "score": {"type": "integer"},
                },
                "required": ["verdict", "score"],
                "additionalProperties": False,
            },
        }
    }


def test_structured_output_is_repaired_once(vendor, provider):
    vendor.reply(body=message([text('{"verdict": "maybe", "score": 4}')]))
    vendor.reply(body=message([text('{"verdict": "repair", "score": 4}')]))

    result = provider.structured(messages=CONVERSATION[:2], output_type=Verdict)

    assert result.value == Verdict(verdict="repair", score=4)
    assert result.repaired is True
    assert result.usage == Usage(input_tokens=200, output_tokens=50)


def test_rate_limit_then_success(vendor, provider, sleeps):
    vendor.reply(
        429,
        {"type": "error", "error": {"type": "rate_limit_error", "message": "Slow down"}},
        {"retry-after": "3"},
    )
    vendor.reply(body=message([text("Done.")]))

    result = provider.run_turn(messages=CONVERSATION[:2], tools=[])

    assert result.text == "Done."
    assert len(vendor.requests) == 2
    assert sleeps == [3.0]


def test_overloaded_and_connection_errors_are_retried(vendor, provider, sleeps):
    vendor.reply(529, {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}})
    vendor.fail_connection()
    vendor.reply(body=message([text("Done.")]))

    result = provider.run_turn(messages=CONVERSATION[:2], tools=[])

    assert result.text == "Done."
    assert len(vendor.requests) == 3
    assert sleeps == [1.0, 2.0]


def test_retries_stop_after_the_last_attempt(vendor, provider, sleeps):
    for _ in range(4):
        vendor.reply(500, {"type": "error", "error": {"type": "api_error", "message": "boom"}})

    with pytest.raises(ProviderTransientError):
        provider.run_turn(messages=CONVERSATION[:2], tools=[])

    assert len(vendor.requests) == 4
    assert sleeps == [1.0, 2.0, 4.0]


def test_bad_request_is_not_retried(vendor, provider, sleeps):
    vendor.reply(
        400,
        {"type": "error", "error": {"type": "invalid_request_error", "message": "tools.0: bad"}},
    )

    with pytest.raises(ProviderRequestError) as raised:
        provider.run_turn(messages=CONVERSATION[:2], tools=[TOOL])

    assert raised.value.status_code == 400
    assert len(vendor.requests) == 1
    assert sleeps == []


def test_refusal_maps_to_the_refusal_stop_reason(vendor, provider):
    vendor.reply(
        body=message(
            [],
            stop_reason="refusal",
            stop_details={
                "type": "refusal",
                "category": "general_harms",
                "explanation": "This request was declined.",
            },
        )
    )

    result = provider.run_turn(messages=CONVERSATION[:2], tools=[TOOL])

    assert result.stop_reason == StopReason.REFUSAL
    assert result.refusal == "This request was declined."


def test_max_tokens_maps_to_max_tokens(vendor, provider):
    vendor.reply(body=message([text("Half an ans")], stop_reason="max_tokens"))

    result = provider.run_turn(messages=CONVERSATION[:2], tools=[], max_output_tokens=16)

    assert result.stop_reason == StopReason.MAX_TOKENS
    assert vendor.body()["max_tokens"] == 16


def test_sdk_retries_are_disabled_even_on_a_given_client(vendor):
    import anthropic

    client = anthropic.Anthropic(api_key="k", http_client=vendor.http_client(), max_retries=5)
    provider = AnthropicMessagesProvider(model="claude-sonnet-4-6", client=client)

    assert provider._client.max_retries == 0
