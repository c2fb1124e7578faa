"""The arguments of each spec tool, as pydantic models: their JSON Schemas are what the
model sees, and validating them is the first check every call goes through.

Update tools take only what changes: an argument left out is left alone (the tools read
``model_fields_set``), an argument given as null clears the value where null means
something. Destructive tools carry ``confirm``; without it they are recorded as pending.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from factory.spec.models import (
    AdminOptions,
    ApiOptions,
    AutomationSpec,
    ChoiceListSpec,
    ClassName,
    ComputedFieldSpec,
    EntitySpec,
    FieldSpec,
    Identifier,
    Label,
    PipelineSpec,
    RoleSpec,
    StageSpec,
)


class ToolArguments(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PartialArguments(ToolArguments):
    """Base of the update tools' arguments, whose fields ``partial_arguments`` derives at
    runtime from a spec model (so a type checker cannot list them)."""

    if TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any: ...


def partial_arguments(
    name: str,
    model: type[BaseModel],
    *,
    exclude: frozenset[str] | set[str] = frozenset(),
    head: dict[str, Any] | None = None,
    tail: dict[str, Any] | None = None,
    confirm: bool = False,
) -> type[PartialArguments]:
    """Arguments of an update tool, derived from the spec model so they follow it: every
    field optional (left out = unchanged), with its constraints and description."""
    fields: dict[str, Any] = dict(head or {})
    for field_name, info in model.model_fields.items():
        if field_name in exclude:
            continue
        annotation: Any = info.annotation
        if info.metadata:
            annotation = Annotated[(annotation, *info.metadata)]
        fields[field_name] = (annotation | None, Field(default=None, description=info.description))
    fields.update(tail or {})
    if confirm:
        fields["confirm"] = (Confirm, False)
    return create_model(name, __base__=PartialArguments, **fields)


EntityRef = Annotated[str, Field(description="Entity id.")]
FieldRef = Annotated[str, Field(description="Field id or name.")]
ChoiceListRef = Annotated[str, Field(description="Choice list key or id.")]
PipelineRef = Annotated[str, Field(description="Pipeline id.")]
StageRef = Annotated[str, Field(description="Stage id.")]
ComputedRef = Annotated[str, Field(description="Computed field id or name.")]
AutomationRef = Annotated[str, Field(description="Automation id.")]
RoleRef = Annotated[str, Field(description="Role id.")]
Confirm = Annotated[
    bool,
    Field(
        description="Destructive edits apply only with confirm=true, and only when the request "
        "explicitly asks for the loss; otherwise leave it false: the edit is kept pending for "
        "the builder."
    ),
]


# Reading -----------------------------------------------------------------------------


class SpecSummaryArgs(ToolArguments):
    pass


class SpecEntityArgs(ToolArguments):
    entity: EntityRef


class SpecReadArgs(ToolArguments):
    path: str = Field(
        description="Slash path by ids or keys, e.g. entities/deal/fields/amount, "
        "pipelines/deal_sales/stages, choice_lists/deal_source, roles, automations/x."
    )


# Entities ----------------------------------------------------------------------------


class EntityAddArgs(ToolArguments):
    entity: EntitySpec


EntityUpdateArgs = partial_arguments(
    "EntityUpdateArgs",
    EntitySpec,
    exclude={"id", "name", "fields", "computed", "admin", "api"},
    head={"entity": (EntityRef, ...)},
    confirm=True,
)


class EntityRenameArgs(ToolArguments):
    entity: EntityRef
    new_name: ClassName
    label: Label | None = None
    label_plural: Label | None = None


class EntityRemoveArgs(ToolArguments):
    entity: EntityRef
    confirm: Confirm = False


# Fields ------------------------------------------------------------------------------


class FieldAddArgs(ToolArguments):
    entity: EntityRef
    field: FieldSpec
    after: str | None = Field(
        default=None, description="Insert after this field (id or name); default: at the end."
    )


FieldUpdateArgs = partial_arguments(
    "FieldUpdateArgs",
    FieldSpec,
    exclude={"id", "name"},
    head={"entity": (EntityRef, ...), "field": (FieldRef, ...)},
    confirm=True,
)


class FieldRenameArgs(ToolArguments):
    entity: EntityRef
    field: FieldRef
    new_name: Identifier
    label: Label | None = None


class FieldRemoveArgs(ToolArguments):
    entity: EntityRef
    field: FieldRef
    confirm: Confirm = False


# Choice lists ------------------------------------------------------------------------


class ChoiceListAddArgs(ToolArguments):
    choice_list: ChoiceListSpec


ChoiceListUpdateArgs = partial_arguments(
    "ChoiceListUpdateArgs",
    ChoiceListSpec,
    exclude={"id", "key"},
    head={"choice_list": (ChoiceListRef, ...)},
    confirm=True,
)


class ChoiceListRenameArgs(ToolArguments):
    choice_list: ChoiceListRef
    new_key: Identifier


class ChoiceListRemoveArgs(ToolArguments):
    choice_list: ChoiceListRef
    confirm: Confirm = False


# Pipelines and stages ----------------------------------------------------------------


class PipelineAddArgs(ToolArguments):
    pipeline: PipelineSpec
    stage_field: Identifier = Field(
        default="stage",
        description="Name of the entity's stage field, set when the entity has none yet.",
    )


PipelineUpdateArgs = partial_arguments(
    "PipelineUpdateArgs",
    PipelineSpec,
    exclude={"id", "entity", "stages"},
    head={"pipeline": (PipelineRef, ...)},
)


class PipelineRemoveArgs(ToolArguments):
    pipeline: PipelineRef
    confirm: Confirm = False


class StageAddArgs(ToolArguments):
    pipeline: PipelineRef
    stage: StageSpec
    before: StageRef | None = Field(
        default=None, description="Insert before this stage; default: at the end."
    )


StageUpdateArgs = partial_arguments(
    "StageUpdateArgs",
    StageSpec,
    exclude={"id"},
    head={"pipeline": (PipelineRef, ...), "stage": (StageRef, ...)},
    tail={
        "position": (
            int | None,
            Field(default=None, ge=0, description="Move to this 0-based position."),
        )
    },
)


class StageRemoveArgs(ToolArguments):
    pipeline: PipelineRef
    stage: StageRef
    confirm: Confirm = False


# Computed fields and automations -----------------------------------------------------


class ComputedAddArgs(ToolArguments):
    entity: EntityRef
    computed: ComputedFieldSpec


ComputedUpdateArgs = partial_arguments(
    "ComputedUpdateArgs",
    ComputedFieldSpec,
    exclude={"id", "name"},
    head={"entity": (EntityRef, ...), "computed": (ComputedRef, ...)},
)


class ComputedRenameArgs(ToolArguments):
    entity: EntityRef
    computed: ComputedRef
    new_name: Identifier


class ComputedRemoveArgs(ToolArguments):
    entity: EntityRef
    computed: ComputedRef


class AutomationAddArgs(ToolArguments):
    automation: AutomationSpec


AutomationUpdateArgs = partial_arguments(
    "AutomationUpdateArgs",
    AutomationSpec,
    exclude={"id", "entity"},
    head={"automation": (AutomationRef, ...)},
)


class AutomationRemoveArgs(ToolArguments):
    automation: AutomationRef


# Admin and API options ---------------------------------------------------------------


AdminOptionsUpdateArgs = partial_arguments(
    "AdminOptionsUpdateArgs", AdminOptions, head={"entity": (EntityRef, ...)}
)
ApiOptionsUpdateArgs = partial_arguments(
    "ApiOptionsUpdateArgs", ApiOptions, head={"entity": (EntityRef, ...)}
)


# Roles -------------------------------------------------------------------------------


class RoleAddArgs(ToolArguments):
    role: RoleSpec


RoleUpdateArgs = partial_arguments(
    "RoleUpdateArgs",
    RoleSpec,
    exclude={"id"},
    head={"role": (RoleRef, ...)},
)


class RoleRemoveArgs(ToolArguments):
    role: RoleRef
    confirm: Confirm = False
