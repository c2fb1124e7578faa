"""Read the spec in the forms agents need: a compact summary, one entity, one path.

The summary is plain text, not JSON: it is what every prompt embeds, so it is written to
be short (tokens are the cost of every turn) yet complete enough to plan edits: entities
with their fields and types, choice lists, pipelines and stages, automations and roles.
Details come on demand through ``spec_entity`` and ``spec_read``. Nothing here changes
the spec.
"""

from __future__ import annotations

import json
from typing import Any

from factory.spec.io import spec_as_data
from factory.spec.models import AppSpec, EntitySpec, FieldSpec


class SpecLookupError(LookupError):
    """A reference to something the spec does not have; the message lists what it has."""


def spec_summary_text(spec: AppSpec) -> str:
    lines = [f"App {spec.name!r} (language {spec.language})."]
    if spec.description:
        lines.append(spec.description)
    lines.append("Entities:")
    for entity in spec.entities:
        lines.append(_entity_line(entity))
    if spec.choice_lists:
        lines.append("Choice lists:")
        lines.extend(
            f"- {choice.key}: " + ", ".join(option.value for option in choice.options)
            for choice in spec.choice_lists
        )
    if spec.pipelines:
        lines.append("Pipelines:")
        for pipeline in spec.pipelines:
            default = " (default)" if pipeline.is_default else ""
            stages = ", ".join(
                stage.id + ("" if stage.kind == "open" else f" [{stage.kind}]")
                for stage in pipeline.stages
            )
            lines.append(f"- {pipeline.id} on {pipeline.entity}{default}: {stages}")
    if spec.automations:
        lines.append("Automations:")
        for automation in spec.automations:
            trigger = automation.trigger.model_dump(exclude={"kind"})
            actions = ", ".join(action.kind for action in automation.actions)
            lines.append(
                f"- {automation.id} on {automation.entity}: {automation.trigger.kind} "
                f"{json.dumps(trigger) if trigger else ''} -> {actions}".replace("  ", " ")
            )
    if spec.roles:
        lines.append("Roles:")
        for role in spec.roles:
            own = " (own records only)" if role.own_records_only else ""
            groups: dict[str, list[str]] = {}
            for entity_id, permissions in role.permissions.items():
                groups.setdefault("/".join(permissions) or "nothing", []).append(entity_id)
            grants = "; ".join(f"{actions} on {', '.join(ids)}" for actions, ids in groups.items())
            lines.append(f"- {role.id}{own}: {grants or 'no permissions'}")
    return "\n".join(lines)


def _entity_line(entity: EntitySpec) -> str:
    kind = "" if entity.kind == "record" else f" [{entity.kind}]"
    fields = ", ".join(_field_text(field) for field in entity.fields)
    line = f"- {entity.id} ({entity.name}){kind}: {fields or 'no fields'}"
    if entity.computed:
        line += "; computed: " + ", ".join(
            f"{item.name}={item.expression}" for item in entity.computed
        )
    if entity.stage_field:
        line += f"; stage field: {entity.stage_field}"
    return line


def _field_text(field: FieldSpec) -> str:
    # Field ids are left out: tools accept a field's name, and ids cost tokens in every turn.
    text = field.name
    kind = str(field.type)
    if field.choice_list:
        kind += f"[{field.choice_list}]"
    if field.target:
        kind += f"->{field.target}"
    return f"{text}:{kind}{'*' if field.required else ''}"


def spec_entity_json(spec: AppSpec, reference: str) -> str:
    entity = find_entity(spec_as_data(spec), reference)
    return _compact_json(entity)


def spec_path_json(spec: AppSpec, path: str) -> str:
    # The compact form (defaults left out) is what is shown; the full form tells which keys
    # exist, so that an empty list can still be read and a typo named.
    node: Any = spec_as_data(spec)
    full: Any = spec.to_jsonable()
    walked: list[str] = []
    for segment in [part for part in path.strip().strip("/").split("/") if part]:
        node, full = _step(node, full, segment, walked)
        walked.append(segment)
    return _compact_json(node)


def _step(node: Any, full: Any, segment: str, walked: list[str]) -> tuple[Any, Any]:
    where = "/".join(walked) or "the spec"
    if isinstance(full, dict):
        if segment not in full:
            raise SpecLookupError(f"{where} has no {segment!r}; it has: {', '.join(sorted(full))}.")
        child_full = full[segment]
        child = node.get(segment, child_full) if isinstance(node, dict) else child_full
        return child, child_full
    if isinstance(full, list):
        for position, item in enumerate(full):
            if _matches(item, segment) or segment == str(position):
                compact = (
                    node[position] if isinstance(node, list) and position < len(node) else item
                )
                return compact, item
        known = ", ".join(_label(item) for item in full) or "nothing"
        raise SpecLookupError(f"{where} has no item {segment!r}; it has: {known}.")
    raise SpecLookupError(f"{where} is a value, not a container: stop the path there.")


def _matches(item: Any, segment: str) -> bool:
    return isinstance(item, dict) and segment in {
        item.get("id"),
        item.get("key"),
        item.get("name"),
        item.get("value"),
    }


def _label(item: Any) -> str:
    if isinstance(item, dict):
        for key in ("id", "key", "value", "name"):
            if item.get(key):
                return str(item[key])
    return json.dumps(item)


def _compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# Lookups shared with the editing tools (they work on the spec's JSON form) --------------


def find_entity(draft: dict[str, Any], reference: str) -> dict[str, Any]:
    for entity in draft["entities"]:
        if reference in (entity["id"], entity["name"]):
            return entity
    known = ", ".join(entity["id"] for entity in draft["entities"]) or "none yet"
    raise SpecLookupError(f"There is no entity {reference!r}. Entity ids: {known}.")


def find_item(
    items: list[dict[str, Any]], reference: str, *, what: str, keys: tuple[str, ...] = ("id",)
) -> dict[str, Any]:
    for item in items:
        if any(item.get(key) == reference for key in keys):
            return item
    known = ", ".join(str(item.get(keys[0])) for item in items) or "none yet"
    raise SpecLookupError(f"There is no {what} {reference!r}. Known: {known}.")
