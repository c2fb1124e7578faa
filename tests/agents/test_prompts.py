"""Prompts: one file per role, rendered with the context each needs, versioned by hash."""

from __future__ import annotations

import pytest

from factory.agents.prompts import PromptError, prompt_placeholders, prompt_render
from factory.agents.roles import ROLES

CONTEXT = {
    "request": "We are a bike rental shop.",
    "requirements": "R1. A rental links a customer to a bike.",
    "answers": "- Bikes have a frame size.",
    "spec_summary": "App 'CRM' (language en).",
    "changes": "- data_model: entity_add",
}


@pytest.mark.parametrize("role", sorted(ROLES))
def test_every_role_prompt_renders_with_its_context(role):
    definition = ROLES[role]
    needed = prompt_placeholders(definition.prompt)

    prompt = prompt_render(definition.prompt, {name: CONTEXT[name] for name in needed})

    assert "{{" not in prompt.text
    assert "We are a bike rental shop." in prompt.text
    assert prompt.text.startswith("# Role: ")
    assert prompt.version == prompt_render(definition.prompt, CONTEXT).version


def test_each_role_gets_the_context_it_needs():
    assert prompt_placeholders("analyst") == {"request", "spec_summary"}
    assert prompt_placeholders("architect") == {
        "request",
        "requirements",
        "answers",
        "spec_summary",
    }
    assert prompt_placeholders("qa") == {"request", "requirements", "changes", "spec_summary"}
    for specialist in ("data_model", "process", "automations", "screens", "api_roles"):
        assert prompt_placeholders(specialist) == {"request", "requirements", "spec_summary"}


def test_a_missing_value_is_an_error_not_a_hole():
    with pytest.raises(PromptError, match="The architect prompt needs answers, requirements"):
        prompt_render("architect", {"request": "x", "spec_summary": "y"})


def test_an_unknown_prompt_is_an_error():
    with pytest.raises(PromptError, match=r"expected the file prompts/sales_coach\.md"):
        prompt_render("sales_coach", {})
