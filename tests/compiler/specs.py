"""Specs the compiler tests build on.

``recruiting_spec`` uses every field type, computed fields, the three automation triggers,
a pipeline with a board, inlines, a many-to-many link with and without extra data, a
read-only endpoint and custom roles; its labels, help texts, choice labels, stage and
pipeline names, task titles and role names are hostile strings (quotes, backslashes,
newlines, triple quotes, template braces, code) that must come out verbatim.
``wide_spec`` builds a spec of any number of entities, for the benchmark.
"""

from __future__ import annotations

from typing import Any

from factory.spec.models import AppSpec
from factory.spec.template import template_app_spec

HOSTILE = [
    'Fee "quoted"',
    "it's 'single'",
    "back\\slash \\n not a newline",
    "new\nline",
    'triple """ quotes',
    "template {{ braces }} {% tag %} ${dollar}",
    "'); import os  # \"",
    "tab\there and nul-free \x7f unicode é 中文 \u2028",
]


def kit_choice_lists() -> list[dict[str, Any]]:
    """The choice lists the kit's tasks need, as the template has them."""
    template = template_app_spec()
    return [
        choice_list.model_dump(mode="json")
        for choice_list in template.choice_lists
        if choice_list.key in {"task_status", "task_priority"}
    ]


def field(entity: str, name: str, type_: str, label: str | None = None, **options: Any) -> dict:
    return {
        "id": f"{entity}_{name}",
        "name": name,
        "label": label or name.replace("_", " "),
        "type": type_,
        **options,
    }


def recruiting_data() -> dict[str, Any]:
    return {
        "name": HOSTILE[6],
        "description": HOSTILE[4],
        "choice_lists": [
            *kit_choice_lists(),
            {
                "id": "client_status",
                "key": "client_status",
                "name": HOSTILE[0],
                "options": [
                    {"value": "prospect", "label": HOSTILE[1]},
                    {"value": "active", "label": HOSTILE[3]},
                ],
            },
            {
                "id": "skills",
                "key": "skills",
                "name": "Skills",
                "options": [
                    {"value": "python", "label": HOSTILE[5]},
                    {"value": "ml", "label": "ML / AI"},
                ],
            },
        ],
        "entities": [
            {
                "id": "client",
                "name": "Client",
                "label": HOSTILE[0],
                "label_plural": HOSTILE[1],
                "description": HOSTILE[2],
                "fields": [
                    field("client", "name", "text", HOSTILE[2], required=True, unique=True),
                    field("client", "website", "url", help_text=HOSTILE[3]),
                    field(
                        "client",
                        "status",
                        "choice",
                        choice_list="client_status",
                        required=True,
                        default="prospect",
                    ),
                    field("client", "headcount", "integer", min_value=1, max_value=10_000),
                    field("client", "terms", "long_text", HOSTILE[4]),
                    field("client", "contract_start", "date", default="today"),
                    field("client", "active", "boolean", default=True),
                    field(
                        "client",
                        "score",
                        "decimal",
                        max_digits=5,
                        decimal_places=2,
                        min_value=0,
                        max_value=100,
                    ),
                ],
                "display": ["name"],
                "admin": {
                    "list_display": ["name", "status", "owner"],
                    "list_filter": ["status"],
                    "search_fields": ["name"],
                },
                "api": {
                    "filter_fields": ["status"],
                    "search_fields": ["name"],
                    "ordering_fields": ["name"],
                },
            },
            {
                "id": "candidate",
                "name": "Candidate",
                "label": "candidate",
                "label_plural": "candidates",
                "fields": [
                    field("candidate", "first_name", "text", max_length=80),
                    field("candidate", "last_name", "text", required=True, max_length=80),
                    field("candidate", "email", "email", unique=True),
                    field("candidate", "phone", "phone", help_text=HOSTILE[5]),
                    field("candidate", "skills", "multi_choice", choice_list="skills"),
                    field("candidate", "resume", "file"),
                    field("candidate", "salary_expectation", "money"),
                    field("candidate", "available_from", "date"),
                    field("candidate", "last_contacted", "datetime", default="now"),
                    field("candidate", "years_experience", "integer", min_value=0),
                ],
                "computed": [
                    {
                        "id": "candidate_full_label",
                        "name": "full_label",
                        "label": HOSTILE[6],
                        "type": "text",
                        "expression": 'first_name + " \\"" + last_name',
                    },
                    {
                        "id": "candidate_senior",
                        "name": "senior",
                        "label": "senior",
                        "type": "boolean",
                        "expression": "years_experience >= 5",
                    },
                ],
                "display": ["first_name", "last_name"],
                "ordering": ["last_name"],
                "admin": {"search_fields": ["last_name", "email"]},
                "api": {"search_fields": ["last_name", "email"]},
            },
            {
                "id": "opening",
                "name": "Opening",
                "label": "opening",
                "label_plural": "openings",
                "fields": [
                    field("opening", "title", "text", HOSTILE[7], required=True),
                    field(
                        "opening",
                        "client",
                        "relation",
                        target="client",
                        required=True,
                        on_delete="cascade",
                        related_name="openings",
                    ),
                    field("opening", "salary", "money", min_value=0),
                    field(
                        "opening",
                        "shortlist",
                        "relation_many",
                        target="candidate",
                        related_name="shortlisted_for",
                    ),
                    field(
                        "opening",
                        "placed",
                        "relation_many",
                        target="candidate",
                        through="placement",
                        related_name="placed_in",
                    ),
                ],
                "computed": [
                    {
                        "id": "opening_fee",
                        "name": "fee",
                        "label": "fee",
                        "type": "money",
                        "expression": "salary * 20%",
                    },
                ],
                "display": ["title"],
                "admin": {
                    "list_display": ["title", "client", "salary", "fee", "owner"],
                    "inlines": ["placement"],
                },
            },
            {
                "id": "placement",
                "name": "Placement",
                "label": "placement",
                "label_plural": "placements",
                "kind": "detail",
                "fields": [
                    field(
                        "placement",
                        "opening",
                        "relation",
                        target="opening",
                        required=True,
                        on_delete="cascade",
                        related_name="placements",
                    ),
                    field(
                        "placement",
                        "candidate",
                        "relation",
                        target="candidate",
                        required=True,
                        on_delete="protect",
                        related_name="placements",
                    ),
                    field("placement", "started", "date"),
                ],
                "unique_together": [["opening", "candidate"]],
            },
            {
                "id": "application",
                "name": "Application",
                "label": "application",
                "label_plural": "applications",
                "fields": [
                    field(
                        "application",
                        "candidate",
                        "relation",
                        target="candidate",
                        required=True,
                        on_delete="cascade",
                        related_name="applications",
                    ),
                    field(
                        "application",
                        "opening",
                        "relation",
                        target="opening",
                        required=True,
                        on_delete="cascade",
                        related_name="applications",
                    ),
                    field("application", "salary", "money"),
                    field("application", "billing_date", "date"),
                    field("application", "rejection_reason", "long_text"),
                ],
                "stage_field": "step",
                "stage_field_after": "opening",
                "unique_together": [["candidate", "opening"]],
                "admin": {
                    "list_display": ["candidate", "opening", "step", "salary", "owner"],
                    "list_filter": ["step", "opening.client"],
                    "board": True,
                    "inlines": ["application_note"],
                },
                "api": {"filter_fields": ["step", "opening"]},
            },
            {
                "id": "application_note",
                "name": "ApplicationNote",
                "label": "application note",
                "label_plural": "application notes",
                "kind": "detail",
                "fields": [
                    field(
                        "application_note",
                        "application",
                        "relation",
                        target="application",
                        required=True,
                        on_delete="cascade",
                        related_name="step_notes",
                    ),
                    field("application_note", "body", "long_text", required=True),
                    field("application_note", "author_email", "email"),
                ],
            },
            {
                "id": "interview",
                "name": "Interview",
                "label": "interview",
                "label_plural": "interviews",
                "kind": "detail",
                "fields": [
                    field(
                        "interview",
                        "application",
                        "relation",
                        target="application",
                        required=True,
                        on_delete="cascade",
                        related_name="interviews",
                    ),
                    field("interview", "scheduled_at", "datetime", required=True),
                    field("interview", "room", "text", max_length=40),
                ],
                "api": {"read_only": True},
            },
        ],
        "pipelines": [
            {
                "id": "recruitment",
                "entity": "application",
                "name": HOSTILE[4],
                "is_default": True,
                "stages": [
                    {"id": "first_contact", "name": HOSTILE[1]},
                    {"id": "screening", "name": "Screening", "probability": 20},
                    {"id": "hired", "name": HOSTILE[0], "kind": "won", "probability": 100},
                    {"id": "rejected", "name": HOSTILE[2], "kind": "lost"},
                ],
            },
        ],
        "automations": [
            {
                "id": "bill_when_hired",
                "name": HOSTILE[3],
                "entity": "application",
                "trigger": {"kind": "stage_entered", "stage": "hired"},
                "actions": [
                    {"kind": "set_field", "field": "billing_date", "expression": "today() + 30"},
                    {"kind": "create_task", "title": HOSTILE[5], "due_in_days": 3},
                ],
            },
            {
                "id": "screen_new_applications",
                "name": "Screen",
                "entity": "application",
                "trigger": {"kind": "created"},
                "actions": [{"kind": "create_task", "title": HOSTILE[6], "assign_to_owner": False}],
            },
            {
                "id": "flag_high_salary",
                "name": "High salary",
                "entity": "application",
                "trigger": {"kind": "field_changed", "field": "salary"},
                "condition": "salary > 100000",
                "actions": [
                    {
                        "kind": "set_field",
                        "field": "rejection_reason",
                        "expression": '"Above budget: \\"" + "check\\\\"',
                    }
                ],
            },
        ],
        "roles": [
            {
                "id": "recruiter",
                "name": HOSTILE[1],
                "permissions": {
                    "candidate": ["view", "add", "change"],
                    "application": ["view", "add", "change"],
                },
                "own_records_only": True,
            },
            {"id": "viewer", "name": "Viewer", "permissions": {"client": ["view"]}},
        ],
    }


def recruiting_spec() -> AppSpec:
    return AppSpec.model_validate(recruiting_data())


def wide_spec(entity_count: int) -> AppSpec:
    """A spec of ``entity_count`` record entities chained by relations, ten fields each."""
    entities = []
    for index in range(entity_count):
        entity_id = f"thing{index}"
        fields = [
            field(entity_id, "name", "text", required=True, max_length=120),
            field(entity_id, "code", "text", unique=True, max_length=40),
            field(entity_id, "amount", "money"),
            field(entity_id, "quantity", "integer"),
            field(entity_id, "due", "date"),
            field(entity_id, "done", "boolean"),
            field(entity_id, "email", "email"),
            field(entity_id, "notes_text", "long_text"),
            field(entity_id, "kind", "choice", choice_list="task_priority"),
        ]
        if index:
            fields.append(
                field(
                    entity_id,
                    "parent",
                    "relation",
                    target=f"thing{index - 1}",
                    on_delete="set_null",
                    related_name=f"children{index}",
                )
            )
        entities.append(
            {
                "id": entity_id,
                "name": f"Thing{index}",
                "label": f"thing {index}",
                "label_plural": f"things {index}",
                "fields": fields,
                "display": ["name"],
            }
        )
    return AppSpec.model_validate(
        {"name": "Wide", "choice_lists": kit_choice_lists(), "entities": entities}
    )
