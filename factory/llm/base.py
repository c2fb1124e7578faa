"""The provider interface and what every real adapter shares: retries and structured output.

``ModelProvider`` is the one interface the agents see. ``SdkProvider`` is the base of the
adapters that talk to a vendor through its SDK: it owns the retry policy (the SDKs' own
retries are switched off so that ours are the only ones, and the sleep is injectable so
tests never wait) and the structured-output call (parse and validate on our side, one
repair try with the validation errors). Adapters only translate requests and responses.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from factory.llm.errors import (
    ProviderError,
    ProviderRequestError,
    ProviderTransientError,
    StructuredOutputError,
)
from factory.llm.types import Message, StopReason, StructuredResult, ToolSpec, TurnResult, Usage

logger = logging.getLogger(__name__)

ModelT = TypeVar("ModelT", bound=BaseModel)
ResultT = TypeVar("ResultT")

DEFAULT_MAX_OUTPUT_TOKENS = 4096


class ModelProvider(ABC):
    """One model behind one interface.

    ``name`` labels every result ("openai", "anthropic", "openai_compatible", "scripted",
    "replay"); ``billable`` says whether its usage costs money (scripted and replayed
    turns cost nothing).
    """

    name: str = "provider"
    model: str = ""
    billable: bool = True

    @abstractmethod
    def run_turn(
        self,
        *,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        max_output_tokens: int | None = None,
    ) -> TurnResult:
        """Send the conversation and the tools; return text, tool calls, stop reason, usage."""

    @abstractmethod
    def structured(
        self,
        *,
        messages: Sequence[Message],
        output_type: type[ModelT],
        max_output_tokens: int | None = None,
    ) -> StructuredResult[ModelT]:
        """Ask for an object of ``output_type``; return it validated, or raise."""


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: base_delay, 2x, 4x... capped at max_delay, with some jitter so
    that parallel agents hitting the same rate limit do not retry in lockstep."""

    max_attempts: int = 4
    base_delay: float = 1.0
    max_delay: float = 30.0
    jitter: float = 0.2

    def delay(self, attempt: int, *, retry_after: float | None, fraction: float) -> float:
        computed = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        if retry_after is not None:
            computed = max(computed, min(retry_after, self.max_delay))
        return computed * (1 - self.jitter * fraction)


@dataclass(frozen=True)
class RawStructured:
    """A vendor's raw answer to a structured-output request, before our validation."""

    text: str
    usage: Usage
    stop_reason: StopReason
    refusal: str = ""


class SdkProvider(ModelProvider):
    def __init__(
        self,
        *,
        model: str,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        random_fraction: Callable[[], float] = random.random,
        max_output_tokens: int = DEFAULT_MAX_OUTPUT_TOKENS,
    ) -> None:
        self.model = model
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._random_fraction = random_fraction
        self.max_output_tokens = max_output_tokens

    # What each adapter provides -------------------------------------------------------

    @abstractmethod
    def _send_turn(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec], max_output_tokens: int
    ) -> TurnResult: ...

    @abstractmethod
    def _send_structured(
        self, messages: Sequence[Message], output_type: type[BaseModel], max_output_tokens: int
    ) -> RawStructured: ...

    @abstractmethod
    def _translate_error(self, error: Exception) -> ProviderError | None:
        """Map an SDK exception to ours, or None when it is not the SDK's."""

    # The shared behaviour --------------------------------------------------------------

    def run_turn(
        self,
        *,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        max_output_tokens: int | None = None,
    ) -> TurnResult:
        limit = max_output_tokens or self.max_output_tokens
        return self._with_retries(lambda: self._send_turn(messages, tools, limit))

    def structured(
        self,
        *,
        messages: Sequence[Message],
        output_type: type[ModelT],
        max_output_tokens: int | None = None,
    ) -> StructuredResult[ModelT]:
        limit = max_output_tokens or self.max_output_tokens
        conversation = list(messages)
        usage = Usage()
        for attempt in (1, 2):
            raw = self._with_retries(
                partial(self._send_structured, conversation, output_type, limit)
            )
            usage = usage + raw.usage
            if raw.stop_reason == StopReason.REFUSAL:
                raise StructuredOutputError(
                    f"The model refused to answer: {raw.refusal or 'no reason given'}.",
                    last_output=raw.text,
                )
            try:
                value = parse_structured(raw.text, output_type)
            except StructuredOutputError as error:
                if attempt == 2:
                    raise StructuredOutputError(
                        f"The model's answer is still invalid after one repair try: "
                        f"{error.message}",
                        last_output=raw.text,
                        problems=error.problems,
                    ) from error
                conversation = [
                    *conversation,
                    Message.assistant(raw.text),
                    Message.user(repair_instruction(error.message, raw.stop_reason)),
                ]
                continue
            return StructuredResult(
                value=value,
                usage=usage,
                provider=self.name,
                model=self.model,
                repaired=attempt == 2,
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def _with_retries(self, call: Callable[[], ResultT]) -> ResultT:
        attempt = 1
        while True:
            try:
                return call()
            except ProviderError:
                raise
            except Exception as error:
                translated = self._translate_error(error)
                if translated is None:
                    raise
                if not translated.retryable or attempt >= self.retry.max_attempts:
                    raise translated from error
                retry_after = getattr(translated, "retry_after", None)
                delay = self.retry.delay(
                    attempt, retry_after=retry_after, fraction=self._random_fraction()
                )
                logger.warning(
                    "%s: %s; retry %d of %d in %.1fs",
                    self.name,
                    translated.message,
                    attempt,
                    self.retry.max_attempts - 1,
                    delay,
                )
                self._sleep(delay)
                attempt += 1


def translate_status_error(
    error: Exception,
    *,
    vendor: str,
    status_error: type[Exception],
    connection_error: type[Exception],
) -> ProviderError | None:
    """The common rule for Stainless-style SDKs (OpenAI and Anthropic alike)."""
    if isinstance(error, connection_error):
        return ProviderTransientError(f"{vendor}: the connection failed ({error})")
    if not isinstance(error, status_error):
        return None
    status: int = getattr(error, "status_code", 0)
    response = getattr(error, "response", None)
    headers: Any = getattr(response, "headers", {}) or {}
    detail = str(getattr(error, "message", "") or error)
    if status == 429 or status >= 500:
        return ProviderTransientError(
            f"{vendor} answered {status}: {detail}",
            status_code=status,
            retry_after=_retry_after_seconds(headers),
        )
    return ProviderRequestError(
        f"{vendor} refused the request ({status}): {detail}", status_code=status
    )


def _retry_after_seconds(headers: Any) -> float | None:
    for name in ("retry-after-ms", "retry-after"):
        value = headers.get(name) if hasattr(headers, "get") else None
        if value is None:
            continue
        try:
            seconds = float(value)
        except ValueError:
            continue
        return seconds / 1000 if name == "retry-after-ms" else seconds
    return None


_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


def parse_structured(text: str, output_type: type[ModelT]) -> ModelT:
    """Parse and validate a model's JSON answer; local models often wrap it in fences."""
    candidate = text.strip()
    fenced = _FENCE.match(candidate)
    if fenced:
        candidate = fenced.group(1)
    if not candidate.startswith("{") and "{" in candidate:
        candidate = candidate[candidate.index("{") : candidate.rindex("}") + 1]
    try:
        data = json.loads(candidate)
    except json.JSONDecodeError as error:
        raise StructuredOutputError(
            f"the answer is not valid JSON ({error.msg} at character {error.pos})",
            last_output=text,
        ) from error
    try:
        return output_type.model_validate(data)
    except ValidationError as error:
        problems = describe_validation_error(error)
        raise StructuredOutputError(
            "the answer does not match the schema: " + "; ".join(problems),
            last_output=text,
            problems=problems,
        ) from error


def describe_validation_error(error: ValidationError) -> list[str]:
    """Pydantic errors as short 'path: problem' lines a model (or a person) can act on."""
    lines = []
    for item in error.errors(include_url=False):
        path = ".".join(str(part) for part in item["loc"]) or "(top level)"
        lines.append(f"{path}: {item['msg']}")
    return lines


def repair_instruction(problem: str, stop_reason: StopReason) -> str:
    cut = (
        " Your answer was cut at the token limit: be shorter."
        if stop_reason == "max_tokens"
        else ""
    )
    return (
        f"Your answer could not be used: {problem}.{cut} "
        "Answer again with only the corrected JSON object, nothing around it."
    )
