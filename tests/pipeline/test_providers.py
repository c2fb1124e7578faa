"""Who answers a request's agents: its script book, a recording, or the configured model."""

from __future__ import annotations

import pytest

from factory.llm.errors import ProviderConfigurationError
from factory.llm.recording import ReplayProvider
from factory.llm.scripted import ScriptedProvider
from factory.pipeline.demo import RECORDING_PATH
from factory.pipeline.providers import step_provider


def test_a_scripted_slot_plays_its_answers_with_stable_call_ids():
    config = {"kind": "scripted", "script": {"task:bikes": [{"calls": [{"spec_summary": {}}]}]}}

    provider, prices = step_provider(
        config=config, role="data_model", slot="task:bikes#2", turns_done=0
    )

    assert isinstance(provider, ScriptedProvider)
    turn = provider.run_turn(messages=[], tools=[])
    assert [(call.id, call.name) for call in turn.tool_calls] == [
        ("task:bikes#2-1-1", "spec_summary")
    ]
    assert (turn.provider, prices) == ("scripted", {})


def test_a_resumed_slot_skips_the_turns_already_recorded():
    config = {"kind": "scripted", "script": {"qa:1": [{"text": "one"}, {"text": "two"}]}}

    provider, _prices = step_provider(config=config, role="qa", slot="qa:1", turns_done=1)

    assert provider.run_turn(messages=[], tools=[]).text == "two"
    assert provider.remaining == 0


def test_a_slot_missing_from_the_script_is_named():
    config = {"kind": "scripted", "script": {"architect": []}}

    with pytest.raises(ProviderConfigurationError, match="no answers for the agent slot 'qa:1'"):
        step_provider(config=config, role="qa", slot="qa:1", turns_done=0)


def test_a_replay_reads_the_recording_and_never_a_network():
    provider, _prices = step_provider(
        config={"kind": "replay", "path": str(RECORDING_PATH)}, role="qa", slot="qa:1", turns_done=0
    )

    assert isinstance(provider, ReplayProvider)
    assert provider.billable is False
