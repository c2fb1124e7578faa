"""The base CRM as an app spec: the template every tenant's spec starts from.

``template_app_spec()`` describes exactly what ``crm/models.py`` declares (entity and
field names, types, required/unique/max_length/index, relations and their on-delete
rules), the starting choice lists and pipelines of ``crm/defaults.py``, admin and API
options and the four roles. Record stamps, owner, soft delete and the kit tables (tasks,
notes, tags, choice lists, pipelines, timeline...) come from the kit, so they are not
listed here. This module builds data only: it must not import Django.
"""

from __future__ import annotations

from typing import Any

from crm.defaults import CHOICE_LISTS, PIPELINES
from factory.spec.models import (
    AdminOptions,
    ApiOptions,
    AppSpec,
    ChoiceListSpec,
    ChoiceOptionSpec,
    EntityKind,
    EntitySpec,
    FieldSpec,
    OnDelete,
    Permission,
    PipelineSpec,
    RoleSpec,
    StageSpec,
)

# The literal the crm app reads from settings.CRM_DEFAULT_CURRENCY when unset.
TEMPLATE_DEFAULT_CURRENCY = "EUR"


def _field(
    entity_id: str, name: str, type_: str, label: str | None = None, **options: Any
) -> FieldSpec:
    return FieldSpec(
        id=f"{entity_id}_{name}",
        name=name,
        label=label or name.replace("_", " "),
        type=type_,
        **options,
    )


def _company() -> EntitySpec:
    return EntitySpec(
        id="company",
        name="Company",
        label="company",
        label_plural="companies",
        description="An organisation you work with: a client, a prospect, a partner.",
        fields=[
            _field("company", "name", "text", required=True, max_length=200, index=True),
            _field(
                "company",
                "domain",
                "text",
                unique=True,
                max_length=253,
                help_text="Web domain, e.g. acme.com; used to match companies on import.",
            ),
            _field("company", "industry", "choice", choice_list="industry"),
            _field("company", "phone", "phone", max_length=32),
            _field("company", "address", "long_text"),
            _field("company", "city", "text", max_length=120),
            _field("company", "country", "text", max_length=120),
            _field("company", "description", "long_text"),
        ],
        display=["name"],
        ordering=["name"],
        admin=AdminOptions(
            list_display=["name", "domain", "industry", "city", "country", "owner"],
            list_filter=["industry", "country", "owner"],
            search_fields=["name", "domain", "city"],
            inlines=["contact"],
        ),
        api=ApiOptions(
            filter_fields=["name", "domain", "industry", "city", "country"],
            search_fields=["name", "domain", "city", "country"],
            ordering_fields=["name", "domain", "city", "country", "created_at", "updated_at"],
        ),
    )


def _contact() -> EntitySpec:
    return EntitySpec(
        id="contact",
        name="Contact",
        label="contact",
        label_plural="contacts",
        description="A person: a client's employee, a prospect, a partner.",
        fields=[
            _field("contact", "first_name", "text", max_length=120),
            _field("contact", "last_name", "text", required=True, max_length=120, index=True),
            _field(
                "contact",
                "email",
                "email",
                unique=True,
                help_text="Main email; used to match contacts on import.",
            ),
            _field("contact", "phone", "phone", max_length=32),
            _field("contact", "job_title", "text", max_length=120),
            _field(
                "contact",
                "company",
                "relation",
                target="company",
                on_delete=OnDelete.SET_NULL,
                related_name="contacts",
            ),
        ],
        display=["first_name", "last_name"],
        ordering=["last_name", "first_name"],
        admin=AdminOptions(
            list_display=[
                "last_name",
                "first_name",
                "email",
                "phone",
                "company",
                "job_title",
                "owner",
            ],
            list_filter=["owner", "company.industry"],
            search_fields=["first_name", "last_name", "email", "phone", "company.name"],
            inlines=["contact_email", "contact_phone"],
        ),
        api=ApiOptions(
            filter_fields=["company", "email", "last_name", "job_title"],
            search_fields=["first_name", "last_name", "email", "job_title", "company.name"],
            ordering_fields=["last_name", "first_name", "email", "created_at", "updated_at"],
        ),
    )


def _contact_point(entity_id: str, name: str, label: str, value: str, type_: str) -> EntitySpec:
    options: dict[str, Any] = {"max_length": 32} if type_ == "phone" else {}
    return EntitySpec(
        id=entity_id,
        name=name,
        label=label,
        label_plural=f"{label}s",
        description=f"An extra {label} of a contact.",
        kind=EntityKind.DETAIL,
        fields=[
            _field(
                entity_id,
                "contact",
                "relation",
                required=True,
                target="contact",
                on_delete=OnDelete.CASCADE,
                related_name=f"{label}s",
            ),
            _field(entity_id, value, type_, required=True, **options),
            _field(
                entity_id,
                "label",
                "choice",
                required=True,
                choice_list="contact_point_label",
                default="work",
            ),
        ],
        display=[value],
        unique_together=[["contact", value]],
        # Edited inside the contact (admin inline, nested list in the contact's API).
        api=ApiOptions(enabled=False),
    )


def _deal() -> EntitySpec:
    return EntitySpec(
        id="deal",
        name="Deal",
        label="deal",
        label_plural="deals",
        description="A sales opportunity moving through a pipeline.",
        fields=[
            _field("deal", "name", "text", required=True, max_length=200),
            _field(
                "deal",
                "company",
                "relation",
                target="company",
                on_delete=OnDelete.SET_NULL,
                related_name="deals",
            ),
            _field(
                "deal",
                "amount",
                "money",
                required=True,
                max_digits=14,
                decimal_places=2,
                default=0,
                min_value=0,
            ),
            _field(
                "deal",
                "currency",
                "choice",
                required=True,
                choice_list="currency",
                default=TEMPLATE_DEFAULT_CURRENCY,
            ),
            _field("deal", "expected_close", "date"),
            _field(
                "deal",
                "contacts",
                "relation_many",
                target="contact",
                through="deal_contact",
                related_name="deals",
            ),
        ],
        display=["name"],
        stage_field="stage",
        stage_field_after="company",
        ordering=["-created_at"],
        admin=AdminOptions(
            list_display=[
                "name",
                "company",
                "pipeline",
                "stage",
                "amount",
                "currency",
                "expected_close",
                "owner",
            ],
            list_filter=["pipeline", "stage", "currency", "expected_close", "owner"],
            search_fields=["name", "company.name"],
            inlines=["deal_contact"],
            board=True,
        ),
        api=ApiOptions(
            filter_fields=["company", "pipeline", "stage", "currency"],
            search_fields=["name", "company.name"],
            ordering_fields=["name", "amount", "expected_close", "created_at", "updated_at"],
        ),
    )


def _deal_contact() -> EntitySpec:
    return EntitySpec(
        id="deal_contact",
        name="DealContact",
        label="deal contact",
        label_plural="deal contacts",
        description="A contact involved in a deal, with their role in it.",
        kind=EntityKind.DETAIL,
        fields=[
            _field(
                "deal_contact",
                "deal",
                "relation",
                required=True,
                target="deal",
                on_delete=OnDelete.CASCADE,
                related_name="deal_contacts",
            ),
            _field(
                "deal_contact",
                "contact",
                "relation",
                required=True,
                target="contact",
                on_delete=OnDelete.CASCADE,
                related_name="deal_roles",
            ),
            _field("deal_contact", "role", "choice", choice_list="deal_contact_role"),
        ],
        display=["contact", "role"],
        unique_together=[["deal", "contact"]],
        api=ApiOptions(filter_fields=["deal", "contact", "role"]),
    )


def _choice_lists() -> list[ChoiceListSpec]:
    return [
        ChoiceListSpec(
            id=key,
            key=key,
            name=definition["name"],
            options=[
                ChoiceOptionSpec(value=value, label=label, colour=colour)
                for value, label, colour in definition["options"]
            ],
        )
        for key, definition in CHOICE_LISTS.items()
    ]


def _pipelines() -> list[PipelineSpec]:
    """The default pipelines; their keys in ``crm/defaults.py`` are their ids here."""
    return [
        PipelineSpec(
            id=definition["key"],
            entity=definition["entity"],
            name=definition["name"],
            is_default=definition["is_default"],
            stages=[
                StageSpec(id=key, name=name, kind=kind, probability=probability)
                for key, name, kind, probability in definition["stages"]
            ],
        )
        for definition in PIPELINES
    ]


def _roles(entity_ids: list[str]) -> list[RoleSpec]:
    everything = [Permission.VIEW, Permission.ADD, Permission.CHANGE, Permission.DELETE]
    edit = [Permission.VIEW, Permission.ADD, Permission.CHANGE]
    view = [Permission.VIEW]

    def each(actions: list[Permission]) -> dict[str, list[Permission]]:
        return {entity_id: list(actions) for entity_id in entity_ids}

    return [
        RoleSpec(id="admin", name="Admin", permissions=each(everything)),
        RoleSpec(id="manager", name="Manager", permissions=each(everything)),
        RoleSpec(id="member", name="Member", permissions=each(edit)),
        RoleSpec(id="read_only", name="Read-only", permissions=each(view)),
    ]


def template_app_spec() -> AppSpec:
    """The base CRM (companies, contacts, deals with pipelines) as a fresh AppSpec."""
    entities = [
        _company(),
        _contact(),
        _contact_point("contact_email", "ContactEmail", "email", "email", "email"),
        _contact_point("contact_phone", "ContactPhone", "phone", "number", "phone"),
        _deal(),
        _deal_contact(),
    ]
    return AppSpec(
        name="CRM",
        description="Companies, contacts and deals moving through sales pipelines.",
        entities=entities,
        choice_lists=_choice_lists(),
        pipelines=_pipelines(),
        roles=_roles([entity.id for entity in entities]),
    )
