"""The edits: each takes the spec's JSON form (a draft copy) and the validated arguments,
changes the draft, and says what it did and whether it destroys data.

Edits never validate the whole spec and never decide whether a destructive edit may
apply: ``SpecWorkspace`` does both, the same way for every edit. An edit raises
``SpecLookupError`` or ``EditRefused`` with a sentence the model can act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from factory.agents.tools import arguments as a
from factory.agents.tools.reading import SpecLookupError, find_entity, find_item

Draft = dict[str, Any]


class EditRefused(ValueError):
    pass


@dataclass(frozen=True)
class Edit:
    summary: str
    destructive: str = ""  # why it loses data; empty when it does not


# Widening type changes keep every stored value; any other change may lose some.
SAFE_TYPE_CHANGES = frozenset(
    {
        ("text", "long_text"),
        ("email", "text"),
        ("phone", "text"),
        ("url", "text"),
        ("email", "long_text"),
        ("phone", "long_text"),
        ("url", "long_text"),
        ("integer", "decimal"),
        ("integer", "money"),
        ("decimal", "money"),
        ("date", "datetime"),
        ("choice", "multi_choice"),
        ("relation", "relation_many"),
    }
)


def _dump(args: BaseModel, name: str) -> Any:
    return args.model_dump(mode="json", include={name})[name]


def _changes(args: BaseModel, exclude: set[str]) -> dict[str, Any]:
    return {
        name: _dump(args, name)
        for name in sorted(args.model_fields_set)
        if name not in exclude and name != "confirm"
    }


def _require_changes(changes: dict[str, Any], what: str) -> None:
    if not changes:
        raise EditRefused(f"Nothing to change on {what}: pass at least one value to set.")


def _refuse_duplicate(items: list[Draft], key: str, value: str, where: str) -> None:
    if any(item.get(key) == value for item in items):
        raise EditRefused(f"{where} already has one with {key} {value!r}: pick another {key}.")


# Entities ----------------------------------------------------------------------------


def entity_add(draft: Draft, args: a.EntityAddArgs) -> Edit:
    entity = args.entity.model_dump(mode="json")
    _refuse_duplicate(draft["entities"], "id", entity["id"], "The spec")
    _refuse_duplicate(draft["entities"], "name", entity["name"], "The spec")
    draft["entities"].append(entity)
    return Edit(f"Added entity {entity['id']} ({entity['name']}).")


def entity_update(draft: Draft, args: a.PartialArguments) -> Edit:
    entity = find_entity(draft, args.entity)
    changes = _changes(args, {"entity"})
    _require_changes(changes, f"entity {entity['id']}")
    destructive = ""
    if changes.get("kind") == "detail" and entity["kind"] == "record":
        destructive = (
            f"turns entity {entity['id']} into a detail line: its records lose their owner, "
            "timeline, notes, tasks and tags"
        )
    entity.update(changes)
    return Edit(f"Updated entity {entity['id']}: {', '.join(changes)}.", destructive)


def entity_rename(draft: Draft, args: a.EntityRenameArgs) -> Edit:
    entity = find_entity(draft, args.entity)
    others = [item for item in draft["entities"] if item is not entity]
    _refuse_duplicate(others, "name", args.new_name, "The spec")
    old = entity["name"]
    entity["name"] = args.new_name
    for name in ("label", "label_plural"):
        if name in args.model_fields_set and getattr(args, name):
            entity[name] = getattr(args, name)
    return Edit(f"Renamed entity {entity['id']} from {old} to {args.new_name} (id kept).")


def entity_remove(draft: Draft, args: a.EntityRemoveArgs) -> Edit:
    entity = find_entity(draft, args.entity)
    draft["entities"].remove(entity)
    return Edit(
        f"Removed entity {entity['id']}.",
        f"removes entity {entity['id']} and every one of its records",
    )


# Fields ------------------------------------------------------------------------------


def field_add(draft: Draft, args: a.FieldAddArgs) -> Edit:
    entity = find_entity(draft, args.entity)
    field = args.field.model_dump(mode="json")
    where = f"Entity {entity['id']}"
    _refuse_duplicate(entity["fields"], "id", field["id"], where)
    _refuse_duplicate(entity["fields"], "name", field["name"], where)
    position = len(entity["fields"])
    if args.after:
        anchor = _field(entity, args.after)
        position = entity["fields"].index(anchor) + 1
    entity["fields"].insert(position, field)
    return Edit(f"Added field {field['name']} ({field['type']}) to {entity['id']}.")


def _field(entity: Draft, reference: str) -> Draft:
    return find_item(
        entity["fields"], reference, what=f"field on {entity['id']}", keys=("id", "name")
    )


def field_update(draft: Draft, args: a.PartialArguments) -> Edit:
    entity = find_entity(draft, args.entity)
    field = _field(entity, args.field)
    changes = _changes(args, {"entity", "field"})
    _require_changes(changes, f"field {entity['id']}.{field['name']}")
    destructive = field_narrowing(field, changes, where=f"{entity['id']}.{field['name']}")
    field.update(changes)
    return Edit(f"Updated field {entity['id']}.{field['name']}: {', '.join(changes)}.", destructive)


def field_narrowing(field: Draft, changes: dict[str, Any], *, where: str) -> str:
    """Why this change may lose stored values, or '' when every value survives it."""
    reasons = []
    new_type = changes.get("type", field["type"])
    if new_type != field["type"] and (field["type"], new_type) not in SAFE_TYPE_CHANGES:
        reasons.append(f"changes the type of {where} from {field['type']} to {new_type}")
    for limit in ("max_length", "max_digits", "decimal_places"):
        old, new = field.get(limit), changes.get(limit, field.get(limit))
        if old is not None and new is not None and new < old:
            reasons.append(f"lowers {limit} of {where} from {old} to {new}")
    for reference in ("choice_list", "target"):
        if reference in changes and field.get(reference) and changes[reference] != field[reference]:
            reasons.append(f"points {where} to another {reference.replace('_', ' ')}")
    if not reasons:
        return ""
    return "; ".join(reasons) + ": stored values that do not fit are lost"


def field_rename(draft: Draft, args: a.FieldRenameArgs) -> Edit:
    entity = find_entity(draft, args.entity)
    field = _field(entity, args.field)
    others = [item for item in entity["fields"] if item is not field]
    _refuse_duplicate(others, "name", args.new_name, f"Entity {entity['id']}")
    old = field["name"]
    _rename_field_references(entity, old, args.new_name)
    field["name"] = args.new_name
    if args.label:
        field["label"] = args.label
    return Edit(f"Renamed field {entity['id']}.{old} to {args.new_name} (id {field['id']} kept).")


def _rename_field_references(entity: Draft, old: str, new: str) -> None:
    """Options that name the field by name follow the rename, so nothing dangles."""
    for key in ("display",):
        entity[key] = [new if name == old else name for name in entity[key]]
    if entity.get("stage_field") == old:
        entity["stage_field"] = new
    for options in (entity["admin"], entity["api"]):
        for key, value in options.items():
            if isinstance(value, list):
                options[key] = [
                    _renamed_option(item, old, new) if isinstance(item, str) else item
                    for item in value
                ]


def _renamed_option(item: str, old: str, new: str) -> str:
    sign = "-" if item.startswith("-") else ""
    return sign + new if item.lstrip("-") == old else item


def field_remove(draft: Draft, args: a.FieldRemoveArgs) -> Edit:
    entity = find_entity(draft, args.entity)
    field = _field(entity, args.field)
    entity["fields"].remove(field)
    where = f"{entity['id']}.{field['name']}"
    return Edit(f"Removed field {where}.", f"removes field {where} and its stored values")


# Choice lists ------------------------------------------------------------------------


def _choice_list(draft: Draft, reference: str) -> Draft:
    return find_item(draft["choice_lists"], reference, what="choice list", keys=("key", "id"))


def choice_list_add(draft: Draft, args: a.ChoiceListAddArgs) -> Edit:
    choice = args.choice_list.model_dump(mode="json")
    _refuse_duplicate(draft["choice_lists"], "id", choice["id"], "The spec")
    _refuse_duplicate(draft["choice_lists"], "key", choice["key"], "The spec")
    draft["choice_lists"].append(choice)
    return Edit(f"Added choice list {choice['key']} ({len(choice['options'])} options).")


def choice_list_update(draft: Draft, args: a.PartialArguments) -> Edit:
    choice = _choice_list(draft, args.choice_list)
    changes = _changes(args, {"choice_list"})
    _require_changes(changes, f"choice list {choice['key']}")
    destructive = ""
    if "options" in changes:
        kept = {option["value"] for option in changes["options"]}
        dropped = [option["value"] for option in choice["options"] if option["value"] not in kept]
        if dropped:
            destructive = (
                f"removes options {', '.join(dropped)} from choice list {choice['key']}: "
                "records holding them lose their value"
            )
    choice.update(changes)
    return Edit(f"Updated choice list {choice['key']}: {', '.join(changes)}.", destructive)


def choice_list_rename(draft: Draft, args: a.ChoiceListRenameArgs) -> Edit:
    choice = _choice_list(draft, args.choice_list)
    others = [item for item in draft["choice_lists"] if item is not choice]
    _refuse_duplicate(others, "key", args.new_key, "The spec")
    old = choice["key"]
    choice["key"] = args.new_key
    moved = 0
    for entity in draft["entities"]:
        for field in entity["fields"]:
            if field.get("choice_list") == old:
                field["choice_list"] = args.new_key
                moved += 1
    return Edit(f"Renamed choice list {old} to {args.new_key}; {moved} fields follow it.")


def choice_list_remove(draft: Draft, args: a.ChoiceListRemoveArgs) -> Edit:
    choice = _choice_list(draft, args.choice_list)
    draft["choice_lists"].remove(choice)
    return Edit(
        f"Removed choice list {choice['key']}.",
        f"removes choice list {choice['key']} and the values stored with its options",
    )


# Pipelines and stages ----------------------------------------------------------------


def _pipeline(draft: Draft, reference: str) -> Draft:
    return find_item(draft["pipelines"], reference, what="pipeline")


def _stage(pipeline: Draft, reference: str) -> Draft:
    return find_item(
        pipeline["stages"], reference, what=f"stage in {pipeline['id']}", keys=("id", "name")
    )


def pipeline_add(draft: Draft, args: a.PipelineAddArgs) -> Edit:
    pipeline = args.pipeline.model_dump(mode="json")
    _refuse_duplicate(draft["pipelines"], "id", pipeline["id"], "The spec")
    entity = find_entity(draft, pipeline["entity"])
    draft["pipelines"].append(pipeline)
    # A stage field and a pipeline need each other: the first pipeline brings the field,
    # so that neither edit is refused for lack of the other.
    if entity.get("stage_field"):
        return Edit(f"Added pipeline {pipeline['id']} on {entity['id']}.")
    entity["stage_field"] = args.stage_field
    return Edit(
        f"Added pipeline {pipeline['id']} on {entity['id']}, whose records now move through "
        f"stages in its stage field {args.stage_field!r}."
    )


def pipeline_update(draft: Draft, args: a.PartialArguments) -> Edit:
    pipeline = _pipeline(draft, args.pipeline)
    changes = _changes(args, {"pipeline"})
    _require_changes(changes, f"pipeline {pipeline['id']}")
    pipeline.update(changes)
    return Edit(f"Updated pipeline {pipeline['id']}: {', '.join(changes)}.")


def pipeline_remove(draft: Draft, args: a.PipelineRemoveArgs) -> Edit:
    pipeline = _pipeline(draft, args.pipeline)
    draft["pipelines"].remove(pipeline)
    if not any(item["entity"] == pipeline["entity"] for item in draft["pipelines"]):
        # The entity's last pipeline: its stage field goes too (see pipeline_add).
        for entity in draft["entities"]:
            if entity["id"] == pipeline["entity"]:
                entity["stage_field"] = None
    return Edit(
        f"Removed pipeline {pipeline['id']}.",
        f"removes pipeline {pipeline['id']}: records lose their stage and stage history",
    )


def stage_add(draft: Draft, args: a.StageAddArgs) -> Edit:
    pipeline = _pipeline(draft, args.pipeline)
    stage = args.stage.model_dump(mode="json")
    _refuse_duplicate(pipeline["stages"], "id", stage["id"], f"Pipeline {pipeline['id']}")
    position = len(pipeline["stages"])
    if args.before:
        position = pipeline["stages"].index(_stage(pipeline, args.before))
    pipeline["stages"].insert(position, stage)
    return Edit(f"Added stage {stage['id']} to {pipeline['id']} at position {position}.")


def stage_update(draft: Draft, args: a.PartialArguments) -> Edit:
    pipeline = _pipeline(draft, args.pipeline)
    stage = _stage(pipeline, args.stage)
    changes = _changes(args, {"pipeline", "stage", "position"})
    if not changes and args.position is None:
        _require_changes(changes, f"stage {stage['id']}")
    stage.update(changes)
    done = list(changes)
    if args.position is not None:
        pipeline["stages"].remove(stage)
        pipeline["stages"].insert(min(args.position, len(pipeline["stages"])), stage)
        done.append(f"moved to position {args.position}")
    return Edit(f"Updated stage {pipeline['id']}.{stage['id']}: {', '.join(done)}.")


def stage_remove(draft: Draft, args: a.StageRemoveArgs) -> Edit:
    pipeline = _pipeline(draft, args.pipeline)
    stage = _stage(pipeline, args.stage)
    if len(pipeline["stages"]) == 1:
        raise EditRefused(
            f"Stage {stage['id']} is the only stage of {pipeline['id']}: a pipeline needs one; "
            "add its replacement first, or remove the pipeline."
        )
    pipeline["stages"].remove(stage)
    return Edit(
        f"Removed stage {pipeline['id']}.{stage['id']}.",
        f"removes stage {stage['id']} from {pipeline['id']}: records in it must move and its "
        "history entries lose their stage",
    )


# Computed fields ---------------------------------------------------------------------


def _computed(entity: Draft, reference: str) -> Draft:
    return find_item(
        entity["computed"], reference, what=f"computed field on {entity['id']}", keys=("id", "name")
    )


def computed_add(draft: Draft, args: a.ComputedAddArgs) -> Edit:
    entity = find_entity(draft, args.entity)
    computed = args.computed.model_dump(mode="json")
    _refuse_duplicate(entity["computed"], "id", computed["id"], f"Entity {entity['id']}")
    _refuse_duplicate(entity["computed"], "name", computed["name"], f"Entity {entity['id']}")
    entity["computed"].append(computed)
    return Edit(f"Added computed field {entity['id']}.{computed['name']}.")


def computed_update(draft: Draft, args: a.PartialArguments) -> Edit:
    entity = find_entity(draft, args.entity)
    computed = _computed(entity, args.computed)
    changes = _changes(args, {"entity", "computed"})
    _require_changes(changes, f"computed field {entity['id']}.{computed['name']}")
    computed.update(changes)
    return Edit(f"Updated computed field {entity['id']}.{computed['name']}: {', '.join(changes)}.")


def computed_rename(draft: Draft, args: a.ComputedRenameArgs) -> Edit:
    entity = find_entity(draft, args.entity)
    computed = _computed(entity, args.computed)
    others = [item for item in entity["computed"] if item is not computed]
    _refuse_duplicate(others, "name", args.new_name, f"Entity {entity['id']}")
    old = computed["name"]
    computed["name"] = args.new_name
    _rename_field_references(entity, old, args.new_name)
    return Edit(f"Renamed computed field {entity['id']}.{old} to {args.new_name}.")


def computed_remove(draft: Draft, args: a.ComputedRemoveArgs) -> Edit:
    # Computed values are not stored: removing one loses no data.
    entity = find_entity(draft, args.entity)
    computed = _computed(entity, args.computed)
    entity["computed"].remove(computed)
    return Edit(f"Removed computed field {entity['id']}.{computed['name']}.")


# Automations -------------------------------------------------------------------------


def _automation(draft: Draft, reference: str) -> Draft:
    return find_item(draft["automations"], reference, what="automation")


def automation_add(draft: Draft, args: a.AutomationAddArgs) -> Edit:
    automation = args.automation.model_dump(mode="json")
    _refuse_duplicate(draft["automations"], "id", automation["id"], "The spec")
    find_entity(draft, automation["entity"])
    draft["automations"].append(automation)
    return Edit(f"Added automation {automation['id']} on {automation['entity']}.")


def automation_update(draft: Draft, args: a.PartialArguments) -> Edit:
    automation = _automation(draft, args.automation)
    changes = _changes(args, {"automation"})
    _require_changes(changes, f"automation {automation['id']}")
    automation.update(changes)
    return Edit(f"Updated automation {automation['id']}: {', '.join(changes)}.")


def automation_remove(draft: Draft, args: a.AutomationRemoveArgs) -> Edit:
    # An automation holds no data of its own: removing it stops future runs only.
    automation = _automation(draft, args.automation)
    draft["automations"].remove(automation)
    return Edit(f"Removed automation {automation['id']}.")


# Admin and API options ---------------------------------------------------------------


def admin_options_update(draft: Draft, args: a.PartialArguments) -> Edit:
    entity = find_entity(draft, args.entity)
    changes = _changes(args, {"entity"})
    _require_changes(changes, f"the admin options of {entity['id']}")
    entity["admin"].update(changes)
    return Edit(f"Updated admin options of {entity['id']}: {', '.join(changes)}.")


def api_options_update(draft: Draft, args: a.PartialArguments) -> Edit:
    entity = find_entity(draft, args.entity)
    changes = _changes(args, {"entity"})
    _require_changes(changes, f"the API options of {entity['id']}")
    entity["api"].update(changes)
    return Edit(f"Updated API options of {entity['id']}: {', '.join(changes)}.")


# Roles -------------------------------------------------------------------------------


def _role(draft: Draft, reference: str) -> Draft:
    return find_item(draft["roles"], reference, what="role")


def role_add(draft: Draft, args: a.RoleAddArgs) -> Edit:
    role = args.role.model_dump(mode="json")
    _refuse_duplicate(draft["roles"], "id", role["id"], "The spec")
    _check_permission_entities(draft, role["permissions"])
    draft["roles"].append(role)
    return Edit(f"Added role {role['id']}.")


def role_update(draft: Draft, args: a.PartialArguments) -> Edit:
    role = _role(draft, args.role)
    changes = _changes(args, {"role"})
    _require_changes(changes, f"role {role['id']}")
    if "permissions" in changes:
        _check_permission_entities(draft, changes["permissions"])
    role.update(changes)
    return Edit(f"Updated role {role['id']}: {', '.join(changes)}.")


def _check_permission_entities(draft: Draft, permissions: dict[str, Any]) -> None:
    for entity_id in permissions:
        find_entity(draft, entity_id)


def role_remove(draft: Draft, args: a.RoleRemoveArgs) -> Edit:
    role = _role(draft, args.role)
    draft["roles"].remove(role)
    return Edit(
        f"Removed role {role['id']}.",
        f"removes role {role['id']}: users holding it lose its permissions",
    )


__all__ = ["Edit", "EditRefused", "SpecLookupError", "field_narrowing"]
