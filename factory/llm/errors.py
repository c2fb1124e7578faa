"""Errors a provider raises, whatever the vendor: callers catch these, never SDK errors.

``retryable`` decides the retry policy in one place: rate limits (429), server errors
(5xx) and connection failures are worth another try; anything else (a 400, a bad key, a
replay miss) fails at once because sending the same request again cannot help.
"""

from __future__ import annotations

from typing import Any


class ProviderError(Exception):
    retryable = False

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


class ProviderTransientError(ProviderError):
    """Rate limited, server error or connection lost: retried with backoff."""

    retryable = True

    def __init__(
        self, message: str, *, status_code: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, status_code=status_code)
        self.retry_after = retry_after


class ProviderRequestError(ProviderError):
    """The vendor refused the request itself (bad request, key, permission): not retried."""


class ProviderConfigurationError(ProviderError):
    """The provider cannot be built from the settings (missing key, unknown name)."""


class StructuredOutputError(ProviderError):
    """The model's answer did not validate, even after the repair try."""

    def __init__(self, message: str, *, last_output: str = "", problems: Any = None) -> None:
        super().__init__(message)
        self.last_output = last_output
        self.problems = problems


class ReplayMissError(ProviderError):
    """A replay was asked something that was never recorded: fail loudly, never go online."""


class ScriptExhaustedError(ProviderError):
    """A scripted provider was called more times than its script has entries."""
