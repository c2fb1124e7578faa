"""The catalogue of spec tools: name, description, arguments and the function behind each.

The descriptions are part of every request a model receives, so they are short and say
what a model needs to choose well: what the tool does, and which edits are destructive.
``TOOLSETS`` gives each agent role only the tools its job needs: fewer tools, fewer
tokens and fewer wrong turns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from factory.agents.tools import arguments as a
from factory.agents.tools import editing as e
from factory.agents.tools.reading import spec_entity_json, spec_path_json, spec_summary_text
from factory.llm.schema import model_schema
from factory.llm.types import ToolSpec


@dataclass(frozen=True)
class SpecTool:
    name: str
    description: str
    arguments: type[BaseModel]
    function: Callable[[Any, Any], Any]
    edits: bool = True

    def spec(self) -> ToolSpec:
        return ToolSpec(
            name=self.name, description=self.description, parameters=model_schema(self.arguments)
        )


_DESTRUCTIVE = " Destructive: needs confirm=true."

_TOOLS = [
    SpecTool(
        "spec_summary",
        "Summary of the whole spec: entities with fields, choice lists, pipelines, "
        "automations, roles.",
        a.SpecSummaryArgs,
        lambda spec, args: spec_summary_text(spec),
        edits=False,
    ),
    SpecTool(
        "spec_entity",
        "One entity in full, as JSON (defaults omitted).",
        a.SpecEntityArgs,
        lambda spec, args: spec_entity_json(spec, args.entity),
        edits=False,
    ),
    SpecTool(
        "spec_read",
        "Any part of the spec by path, as JSON.",
        a.SpecReadArgs,
        lambda spec, args: spec_path_json(spec, args.path),
        edits=False,
    ),
    SpecTool(
        "entity_add",
        "Add an entity (a table), optionally with fields.",
        a.EntityAddArgs,
        e.entity_add,
    ),
    SpecTool(
        "entity_update",
        "Change an entity's labels, description, kind, display fields or stage field. "
        "Turning a record into a detail is destructive.",
        a.EntityUpdateArgs,
        e.entity_update,
    ),
    SpecTool(
        "entity_rename",
        "Rename an entity's class (and labels); its id and data stay.",
        a.EntityRenameArgs,
        e.entity_rename,
    ),
    SpecTool(
        "entity_remove", "Remove an entity." + _DESTRUCTIVE, a.EntityRemoveArgs, e.entity_remove
    ),
    SpecTool("field_add", "Add a field to an entity.", a.FieldAddArgs, e.field_add),
    SpecTool(
        "field_update",
        "Change a field's settings; pass only what changes. Narrowing the type or a limit "
        "is destructive.",
        a.FieldUpdateArgs,
        e.field_update,
    ),
    SpecTool(
        "field_rename",
        "Rename a field; its id and data stay.",
        a.FieldRenameArgs,
        e.field_rename,
    ),
    SpecTool("field_remove", "Remove a field." + _DESTRUCTIVE, a.FieldRemoveArgs, e.field_remove),
    SpecTool("choice_list_add", "Add a choice list.", a.ChoiceListAddArgs, e.choice_list_add),
    SpecTool(
        "choice_list_update",
        "Change a choice list's name or its complete options. Dropping options is destructive.",
        a.ChoiceListUpdateArgs,
        e.choice_list_update,
    ),
    SpecTool(
        "choice_list_rename",
        "Change a choice list's key; fields using it follow.",
        a.ChoiceListRenameArgs,
        e.choice_list_rename,
    ),
    SpecTool(
        "choice_list_remove",
        "Remove a choice list." + _DESTRUCTIVE,
        a.ChoiceListRemoveArgs,
        e.choice_list_remove,
    ),
    SpecTool(
        "pipeline_add",
        "Add a pipeline (ordered stages) to an entity.",
        a.PipelineAddArgs,
        e.pipeline_add,
    ),
    SpecTool(
        "pipeline_update",
        "Rename a pipeline or make it the default.",
        a.PipelineUpdateArgs,
        e.pipeline_update,
    ),
    SpecTool(
        "pipeline_remove",
        "Remove a pipeline." + _DESTRUCTIVE,
        a.PipelineRemoveArgs,
        e.pipeline_remove,
    ),
    SpecTool("stage_add", "Add a stage to a pipeline.", a.StageAddArgs, e.stage_add),
    SpecTool(
        "stage_update",
        "Rename, re-kind, re-weight or move a stage.",
        a.StageUpdateArgs,
        e.stage_update,
    ),
    SpecTool("stage_remove", "Remove a stage." + _DESTRUCTIVE, a.StageRemoveArgs, e.stage_remove),
    SpecTool(
        "computed_add", "Add a computed (read-only) field.", a.ComputedAddArgs, e.computed_add
    ),
    SpecTool(
        "computed_update", "Change a computed field.", a.ComputedUpdateArgs, e.computed_update
    ),
    SpecTool(
        "computed_rename", "Rename a computed field.", a.ComputedRenameArgs, e.computed_rename
    ),
    SpecTool(
        "computed_remove", "Remove a computed field.", a.ComputedRemoveArgs, e.computed_remove
    ),
    SpecTool(
        "automation_add",
        "Add an automation: trigger, condition, actions.",
        a.AutomationAddArgs,
        e.automation_add,
    ),
    SpecTool(
        "automation_update", "Change an automation.", a.AutomationUpdateArgs, e.automation_update
    ),
    SpecTool(
        "automation_remove", "Remove an automation.", a.AutomationRemoveArgs, e.automation_remove
    ),
    SpecTool(
        "admin_options_update",
        "Set an entity's admin screen: columns, filters, search, inlines, board, ordering.",
        a.AdminOptionsUpdateArgs,
        e.admin_options_update,
    ),
    SpecTool(
        "api_options_update",
        "Set an entity's REST API exposure: enabled, read-only, filters, search, ordering.",
        a.ApiOptionsUpdateArgs,
        e.api_options_update,
    ),
    SpecTool("role_add", "Add a role with per-entity permissions.", a.RoleAddArgs, e.role_add),
    SpecTool(
        "role_update",
        "Change a role's name, permissions or scope.",
        a.RoleUpdateArgs,
        e.role_update,
    ),
    SpecTool("role_remove", "Remove a role." + _DESTRUCTIVE, a.RoleRemoveArgs, e.role_remove),
]

SPEC_TOOLS: dict[str, SpecTool] = {tool.name: tool for tool in _TOOLS}

READ_TOOLS = ("spec_summary", "spec_entity", "spec_read")
_ENTITY = ("entity_add", "entity_update", "entity_rename", "entity_remove")
_FIELDS = ("field_add", "field_update", "field_rename", "field_remove")
_CHOICES = ("choice_list_add", "choice_list_update", "choice_list_rename", "choice_list_remove")
_PIPELINES = ("pipeline_add", "pipeline_update", "pipeline_remove")
_STAGES = ("stage_add", "stage_update", "stage_remove")
_COMPUTED = ("computed_add", "computed_update", "computed_rename", "computed_remove")
_AUTOMATIONS = ("automation_add", "automation_update", "automation_remove")
_ROLES = ("role_add", "role_update", "role_remove")

TOOLSETS: dict[str, tuple[str, ...]] = {
    "read": READ_TOOLS,
    "data_model": (*READ_TOOLS, *_ENTITY, *_FIELDS, *_CHOICES),
    "process": (
        *READ_TOOLS,
        "entity_update",
        *_PIPELINES,
        *_STAGES,
        *_COMPUTED,
        *_AUTOMATIONS,
    ),
    # Computed fields and automations only: the stages an automation refers to come from
    # the process specialist's earlier task, read through the read tools.
    "automations": (*READ_TOOLS, *_COMPUTED, *_AUTOMATIONS),
    "screens": (*READ_TOOLS, "entity_update", "admin_options_update"),
    "api_roles": (*READ_TOOLS, "api_options_update", *_ROLES),
    "all": tuple(SPEC_TOOLS),
}


def spec_tool_specs(names: Iterable[str]) -> list[ToolSpec]:
    return [SPEC_TOOLS[name].spec() for name in names]
