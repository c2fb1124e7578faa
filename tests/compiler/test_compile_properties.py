"""Property tests: every spec that passes validation compiles, and its modules parse.

Two generators: edits of the template spec (entity ids renamed, possibly onto the kit's
endpoints, relations made required, fields of any type added, filters, search and columns
pointed at any field, stages added and renamed, stage automations, numbers at the edge of
their column) and small random specs built from scratch. For each spec either
``validate_app_spec`` names a problem, or ``compile_app_spec`` returns the files without
raising and every Python module among them parses. The sandbox is not run here (too slow
for a property test): the template and recruiting apps prove the rendered code runs.
"""

from __future__ import annotations

import ast
import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from factory.compiler import compile_app_spec
from factory.compiler.render_api import KIT_ENDPOINTS, endpoint
from factory.spec.models import AppSpec
from factory.spec.reserved import KIT_API_ENDPOINTS, api_endpoint_names
from factory.spec.template import template_app_spec
from factory.spec.validation import validate_app_spec
from tests.compiler.specs import kit_choice_lists

BOUNDED = settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
LABEL = "t_prop"

TEMPLATE_DATA = template_app_spec().model_dump(mode="json")
KIT_IDS = sorted({name.replace("-", "_") for pair in KIT_API_ENDPOINTS for name in pair})
ENTITY_IDS = [*KIT_IDS, "deals", "companies", "item", "items", "box", "boxe", "lead", "leads"]
FIELD_TYPES = [
    "text",
    "long_text",
    "integer",
    "decimal",
    "money",
    "boolean",
    "date",
    "datetime",
    "email",
    "phone",
    "url",
    "choice",
    "multi_choice",
    "relation",
    "relation_many",
    "file",
]
FIELD_NAMES = ["size", "note_text", "budget", "region", "tags_text", "level", "score", "photo"]
DEFAULTS = [
    None,
    "",
    "x",
    0,
    -1,
    1.5,
    "1.25",
    "123456789012.34",
    "12345678901234567890.1234567890",
    "today",
    "now",
    "2025-02-30",
    "2025-01-31",
    True,
    "software",
]


def compiles_when_valid(data: dict[str, Any]) -> None:
    """The property: a spec is refused by validation, or compiles to parseable modules."""
    try:
        spec = AppSpec.model_validate(data)
    except ValidationError:
        return  # the shape is wrong: spec_load reports it before validation runs
    if validate_app_spec(spec):
        return
    files = compile_app_spec(spec=spec, app_label=LABEL)
    assert "models.py" in files
    for path, text in files.items():
        if path.endswith(".py"):
            ast.parse(text, filename=path)


# --- edits of the template -------------------------------------------------------------------


def _entity(data: dict[str, Any], index: int) -> dict[str, Any]:
    return data["entities"][index % len(data["entities"])]


def rename_entity_id(data: dict[str, Any], index: int, new_id: str) -> None:
    """Give an entity another id, and follow it everywhere the spec refers to it."""
    old_id = _entity(data, index)["id"]
    if any(entity["id"] == new_id for entity in data["entities"]):
        return
    for entity in data["entities"]:
        if entity["id"] == old_id:
            entity["id"] = new_id
        for field in entity["fields"]:
            for key in ("target", "through"):
                if field.get(key) == old_id:
                    field[key] = new_id
        entity["admin"]["inlines"] = [
            new_id if item == old_id else item for item in entity["admin"]["inlines"]
        ]
    for item in (*data["pipelines"], *data["automations"]):
        if item["entity"] == old_id:
            item["entity"] = new_id
    for role in data["roles"]:
        role["permissions"] = {
            (new_id if key == old_id else key): value for key, value in role["permissions"].items()
        }


def require_relations(data: dict[str, Any], index: int) -> None:
    """Make every optional relation of an entity required (cycles may appear)."""
    for field in _entity(data, index)["fields"]:
        if field["type"] == "relation":
            field["required"] = True
            if field.get("on_delete") == "set_null":
                field["on_delete"] = "protect"


def add_field(
    data: dict[str, Any], index: int, name: str, type_: str, default: Any, target: int
) -> None:
    entity = _entity(data, index)
    field: dict[str, Any] = {
        "id": f"{entity['id']}_{name}_{len(entity['fields'])}",
        "name": name,
        "label": name.replace("_", " "),
        "type": type_,
    }
    if type_ in {"choice", "multi_choice"}:
        field["choice_list"] = "industry"
    if type_ in {"relation", "relation_many"}:
        field["target"] = _entity(data, target)["id"]
        field["related_name"] = f"{entity['id']}_{name}_set"
    if type_ == "relation":
        field["on_delete"] = "set_null"
    if type_ in {"decimal", "money"} and isinstance(default, str) and len(default) > 20:
        field["max_digits"], field["decimal_places"] = 30, 10
    if default is not None:
        field["default"] = default
    entity["fields"].append(field)


def point_options_at(data: dict[str, Any], index: int, option: str, position: int) -> None:
    """Put a field of the entity (any type) into one of its admin or API lists."""
    entity = _entity(data, index)
    if not entity["fields"]:
        return
    name = entity["fields"][position % len(entity["fields"])]["name"]
    section, key = option.split(".")
    values = entity[section][key]
    if name not in values:
        values.append(name)


def edit_pipeline(data: dict[str, Any], stage_name: str, automate: bool) -> None:
    pipeline = data["pipelines"][0]
    stage_id = f"{pipeline['id']}_extra_{len(pipeline['stages'])}"
    pipeline["stages"].insert(1, {"id": stage_id, "name": stage_name, "kind": "open"})
    pipeline["stages"][0]["name"] = f"{pipeline['stages'][0]['name']} (renamed)"
    if automate:
        data["automations"].append(
            {
                "id": f"on_{stage_id}",
                "name": f"On {stage_name}",
                "entity": pipeline["entity"],
                "trigger": {"kind": "stage_entered", "stage": stage_id},
                "actions": [{"kind": "create_task", "title": f"Follow up {stage_name}"}],
            }
        )


def turn_api_off(data: dict[str, Any], index: int) -> None:
    _entity(data, index)["api"]["enabled"] = False


entity_index = st.integers(0, 5)
template_edits = st.one_of(
    st.builds(
        lambda index, new_id: ("rename", index, new_id), entity_index, st.sampled_from(ENTITY_IDS)
    ),
    st.builds(lambda index: ("require", index), entity_index),
    st.builds(
        lambda *args: ("field", *args),
        entity_index,
        st.sampled_from(FIELD_NAMES),
        st.sampled_from(FIELD_TYPES),
        st.sampled_from(DEFAULTS),
        entity_index,
    ),
    st.builds(
        lambda *args: ("option", *args),
        entity_index,
        st.sampled_from(
            [
                "admin.list_filter",
                "admin.list_display",
                "admin.search_fields",
                "api.filter_fields",
                "api.search_fields",
                "api.ordering_fields",
            ]
        ),
        st.integers(0, 20),
    ),
    st.builds(
        lambda name, automate: ("pipeline", name, automate),
        st.sampled_from(["Demo", "Won", "Lead", "Qualified"]) | st.text(min_size=1, max_size=20),
        st.booleans(),
    ),
    st.builds(lambda index: ("api_off", index), entity_index),
)
EDITS = {
    "rename": rename_entity_id,
    "require": require_relations,
    "field": add_field,
    "option": point_options_at,
    "api_off": turn_api_off,
}


@BOUNDED
@given(st.lists(template_edits, min_size=1, max_size=5))
def test_every_valid_edit_of_the_template_compiles_to_parseable_code(
    edits: list[tuple[Any, ...]],
) -> None:
    data = copy.deepcopy(TEMPLATE_DATA)
    for kind, *args in edits:
        if kind == "pipeline":
            edit_pipeline(data, *args)
        else:
            EDITS[kind](data, *args)
    compiles_when_valid(data)


# --- small random specs ----------------------------------------------------------------------


@st.composite
def small_specs(draw: st.DrawFn) -> dict[str, Any]:
    count = draw(st.integers(1, 3))
    ids = draw(st.lists(st.sampled_from(ENTITY_IDS), min_size=count, max_size=count, unique=True))
    entities = []
    for position, entity_id in enumerate(ids):
        fields = []
        for number in range(draw(st.integers(0, 4))):
            type_ = draw(st.sampled_from(FIELD_TYPES))
            field: dict[str, Any] = {
                "id": f"{entity_id}_f{number}",
                "name": f"{draw(st.sampled_from(FIELD_NAMES))}_{number}",
                "label": f"field {number}",
                "type": type_,
                "required": draw(st.booleans()),
            }
            if type_ in {"choice", "multi_choice"}:
                field["choice_list"] = "task_priority"
            if type_ in {"relation", "relation_many"}:
                field["target"] = draw(st.sampled_from(ids))
                field["related_name"] = f"{entity_id}_f{number}_set"
            if type_ == "relation":
                field["on_delete"] = draw(st.sampled_from(["cascade", "protect", "restrict"]))
            fields.append(field)
        names = [field["name"] for field in fields]
        options = (
            st.lists(st.sampled_from(names), max_size=2, unique=True) if names else st.just([])
        )
        entities.append(
            {
                "id": entity_id,
                "name": f"Thing{position}{entity_id.title().replace('_', '')}",
                "label": entity_id.replace("_", " "),
                "label_plural": f"{entity_id.replace('_', ' ')} items",
                "kind": draw(st.sampled_from(["record", "detail"])),
                "fields": fields,
                "admin": {"list_filter": draw(options), "list_display": draw(options)},
                "api": {"filter_fields": draw(options), "enabled": draw(st.booleans())},
            }
        )
    return {"name": "Random", "entities": entities, "choice_lists": kit_choice_lists()}


@BOUNDED
@given(small_specs())
def test_every_valid_small_random_spec_compiles_to_parseable_code(data: dict[str, Any]) -> None:
    compiles_when_valid(data)


# --- the rules validation shares with the compiler -------------------------------------------


def test_the_validator_knows_every_endpoint_the_compiler_registers_for_the_kit():
    assert [(segment, basename) for segment, _view, basename in KIT_ENDPOINTS] == list(
        KIT_API_ENDPOINTS
    )


def test_the_validator_and_the_compiler_give_an_entity_the_same_endpoint():
    for entity in template_app_spec().entities:
        assert endpoint(entity) == api_endpoint_names(entity.id)
    assert api_endpoint_names("company") == ("companies", "company")
    assert api_endpoint_names("deal_contact") == ("deal-contacts", "deal-contact")
    assert api_endpoint_names("box") == ("boxes", "box")
    assert api_endpoint_names("day") == ("days", "day")
