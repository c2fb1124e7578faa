"""Build the provider an agent role uses, from settings (themselves read from the env).

The only place that reads the ``FACTORY_LLM_*`` settings. ``provider_for_role`` picks the
adapter (openai, anthropic, openai_compatible, replay), the model for the role (a role's
own model, else the default, else the adapter's default), the keys, base URL, timeout and
retry policy, and wraps the provider in a recorder when a record path is set. A missing
key or model is reported as a sentence that says which variable to set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from factory.llm.base import ModelProvider, RetryPolicy
from factory.llm.errors import ProviderConfigurationError
from factory.llm.pricing import ModelPrice, price_table

PROVIDER_NAMES = ("openai", "anthropic", "openai_compatible", "replay")
DEFAULT_MODELS = {"openai": "gpt-5-mini", "anthropic": "claude-sonnet-4-6"}


@dataclass(frozen=True)
class ProviderSettings:
    provider: str = "openai"
    default_model: str = ""
    role_models: Mapping[str, str] = field(default_factory=dict)
    openai_api_key: str = ""
    anthropic_api_key: str = ""
    base_url: str = ""
    compatible_api_key: str = ""
    timeout: float = 120.0
    max_attempts: int = 4
    max_output_tokens: int = 4096
    record_path: str = ""
    replay_path: str = ""
    prices: Mapping[str, ModelPrice] = field(default_factory=dict)

    @classmethod
    def from_django(cls) -> ProviderSettings:
        from django.conf import settings

        def read(name: str, default: Any) -> Any:
            return getattr(settings, name, default)

        return cls(
            provider=read("FACTORY_LLM_PROVIDER", "openai"),
            default_model=read("FACTORY_LLM_MODEL", ""),
            role_models=dict(read("FACTORY_LLM_ROLE_MODELS", {})),
            openai_api_key=read("OPENAI_API_KEY", ""),
            anthropic_api_key=read("ANTHROPIC_API_KEY", ""),
            base_url=read("FACTORY_LLM_BASE_URL", ""),
            compatible_api_key=read("FACTORY_LLM_API_KEY", ""),
            timeout=float(read("FACTORY_LLM_TIMEOUT", 120.0)),
            max_attempts=int(read("FACTORY_LLM_MAX_ATTEMPTS", 4)),
            max_output_tokens=int(read("FACTORY_LLM_MAX_OUTPUT_TOKENS", 4096)),
            record_path=read("FACTORY_LLM_RECORD_PATH", ""),
            replay_path=read("FACTORY_LLM_REPLAY_PATH", ""),
            prices=price_table(read("FACTORY_LLM_PRICES", {})),
        )

    def model_for(self, role: str) -> str:
        model = self.role_models.get(role) or self.default_model
        if model:
            return model
        if self.provider in DEFAULT_MODELS:
            return DEFAULT_MODELS[self.provider]
        if self.provider == "openai_compatible":
            raise ProviderConfigurationError(
                "No model is set for the OpenAI-compatible server: set FACTORY_LLM_MODEL to "
                "a model name the server serves."
            )
        return ""


def provider_for_role(
    role: str, *, config: ProviderSettings | None = None, **options: Any
) -> ModelProvider:
    """The provider for an agent role. ``options`` reach the adapter (``http_client``,
    ``sleep``...), which is how tests inject a mock transport."""
    config = config or ProviderSettings.from_django()
    provider = _build(config, role, options)
    if config.record_path and config.provider != "replay":
        from factory.llm.recording import RecordingProvider

        provider = RecordingProvider(provider, config.record_path)
    return provider


def _build(config: ProviderSettings, role: str, options: dict[str, Any]) -> ModelProvider:
    name = config.provider
    if name == "replay":
        from factory.llm.recording import ReplayProvider

        if not config.replay_path:
            raise ProviderConfigurationError(
                "FACTORY_LLM_PROVIDER is replay but FACTORY_LLM_REPLAY_PATH is empty: set it "
                "to a recording (a .jsonl file written with FACTORY_LLM_RECORD_PATH)."
            )
        return ReplayProvider.from_path(config.replay_path)
    common: dict[str, Any] = {
        "model": config.model_for(role),
        "timeout": config.timeout,
        "retry": RetryPolicy(max_attempts=config.max_attempts),
        "max_output_tokens": config.max_output_tokens,
        **options,
    }
    if name == "openai":
        if not config.openai_api_key:
            raise ProviderConfigurationError(
                "OPENAI_API_KEY is not set: set it, or choose another FACTORY_LLM_PROVIDER "
                "(anthropic, openai_compatible, replay)."
            )
        from factory.llm.openai_responses import OpenAIResponsesProvider

        return OpenAIResponsesProvider(
            api_key=config.openai_api_key, base_url=config.base_url or None, **common
        )
    if name == "anthropic":
        if not config.anthropic_api_key:
            raise ProviderConfigurationError(
                "ANTHROPIC_API_KEY is not set: set it, or choose another FACTORY_LLM_PROVIDER "
                "(openai, openai_compatible, replay)."
            )
        from factory.llm.anthropic_messages import AnthropicMessagesProvider

        return AnthropicMessagesProvider(
            api_key=config.anthropic_api_key, base_url=config.base_url or None, **common
        )
    if name == "openai_compatible":
        if not config.base_url:
            raise ProviderConfigurationError(
                "FACTORY_LLM_PROVIDER is openai_compatible but FACTORY_LLM_BASE_URL is empty: "
                "set it to the server's /v1 address."
            )
        from factory.llm.openai_compatible import OpenAICompatibleProvider

        return OpenAICompatibleProvider(
            base_url=config.base_url, api_key=config.compatible_api_key or None, **common
        )
    raise ProviderConfigurationError(
        f"FACTORY_LLM_PROVIDER is {name!r}, which is not a provider: use one of "
        + ", ".join(PROVIDER_NAMES)
        + "."
    )
