"""The template spec: valid, stable through YAML and JSON, and the same CRM as crm/models.py."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.apps import apps
from django.db import models

from crm.defaults import CHOICE_LISTS, PIPELINES
from crm.kit.fields import ChoiceListField
from crm.kit.models import Record
from factory.spec.io import spec_dump, spec_load
from factory.spec.models import EntitySpec, FieldSpec
from factory.spec.template import template_app_spec
from factory.spec.validation import DEFAULT_MAX_LENGTH, validate_app_spec

MODEL_FIELD_CLASSES = {
    "text": models.CharField,
    "long_text": models.TextField,
    "email": models.EmailField,
    "phone": models.CharField,
    "choice": ChoiceListField,
    "money": models.DecimalField,
    "date": models.DateField,
    "relation": models.ForeignKey,
    "relation_many": models.ManyToManyField,
}
ON_DELETE = {
    "cascade": models.CASCADE,
    "protect": models.PROTECT,
    "set_null": models.SET_NULL,
    "restrict": models.RESTRICT,
}
TEMPLATE = template_app_spec()


def test_template_is_valid() -> None:
    assert validate_app_spec(TEMPLATE) == []


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_template_round_trips_identically(fmt: str) -> None:
    text = spec_dump(TEMPLATE, fmt=fmt)
    loaded = spec_load(text=text)
    assert loaded == TEMPLATE
    assert spec_dump(loaded, fmt=fmt) == text
    assert spec_dump(template_app_spec(), fmt=fmt) == text


def test_yaml_and_json_give_the_same_spec() -> None:
    from_yaml = spec_load(text=spec_dump(TEMPLATE, fmt="yaml"))
    from_json = spec_load(text=spec_dump(TEMPLATE, fmt="json"))
    assert from_yaml == from_json == TEMPLATE


def test_template_holds_the_default_choice_lists_and_pipelines() -> None:
    lists = {
        c.key: [(o.value, o.label, o.colour) for o in c.options] for c in TEMPLATE.choice_lists
    }
    assert lists == {key: list(definition["options"]) for key, definition in CHOICE_LISTS.items()}
    pipelines = [
        (
            p.id,
            p.entity,
            p.name,
            p.is_default,
            [(s.id, s.name, str(s.kind), s.probability) for s in p.stages],
        )
        for p in TEMPLATE.pipelines
    ]
    assert pipelines == [
        (p["key"], p["entity"], p["name"], p["is_default"], list(p["stages"])) for p in PIPELINES
    ]
    assert [stage.id for stage in TEMPLATE.pipelines[0].stages] == [
        "sales_lead",
        "sales_qualified",
        "sales_proposal",
        "sales_negotiation",
        "sales_won",
        "sales_lost",
    ]


def test_template_roles_are_the_kit_roles() -> None:
    assert [(role.id, role.name) for role in TEMPLATE.roles] == [
        ("admin", "Admin"),
        ("manager", "Manager"),
        ("member", "Member"),
        ("read_only", "Read-only"),
    ]
    member = TEMPLATE.roles[2]
    assert {str(p) for p in member.permissions["deal"]} == {"view", "add", "change"}


def _expected_order(entity: EntitySpec) -> list[str]:
    names = [field.name for field in entity.fields]
    if entity.stage_field:
        at = names.index(entity.stage_field_after) + 1 if entity.stage_field_after else len(names)
        names[at:at] = ["pipeline", entity.stage_field]
    return names


@pytest.mark.parametrize("entity", TEMPLATE.entities, ids=lambda e: e.id)
def test_template_entity_matches_crm_model(entity: EntitySpec) -> None:
    model = apps.get_model("crm", entity.name)
    assert issubclass(model, Record) == (entity.kind == "record")
    assert model._meta.verbose_name == entity.label
    assert model._meta.verbose_name_plural == entity.label_plural
    assert list(model._meta.ordering) == entity.ordering
    declared = [
        f.name
        for f in model._meta.get_fields()
        if not f.auto_created and (f.concrete or f.many_to_many)
        if f.name not in {field.name for field in Record._meta.get_fields()} | {"id"}
    ]
    assert declared == _expected_order(entity)
    unique_groups = [
        list(constraint.fields)
        for constraint in model._meta.constraints
        if isinstance(constraint, models.UniqueConstraint)
    ]
    assert unique_groups == entity.unique_together
    if entity.stage_field:
        assert model.pipeline_stage_field == entity.stage_field
        for name, target in (("pipeline", "Pipeline"), (entity.stage_field, "Stage")):
            field = model._meta.get_field(name)
            assert field.related_model is apps.get_model("crm", target)
            assert field.remote_field.on_delete is models.PROTECT
            assert not field.null
            assert not field.blank


def _template_fields() -> list[tuple[EntitySpec, FieldSpec]]:
    return [(entity, field) for entity in TEMPLATE.entities for field in entity.fields]


@pytest.mark.parametrize(
    ("entity", "spec_field"), _template_fields(), ids=lambda item: getattr(item, "id", "")
)
def test_template_field_matches_crm_model_field(entity: EntitySpec, spec_field: FieldSpec) -> None:
    field = apps.get_model("crm", entity.name)._meta.get_field(spec_field.name)
    field_type = str(spec_field.type)
    assert type(field) is MODEL_FIELD_CLASSES[field_type]
    assert field.verbose_name == spec_field.label
    assert str(field.help_text) == spec_field.help_text
    assert field.blank == (not spec_field.required)
    if field_type != "relation_many":
        assert field.unique == spec_field.unique
        assert field.db_index == (spec_field.index or field_type == "relation")
        nullable = not spec_field.required and (
            field_type in {"relation", "date", "money"} or spec_field.unique
        )
        assert field.null == nullable
    if field_type in {"text", "phone", "email"}:
        assert field.max_length == (
            spec_field.max_length or DEFAULT_MAX_LENGTH.get(field_type, field.max_length)
        )
    if field_type == "choice":
        assert field.choice_list == spec_field.choice_list
    if field_type == "money":
        assert (field.max_digits, field.decimal_places) == (
            spec_field.max_digits,
            spec_field.decimal_places,
        )
        assert [v.limit_value for v in field.validators if hasattr(v, "limit_value")] == [
            Decimal(spec_field.min_value)
        ]
    if spec_field.default is not None:
        assert field.default == spec_field.default
    else:
        assert not field.has_default()
    if field_type in {"relation", "relation_many"}:
        assert field.related_model.__name__ == TEMPLATE.entity(spec_field.target).name
        assert field.remote_field.related_name == spec_field.related_name
    if field_type == "relation":
        assert field.remote_field.on_delete is ON_DELETE[str(spec_field.on_delete)]
    if field_type == "relation_many":
        assert field.remote_field.through.__name__ == TEMPLATE.entity(spec_field.through).name
