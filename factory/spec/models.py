"""The app spec: the only thing agents and builders edit.

Pydantic models describing a tenant CRM declaratively: entities and their fields, choice
lists, pipelines, computed fields and automations (in the safe expression language of
``factory.spec.expressions``), admin and API options, and roles. Every entity, field,
choice list, pipeline, stage, automation and role carries a stable ``id`` that never
changes, so a rename is recognised as a rename.

This module describes shapes and per-object rules only; rules that need the whole spec
(references, collisions, expressions) live in ``factory.spec.validation``. It must not
import Django.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

SPEC_VERSION: Final = 1

StableId = Annotated[
    str,
    Field(
        pattern=r"^[a-z][a-z0-9_]{0,62}$",
        description="Stable identifier: never changes, even when the name or label does.",
    ),
]
Identifier = Annotated[
    str,
    Field(
        pattern=r"^[a-z][a-z0-9_]{0,62}$",
        description="A snake_case Python identifier (field name, choice list key).",
    ),
]
ClassName = Annotated[
    str,
    Field(pattern=r"^[A-Z][A-Za-z0-9]{0,62}$", description="A PascalCase Python class name."),
]
OptionValue = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$",
        description="Stored value of a choice option: letters, digits, - and _ (EUR, in_progress).",
    ),
]
FieldPath = Annotated[
    str,
    Field(
        pattern=r"^[a-z][a-z0-9_]{0,62}(\.[a-z][a-z0-9_]{0,62})?$",
        description="A field name, or relation.field for a field of the related entity.",
    ),
]
Label = Annotated[str, Field(min_length=1, max_length=120)]
Colour = Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")]


class SpecModel(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class FieldType(StrEnum):
    TEXT = "text"
    LONG_TEXT = "long_text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    MONEY = "money"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    EMAIL = "email"
    PHONE = "phone"
    URL = "url"
    CHOICE = "choice"
    MULTI_CHOICE = "multi_choice"
    RELATION = "relation"
    RELATION_MANY = "relation_many"
    FILE = "file"


class OnDelete(StrEnum):
    CASCADE = "cascade"
    PROTECT = "protect"
    SET_NULL = "set_null"
    RESTRICT = "restrict"


class FieldSpec(SpecModel):
    """One stored field of an entity.

    Conventions the compiler follows: a field that is not ``required`` may be left blank;
    a blank text-like field stores "" unless it is also ``unique``, in which case it is
    nullable so that several blank values do not collide. Default ``max_length`` when
    omitted: text 255, phone 32, email 254, url 200. ``decimal`` and ``money`` default to
    14 digits with 2 decimal places. ``default`` for a date may be "today" and for a
    datetime "now". ``min_value``/``max_value`` bound numeric fields.
    """

    id: StableId
    name: Identifier
    label: Label
    help_text: str = Field(default="", max_length=500)
    type: FieldType
    required: bool = False
    unique: bool = False
    index: bool = False
    default: str | int | float | bool | None = None
    max_length: int | None = Field(default=None, ge=1, le=10_000)
    max_digits: int | None = Field(default=None, ge=1, le=30)
    decimal_places: int | None = Field(default=None, ge=0, le=10)
    min_value: int | float | None = Field(
        default=None, description="Smallest allowed value (integer, decimal, money)."
    )
    max_value: int | float | None = Field(
        default=None, description="Largest allowed value (integer, decimal, money)."
    )
    choice_list: Identifier | None = Field(
        default=None, description="Key of the choice list (choice and multi_choice)."
    )
    target: StableId | None = Field(
        default=None, description="Id of the related entity (relation and relation_many)."
    )
    on_delete: OnDelete | None = Field(
        default=None, description="What happens to this record when the related one is deleted."
    )
    related_name: Identifier | None = Field(
        default=None, description="Name of the reverse accessor on the related entity."
    )
    through: StableId | None = Field(
        default=None,
        description="relation_many only: id of a detail entity holding extra data per link.",
    )


class ComputedFieldSpec(SpecModel):
    """A read-only value computed from the record, e.g. fee = salary * 20%."""

    id: StableId
    name: Identifier
    label: Label
    type: Literal["integer", "decimal", "money", "boolean", "date", "text"]
    expression: str = Field(min_length=1, max_length=500)


class ChoiceOptionSpec(SpecModel):
    value: OptionValue
    label: Label
    colour: Colour = "#6c757d"


class ChoiceListSpec(SpecModel):
    id: StableId
    key: Identifier
    name: Label
    options: list[ChoiceOptionSpec] = Field(min_length=1)


class StageKind(StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


class StageSpec(SpecModel):
    id: StableId
    name: Label
    kind: StageKind = StageKind.OPEN
    probability: int = Field(default=0, ge=0, le=100)


class PipelineSpec(SpecModel):
    """Ordered stages an entity moves through; its stage field keeps a history of moves."""

    id: StableId
    entity: StableId
    name: Label
    is_default: bool = False
    stages: list[StageSpec] = Field(min_length=1)


class StageEnteredTrigger(SpecModel):
    kind: Literal["stage_entered"] = "stage_entered"
    stage: StableId = Field(description="Id of the stage whose entry fires the automation.")


class RecordCreatedTrigger(SpecModel):
    kind: Literal["created"] = "created"


class FieldChangedTrigger(SpecModel):
    kind: Literal["field_changed"] = "field_changed"
    field: Identifier


Trigger = Annotated[
    StageEnteredTrigger | RecordCreatedTrigger | FieldChangedTrigger,
    Field(discriminator="kind"),
]


class SetFieldAction(SpecModel):
    kind: Literal["set_field"] = "set_field"
    field: Identifier
    expression: str = Field(min_length=1, max_length=500)


class CreateTaskAction(SpecModel):
    kind: Literal["create_task"] = "create_task"
    title: str = Field(min_length=1, max_length=200)
    due_in_days: int = Field(default=0, ge=0, le=3650)
    assign_to_owner: bool = True


Action = Annotated[SetFieldAction | CreateTaskAction, Field(discriminator="kind")]


class AutomationSpec(SpecModel):
    """When <trigger> [and <condition>], do <actions>: e.g. on stage hired, set billing date."""

    id: StableId
    name: Label
    entity: StableId
    trigger: Trigger
    condition: str | None = Field(default=None, max_length=500)
    actions: list[Action] = Field(min_length=1)


class AdminOptions(SpecModel):
    list_display: list[Identifier] = Field(default_factory=list)
    list_filter: list[FieldPath] = Field(default_factory=list)
    search_fields: list[FieldPath] = Field(default_factory=list)
    inlines: list[StableId] = Field(
        default_factory=list, description="Ids of entities edited inline (they relate to this one)."
    )
    board: bool = Field(default=False, description="Show a board per pipeline (needs a pipeline).")
    ordering: list[str] = Field(default_factory=list)


class ApiOptions(SpecModel):
    enabled: bool = True
    read_only: bool = False
    filter_fields: list[FieldPath] = Field(default_factory=list)
    search_fields: list[FieldPath] = Field(default_factory=list)
    ordering_fields: list[Identifier] = Field(default_factory=list)


class EntityKind(StrEnum):
    RECORD = "record"  # a business record: owner, timeline, soft delete, notes, tasks, tags
    DETAIL = "detail"  # a line that belongs to a record (extra emails, a link with a role)


class EntitySpec(SpecModel):
    """A business entity (a Django model).

    ``kind: record`` entities get the kit's record base: created/updated stamps, owner,
    soft delete, notes, tasks, tags, attachments and the timeline. ``kind: detail`` entities
    are plain lines belonging to a record (extra emails, the link table of a many-to-many).

    ``stage_field`` makes the entity move through pipelines: it implies two required
    foreign keys that are not listed in ``fields``: ``pipeline`` (to the app's kit
    ``Pipeline`` table) and the stage field itself, named by ``stage_field`` (to the kit
    ``Stage`` table), both ``on_delete=PROTECT`` without reverse accessor, plus a check that
    the stage belongs to the pipeline; every move is kept in the stage history. The
    entity's stages are defined by the ``pipelines`` of the spec whose ``entity`` is this id.
    The two fields come right after the field named by ``stage_field_after`` (after the
    last field when it is not set).

    Admin filters and search, and API filters and search, may name ``relation.field`` to
    reach a field of the related entity (``company.name``; the compiler writes
    ``company__name``).

    ``ordering`` is the default order of records: field names, "-" in front for descending
    (record base fields such as ``created_at`` are allowed). ``unique_together`` lists
    groups of fields whose combination must be unique.
    """

    id: StableId
    name: ClassName
    label: Label
    label_plural: Label
    description: str = Field(default="", max_length=1000)
    kind: EntityKind = EntityKind.RECORD
    fields: list[FieldSpec] = Field(default_factory=list)
    computed: list[ComputedFieldSpec] = Field(default_factory=list)
    display: list[Identifier] = Field(
        default_factory=list, description="Fields joined to show a record as text."
    )
    stage_field: Identifier | None = Field(
        default=None,
        description=(
            "Name of the field holding the pipeline stage, if any; implies the `pipeline` and"
            " stage foreign keys."
        ),
    )
    stage_field_after: Identifier | None = Field(
        default=None,
        description="Field after which the pipeline and stage fields come (default: last).",
    )
    ordering: list[str] = Field(
        default_factory=list, description="Default order: field names, '-' prefix = descending."
    )
    unique_together: list[list[Identifier]] = Field(
        default_factory=list, description="Groups of fields whose combination is unique."
    )
    admin: AdminOptions = Field(default_factory=AdminOptions)
    api: ApiOptions = Field(default_factory=ApiOptions)


class Permission(StrEnum):
    VIEW = "view"
    ADD = "add"
    CHANGE = "change"
    DELETE = "delete"


class RoleSpec(SpecModel):
    id: StableId
    name: Label
    permissions: dict[StableId, list[Permission]] = Field(
        default_factory=dict, description="Entity id → allowed actions."
    )
    own_records_only: bool = False

    @field_validator("permissions")
    @classmethod
    def _permissions_in_entity_id_order(
        cls, value: dict[str, list[Permission]]
    ) -> dict[str, list[Permission]]:
        # One order whatever the storage: PostgreSQL's jsonb does not keep key order, and
        # the compiled code and the agents' view of the spec must not depend on it.
        return dict(sorted(value.items()))


class AppSpec(SpecModel):
    spec_version: Literal[1] = SPEC_VERSION
    name: Label
    description: str = Field(default="", max_length=2000)
    language: str = Field(default="en", pattern=r"^[a-z]{2}(-[A-Z]{2})?$")
    entities: list[EntitySpec] = Field(default_factory=list)
    choice_lists: list[ChoiceListSpec] = Field(default_factory=list)
    pipelines: list[PipelineSpec] = Field(default_factory=list)
    automations: list[AutomationSpec] = Field(default_factory=list)
    roles: list[RoleSpec] = Field(default_factory=list)

    def entity(self, entity_id: str) -> EntitySpec:
        for entity in self.entities:
            if entity.id == entity_id:
                return entity
        raise KeyError(entity_id)

    def to_jsonable(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_defaults=False)
