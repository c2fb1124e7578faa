"""Contract tests of the OpenAI adapter through the real SDK (Responses API)."""

from __future__ import annotations

from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field

from factory.llm.errors import ProviderRequestError, ProviderTransientError, StructuredOutputError
from factory.llm.openai_responses import OpenAIResponsesProvider
from factory.llm.types import Message, StopReason, ToolCall, ToolSpec, Usage

TOOL = ToolSpec(
    name="field_add",
    description="Add a field.",
    parameters={
        "type": "object",
        "properties": {"entity": {"type": "string"}, "name": {"type": "string"}},
        "required": ["entity", "name"],
    },
)


class Verdict(BaseModel):
    verdict: Literal["pass", "repair"]
    score: int = Field(ge=0, le=10)


def response(
    output: list[dict[str, Any]],
    *,
    status: str = "completed",
    incomplete: str | None = None,
    input_tokens: int = 120,
    output_tokens: int = 30,
    cached: int = 20,
) -> dict[str, Any]:
    return {
        "id": "resp_1",
        "object": "response",
        "created_at": 1,
        "model": "gpt-5-mini-2025-08-07",
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "status": status,
        "incomplete_details": {"reason": incomplete} if incomplete else None,
        "usage": {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": 0},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": input_tokens + output_tokens,
        },
    }


def text_message(text: str) -> dict[str, Any]:
    return {
        "type": "message",
        "id": "msg_1",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


def function_call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {
        "type": "function_call",
        "id": f"fc_{call_id}",
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
        "status": "completed",
    }


@pytest.fixture
def provider(vendor, no_wait) -> OpenAIResponsesProvider:
    return OpenAIResponsesProvider(
        model="gpt-5-mini", api_key="sk-test", http_client=vendor.http_client(), **no_wait
    )


CONVERSATION = [
    Message.system("You edit specs."),
    Message.user("Add a status field to company."),
    Message.assistant(
        "Adding it.",
        (ToolCall(id="call_1", name="field_add", arguments={"entity": "company", "name": "x"}),),
    ),
    Message.tool_result(
        ToolCall(id="call_1", name="field_add"), "Invalid name 'x'.", is_error=True
    ),
]


def test_tool_call_round_trip(vendor, provider):
    vendor.reply(
        body=response(
            [
                text_message("Fixing the name."),
                function_call("call_2", "field_add", '{"entity": "company", "name": "status"}'),
            ]
        )
    )

    result = provider.run_turn(messages=CONVERSATION, tools=[TOOL])

    assert len(vendor.requests) == 1
    request = vendor.requests[0]
    assert request.url.path == "/v1/responses"
    assert request.headers["authorization"] == "Bearer sk-test"
    assert vendor.body() == {
        "model": "gpt-5-mini",
        "instructions": "You edit specs.",
        "input": [
            {"role": "user", "content": "Add a status field to company."},
            {"role": "assistant", "content": "Adding it."},
            {
                "type": "function_call",
                "call_id": "call_1",
                "name": "field_add",
                "arguments": '{"entity": "company", "name": "x"}',
            },
            {"type": "function_call_output", "call_id": "call_1", "output": "Invalid name 'x'."},
        ],
        "tools": [
            {
                "type": "function",
                "name": "field_add",
                "description": "Add a field.",
                "parameters": TOOL.parameters,
                "strict": False,
            }
        ],
        "max_output_tokens": 4096,
        "store": False,
    }
    assert result.text == "Fixing the name."
    assert result.tool_calls == (
        ToolCall(id="call_2", name="field_add", arguments={"entity": "company", "name": "status"}),
    )
    assert result.stop_reason == StopReason.TOOL_USE
    assert result.provider == "openai"
    assert result.model == "gpt-5-mini-2025-08-07"


def test_usage_is_parsed(vendor, provider):
    vendor.reply(
        body=response([text_message("Done.")], input_tokens=1500, output_tokens=70, cached=1024)
    )

    result = provider.run_turn(messages=CONVERSATION[:2], tools=[])

    assert result.usage == Usage(input_tokens=1500, output_tokens=70, cached_input_tokens=1024)
    assert result.stop_reason == StopReason.END_TURN
    assert "tools" not in vendor.body()


def test_unreadable_arguments_become_a_malformed_call(vendor, provider):
    vendor.reply(body=response([function_call("call_9", "field_add", '{"entity": "comp')]))

    result = provider.run_turn(messages=CONVERSATION[:2], tools=[TOOL])

    (call,) = result.tool_calls
    assert call.arguments == {}
    assert call.arguments_error.startswith("the arguments are not valid JSON")


def test_structured_output(vendor, provider):
    vendor.reply(body=response([text_message('{"verdict": "pass", "score": 9}')]))

    result = provider.structured(messages=CONVERSATION[:2], output_type=Verdict)

    assert result.value == Verdict(verdict="pass", score=9)
    assert result.repaired is False
    assert result.usage == Usage(input_tokens=120, output_tokens=30, cached_input_tokens=20)
    text_format = vendor.body()["text"]["format"]
    assert text_format["type"] == "json_schema"
    assert text_format["name"] == "Verdict"
    assert text_format["schema"] == {
        "type": "object",
        "properties": {
            "verdict": {"enum": ["pass", "repair"], "type": "string"},
            "score": {"type": "integer"},
        },
        "required": ["verdict", "score"],
        "additionalProperties": False,
    }


def test_structured_output_is_repaired_once(vendor, provider):
    vendor.reply(body=response([text_message('{"verdict": "pass", "score": 11}')]))
    vendor.reply(body=response([text_message('{"verdict": "pass", "score": 10}')]))

    result = provider.structured(messages=CONVERSATION[:2], output_type=Verdict)

    assert result.value == Verdict(verdict="pass", score=10)
    assert result.repaired is True
    assert result.usage.input_tokens == 240
    repair = vendor.body(1)["input"]
    assert repair[-2] == {"role": "assistant", "content": '{"verdict": "pass", "score": 11}'}
    assert repair[-1]["content"].startswith(
        "Your answer could not be used: the answer does not match the schema: score: "
    )


def test_structured_output_fails_after_the_repair_try(vendor, provider):
    vendor.reply(body=response([text_message("not json")]))
    vendor.reply(body=response([text_message("still not json")]))

    with pytest.raises(StructuredOutputError, match="still invalid after one repair try"):
        provider.structured(messages=CONVERSATION[:2], output_type=Verdict)
    assert len(vendor.requests) == 2


def test_rate_limit_then_success(vendor, provider, sleeps):
    vendor.reply(
        429, {"error": {"message": "Rate limit", "type": "rate_limit"}}, {"retry-after": "2"}
    )
    vendor.reply(body=response([text_message("Done.")]))

    result = provider.run_turn(messages=CONVERSATION[:2], tools=[TOOL])

    assert result.text == "Done."
    assert len(vendor.requests) == 2  # the SDK's own retries are off: ours are the only ones
    assert sleeps == [2.0]


def test_server_error_and_connection_error_are_retried(vendor, provider, sleeps):
    vendor.reply(500, {"error": {"message": "boom"}})
    vendor.fail_connection()
    vendor.reply(body=response([text_message("Done.")]))

    result = provider.run_turn(messages=CONVERSATION[:2], tools=[])

    assert result.text == "Done."
    assert len(vendor.requests) == 3
    assert sleeps == [1.0, 2.0]


def test_retries_stop_after_the_last_attempt(vendor, provider, sleeps):
    for _ in range(4):
        vendor.reply(503, {"error": {"message": "overloaded"}})

    with pytest.raises(ProviderTransientError) as raised:
        provider.run_turn(messages=CONVERSATION[:2], tools=[])

    assert raised.value.status_code == 503
    assert len(vendor.requests) == 4
    assert sleeps == [1.0, 2.0, 4.0]


def test_bad_request_is_not_retried(vendor, provider, sleeps):
    vendor.reply(400, {"error": {"message": "Invalid schema for function 'field_add'."}})

    with pytest.raises(ProviderRequestError) as raised:
        provider.run_turn(messages=CONVERSATION[:2], tools=[TOOL])

    assert raised.value.status_code == 400
    assert "Invalid schema" in raised.value.message
    assert len(vendor.requests) == 1
    assert sleeps == []


def test_refusal_maps_to_the_refusal_stop_reason(vendor, provider):
    vendor.reply(
        body=response(
            [
                {
                    "type": "message",
                    "id": "msg_1",
                    "role": "assistant",
                    "status": "completed",
                    "content": [{"type": "refusal", "refusal": "I can't help with that."}],
                }
            ]
        )
    )

    result = provider.run_turn(messages=CONVERSATION[:2], tools=[TOOL])

    assert result.stop_reason == StopReason.REFUSAL
    assert result.refusal == "I can't help with that."
    assert result.tool_calls == ()


def test_max_output_tokens_maps_to_max_tokens(vendor, provider):
    vendor.reply(
        body=response(
            [text_message("Half an ans")], status="incomplete", incomplete="max_output_tokens"
        )
    )

    result = provider.run_turn(messages=CONVERSATION[:2], tools=[TOOL], max_output_tokens=16)

    assert result.stop_reason == StopReason.MAX_TOKENS
    assert result.raw_stop_reason == "max_output_tokens"
    assert vendor.body()["max_output_tokens"] == 16


def test_sdk_retries_are_disabled_even_on_a_given_client(vendor):
    import openai

    client = openai.OpenAI(api_key="sk-test", http_client=vendor.http_client(), max_retries=5)
    provider = OpenAIResponsesProvider(model="gpt-5-mini", client=client)

    assert provider._client.max_retries == 0
