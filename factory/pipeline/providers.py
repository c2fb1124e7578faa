"""Which model answers the agents of a change request.

A request's ``provider_config`` names its source, and it travels with the request in the
database, so the Celery worker that runs a step answers the same way as the process that
created the request:

- ``{}`` or ``{"kind": "settings"}``: the configured provider of each role (FACTORY_LLM_*);
- ``{"kind": "replay", "path": "..."}``: a recording at our provider interface (JSONL),
  answered by the replay provider, which never reaches the network (a relative path is
  read from the project folder);
- ``{"kind": "scripted", "script": {...}}``: a script book, for tests and for making the
  demo recordings: for each agent slot (``analyst:1``, ``architect``, ``task:<key>``,
  ``qa:1``), the answers the scripted provider plays, in order; or ``{"kind": "scripted",
  "path": "..."}``, the script of a scenario file. ``"record": PATH`` also writes every
  call to a recording; ``"count_tokens": true`` counts what each request would have sent
  a model, with a real tokenizer (the scripted turns then report those tokens).

New requests take FACTORY_PIPELINE_PROVIDER (JSON, empty by default) unless the caller
gives a configuration: that is how a development setup or a browser test makes the
console's requests scripted or replayed.

Nothing here decides what an agent does; it only chooses who answers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from django.conf import settings

from factory.llm.base import ModelProvider
from factory.llm.errors import ProviderConfigurationError
from factory.llm.pricing import ModelPrice
from factory.llm.recording import RecordingProvider, ReplayProvider
from factory.llm.scripted import ScriptedProvider
from factory.llm.types import StopReason, ToolCall, TurnResult

SETTINGS = "settings"
REPLAY = "replay"
SCRIPTED = "scripted"
PROVIDER_KINDS = (SETTINGS, REPLAY, SCRIPTED)


def provider_config_check(config: Mapping[str, Any]) -> None:
    """Refuse a configuration that cannot work, with a sentence saying what to fix."""
    kind = config.get("kind", SETTINGS)
    if kind not in PROVIDER_KINDS:
        raise ProviderConfigurationError(
            f"{kind!r} is not a source of answers; use one of {', '.join(PROVIDER_KINDS)}."
        )
    if kind == REPLAY and not recording_path(config).is_file():
        raise ProviderConfigurationError(
            f"There is no recording at {recording_path(config)}: give the path of a .jsonl "
            "recording."
        )
    has_book = isinstance(config.get("script"), Mapping)
    if (
        kind == SCRIPTED
        and not has_book
        and not (config.get("path") and recording_path(config).is_file())
    ):
        raise ProviderConfigurationError(
            "A scripted request needs a script book (a mapping of agent slots to answers) "
            "or the path of a scenario file holding one."
        )


def recording_path(config: Mapping[str, Any]) -> Path:
    path = Path(str(config.get("path", "")))
    return path if path.is_absolute() else Path(settings.BASE_DIR) / path


def provider_is_replay(config: Mapping[str, Any]) -> bool:
    return config.get("kind", SETTINGS) in {REPLAY, SCRIPTED}


def step_provider(
    *, config: Mapping[str, Any], role: str, slot: str, turns_done: int
) -> tuple[ModelProvider, Mapping[str, ModelPrice]]:
    """The provider (and price table) answering the run in ``slot``, which has already
    recorded ``turns_done`` turns (a resumed run continues where it stopped)."""
    from factory.llm.config import ProviderSettings, provider_for_role

    kind = config.get("kind", SETTINGS)
    if kind == SETTINGS:
        provider_settings = ProviderSettings.from_django()
        return provider_for_role(role, config=provider_settings), provider_settings.prices
    provider_config_check(config)
    if kind == REPLAY:
        return ReplayProvider.from_path(recording_path(config)), {}
    entries = script_entries(script_book(config), slot)
    provider: ModelProvider = ScriptedProvider(
        [script_entry(entry, slot=slot, index=index) for index, entry in enumerate(entries)][
            turns_done:
        ],
        token_counter=_token_counter() if config.get("count_tokens") else None,
    )
    if config.get("record"):
        provider = RecordingProvider(provider, config["record"])
    return provider, {}


def _token_counter() -> Any:
    """A real tokenizer, so offline runs report what a model would have been sent; None
    when it is not installed (a development dependency)."""
    try:
        from factory.llm.tokens import TiktokenCounter

        counter = TiktokenCounter()
        counter.count_text("")
    except Exception:  # tiktoken or its offline vocabulary missing: no counts
        return None
    return counter


def script_book(config: Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(config.get("script"), Mapping):
        return config["script"]
    from factory.pipeline.scenarios import scenario_load

    return scenario_load(recording_path(config)).script


def default_provider_config() -> dict[str, Any]:
    return dict(settings.FACTORY_PIPELINE_PROVIDER or {})


def script_entries(script: Mapping[str, Any], slot: str) -> Sequence[Any]:
    """The answers for ``slot``: its own entry, else the entry of the slot without its
    attempt number (``task:crm#2`` falls back to ``task:crm``, which then serves every
    attempt)."""
    if slot in script:
        return script[slot]
    base = slot.split("#", 1)[0]
    if base in script:
        return script[base]
    raise ProviderConfigurationError(
        f"The script book has no answers for the agent slot {slot!r}; slots it has: "
        f"{', '.join(sorted(script)) or 'none'}."
    )


def script_entry(entry: Any, *, slot: str, index: int) -> Any:
    """One scripted answer from its JSON form.

    ``{"value": {...}}`` answers a structured call (the analyst); ``{"calls": [{tool: args},
    ...], "text": "..."}`` is a tool-using turn. Call ids are made from the slot and the
    turn, so the conversation is the same every time the script is played.
    """
    if not isinstance(entry, Mapping):
        raise ProviderConfigurationError(
            f"Answer {index + 1} of slot {slot!r} must be a mapping with 'value' or 'calls'."
        )
    if "value" in entry:
        return dict(entry["value"])
    calls = []
    for number, call in enumerate(entry.get("calls", []), start=1):
        if not isinstance(call, Mapping) or len(call) != 1:
            raise ProviderConfigurationError(
                f"Call {number} of answer {index + 1} of slot {slot!r} must be written "
                "{tool_name: {arguments}}."
            )
        ((name, arguments),) = call.items()
        # Keys sorted as a recording stores them, so that playing the script and replaying
        # its recording build the very same spec (mappings such as role permissions keep
        # the order they are written in).
        arguments = json.loads(json.dumps(arguments, sort_keys=True))
        calls.append(ToolCall(id=f"{slot}-{index + 1}-{number}", name=name, arguments=arguments))
    return TurnResult(
        text=str(entry.get("text", "")),
        tool_calls=tuple(calls),
        stop_reason=StopReason.TOOL_USE if calls else StopReason.END_TURN,
        provider="scripted",
        model="scripted",
    )
