"""Fixtures of the agent harness tests: a small spec, the template, budgets."""

from __future__ import annotations

import pytest

from factory.agents.budgets import AgentBudget
from factory.spec.models import AppSpec


def small_spec_data() -> dict:
    return {
        "name": "Small CRM",
        "entities": [
            {
                "id": "company",
                "name": "Company",
                "label": "company",
                "label_plural": "companies",
                "fields": [
                    {
                        "id": "company_name",
                        "name": "name",
                        "label": "Name",
                        "type": "text",
                        "required": True,
                        "max_length": 200,
                    },
                    {
                        "id": "company_budget",
                        "name": "budget",
                        "label": "Budget",
                        "type": "decimal",
                        "max_digits": 12,
                        "decimal_places": 2,
                    },
                ],
                "display": ["name"],
            }
        ],
        "choice_lists": [
            {
                "id": "industry",
                "key": "industry",
                "name": "Industry",
                "options": [
                    {"value": "software", "label": "Software"},
                    {"value": "retail", "label": "Retail"},
                ],
            }
        ],
        "roles": [{"id": "member", "name": "Member", "permissions": {"company": ["view"]}}],
    }


@pytest.fixture
def small_spec() -> AppSpec:
    return AppSpec.model_validate(small_spec_data())


@pytest.fixture
def budget() -> AgentBudget:
    return AgentBudget(
        max_turns=10, max_input_tokens=100_000, max_output_tokens=10_000, max_cost=None
    )
