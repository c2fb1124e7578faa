"""Providers are built from settings: adapter, model per role, keys, recording, replay."""

from __future__ import annotations

import pytest

from factory.llm.anthropic_messages import AnthropicMessagesProvider
from factory.llm.config import ProviderSettings, provider_for_role
from factory.llm.errors import ProviderConfigurationError
from factory.llm.openai_compatible import OpenAICompatibleProvider
from factory.llm.openai_responses import OpenAIResponsesProvider
from factory.llm.recording import RecordingProvider, ReplayProvider


def test_settings_are_read_from_django(settings):
    settings.FACTORY_LLM_PROVIDER = "anthropic"
    settings.FACTORY_LLM_MODEL = "claude-haiku-4-5"
    settings.FACTORY_LLM_ROLE_MODELS = {"architect": "claude-opus-4-5", "qa": ""}
    settings.ANTHROPIC_API_KEY = "sk-ant"
    settings.FACTORY_LLM_TIMEOUT = 30
    settings.FACTORY_LLM_PRICES = {"claude-haiku-4-5": {"input": "1", "output": "5"}}

    config = ProviderSettings.from_django()

    assert config.provider == "anthropic"
    assert config.model_for("architect") == "claude-opus-4-5"
    assert config.model_for("qa") == "claude-haiku-4-5"
    assert config.timeout == 30.0
    assert config.prices["claude-haiku-4-5"].output_per_million == 5


def test_each_role_gets_its_model_and_the_right_adapter():
    config = ProviderSettings(
        provider="openai", openai_api_key="sk", role_models={"data_model": "gpt-5"}
    )

    data_model = provider_for_role("data_model", config=config)
    analyst = provider_for_role("analyst", config=config)

    assert isinstance(data_model, OpenAIResponsesProvider)
    assert (data_model.model, analyst.model) == ("gpt-5", "gpt-5-mini")
    assert data_model._client.max_retries == 0


def test_anthropic_and_compatible_adapters():
    anthropic = provider_for_role(
        "qa", config=ProviderSettings(provider="anthropic", anthropic_api_key="k")
    )
    compatible = provider_for_role(
        "qa",
        config=ProviderSettings(
            provider="openai_compatible",
            base_url="http://127.0.0.1:8080/v1",
            default_model="llama-3.1-8b",
        ),
    )

    assert isinstance(anthropic, AnthropicMessagesProvider)
    assert anthropic.model == "claude-sonnet-4-6"
    assert isinstance(compatible, OpenAICompatibleProvider)
    assert str(compatible._client.base_url) == "http://127.0.0.1:8080/v1/"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (ProviderSettings(provider="openai"), "OPENAI_API_KEY is not set"),
        (ProviderSettings(provider="anthropic"), "ANTHROPIC_API_KEY is not set"),
        (
            ProviderSettings(provider="openai_compatible", default_model="m"),
            "FACTORY_LLM_BASE_URL is empty",
        ),
        (
            ProviderSettings(provider="openai_compatible", base_url="http://127.0.0.1:1/v1"),
            "No model is set for the OpenAI-compatible server",
        ),
        (ProviderSettings(provider="replay"), "FACTORY_LLM_REPLAY_PATH is empty"),
        (ProviderSettings(provider="gemini"), "'gemini', which is not a provider"),
    ],
)
def test_configuration_errors_say_what_to_set(config, message):
    with pytest.raises(ProviderConfigurationError, match=message):
        provider_for_role("analyst", config=config)


def test_record_path_wraps_the_live_provider(tmp_path):
    config = ProviderSettings(
        provider="openai", openai_api_key="sk", record_path=str(tmp_path / "rec.jsonl")
    )

    provider = provider_for_role("qa", config=config)

    assert isinstance(provider, RecordingProvider)
    assert isinstance(provider.inner, OpenAIResponsesProvider)
    assert provider.name == "openai"


def test_replay_reads_the_recording(tmp_path):
    path = tmp_path / "rec.jsonl"
    path.write_text("")

    provider = provider_for_role(
        "qa", config=ProviderSettings(provider="replay", replay_path=str(path))
    )

    assert isinstance(provider, ReplayProvider)
    assert provider.name == "replay"
    assert not hasattr(provider, "_client")
