"""Small app specs the evolution tests start from, and helpers to change a copy of them."""

from __future__ import annotations

from factory.spec.models import (
    AppSpec,
    ChoiceListSpec,
    ChoiceOptionSpec,
    EntitySpec,
    FieldSpec,
)
from factory.spec.template import template_app_spec

# Lists the kit itself needs (task status and priority), as the template has them.
KIT_LISTS = ("task_status", "task_priority")


def recruiting_spec() -> AppSpec:
    """Two entities with one field of each kind the evolution tests change."""
    return AppSpec(
        name="Recruiting",
        entities=[
            EntitySpec(
                id="candidate",
                name="Candidate",
                label="candidate",
                label_plural="candidates",
                fields=[
                    FieldSpec(
                        id="candidate_full_name",
                        name="full_name",
                        label="full name",
                        type="text",
                        required=True,
                        max_length=120,
                    ),
                    FieldSpec(id="candidate_salary", name="salary", label="salary", type="integer"),
                    FieldSpec(
                        id="candidate_title",
                        name="title",
                        label="title",
                        type="text",
                        max_length=100,
                    ),
                    FieldSpec(
                        id="candidate_level",
                        name="level",
                        label="level",
                        type="text",
                        max_length=50,
                    ),
                    FieldSpec(id="candidate_bio", name="bio", label="bio", type="long_text"),
                    FieldSpec(
                        id="candidate_available_from",
                        name="available_from",
                        label="available from",
                        type="date",
                    ),
                ],
                display=["full_name"],
            ),
            EntitySpec(
                id="client",
                name="Client",
                label="client",
                label_plural="clients",
                fields=[
                    FieldSpec(
                        id="client_company_name",
                        name="company_name",
                        label="company name",
                        type="text",
                        required=True,
                        max_length=200,
                    ),
                    FieldSpec(
                        id="client_budget",
                        name="budget",
                        label="budget",
                        type="decimal",
                        max_digits=10,
                        decimal_places=2,
                    ),
                    FieldSpec(
                        id="client_seniority",
                        name="seniority",
                        label="seniority wanted",
                        type="choice",
                        choice_list="seniority",
                    ),
                ],
                display=["company_name"],
            ),
        ],
        choice_lists=[
            ChoiceListSpec(
                id="seniority",
                key="seniority",
                name="Seniority",
                options=[
                    ChoiceOptionSpec(value="junior", label="Junior"),
                    ChoiceOptionSpec(value="senior", label="Senior"),
                    ChoiceOptionSpec(value="lead", label="Lead developer"),
                ],
            ),
            *[item for item in template_app_spec().choice_lists if item.key in KIT_LISTS],
        ],
    )


def field_of(spec: AppSpec, entity_id: str, field_id: str) -> FieldSpec:
    return next(f for f in spec.entity(entity_id).fields if f.id == field_id)
