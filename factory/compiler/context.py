"""What the compiler derives from a valid spec before rendering: names, field rules, order.

One place decides, for every renderer, how a spec field becomes a model field (null, blank,
max length, default, validators) and in which order entities are defined. It reads the spec
only; it never renders code and never imports Django.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property

from factory.spec.models import (
    AppSpec,
    ChoiceListSpec,
    EntityKind,
    EntitySpec,
    FieldSpec,
    FieldType,
    OnDelete,
    PipelineSpec,
)
from factory.spec.reserved import api_url_segment
from factory.spec.sizes import DEFAULT_MAX_LENGTH, effective_digits


class CompileError(ValueError):
    """The spec passed validation but cannot be compiled; the message says what to change."""


TEXT_LIKE = frozenset(
    {FieldType.TEXT, FieldType.LONG_TEXT, FieldType.EMAIL, FieldType.PHONE, FieldType.URL}
)
NUMERIC = frozenset({FieldType.INTEGER, FieldType.DECIMAL, FieldType.MONEY})
ON_DELETE = {
    OnDelete.CASCADE: "models.CASCADE",
    OnDelete.PROTECT: "models.PROTECT",
    OnDelete.SET_NULL: "models.SET_NULL",
    OnDelete.RESTRICT: "models.RESTRICT",
}
KIT_TABLES = (
    "ChoiceList",
    "ChoiceOption",
    "Pipeline",
    "Stage",
    "StageChange",
    "TimelineEntry",
    "Note",
    "Task",
    "Tag",
    "TaggedItem",
    "Attachment",
    "RolePolicy",
)


def pascal_case(snake: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in snake.split("_") if part)


def kebab_plural(entity: EntitySpec) -> str:
    """URL segment of an entity's endpoint (deal-contacts); the validator uses the same rule."""
    return api_url_segment(entity.id)


def lookup(path: str) -> str:
    """A spec field path (``company.industry``) as a Django lookup (``company__industry``)."""
    return path.replace(".", "__")


# --- field rules -------------------------------------------------------------------------


def is_record(entity: EntitySpec) -> bool:
    return entity.kind == EntityKind.RECORD


def field_null(field: FieldSpec) -> bool:
    """Whether the column accepts NULL.

    Optional numbers, dates and relations are NULL when empty; optional text stays "" unless
    it is unique, where several empty values must not collide, so they are stored as NULL.
    """
    if field.type == FieldType.RELATION:
        return not field.required
    if field.type in NUMERIC or field.type in {FieldType.DATE, FieldType.DATETIME}:
        return not field.required
    if field.type in TEXT_LIKE or field.type == FieldType.CHOICE:
        return field.unique and not field.required
    return False


def field_blank(field: FieldSpec) -> bool:
    """Whether forms and the API accept the field empty."""
    if field.type == FieldType.BOOLEAN:
        return False
    return not field.required


def field_max_length(field: FieldSpec) -> int | None:
    """The max_length to write (None: leave Django's or the kit's own default)."""
    if field.type in {FieldType.TEXT, FieldType.PHONE}:
        return field.max_length or DEFAULT_MAX_LENGTH[field.type]
    if field.type in {FieldType.EMAIL, FieldType.URL, FieldType.CHOICE}:
        return field.max_length
    return None


def field_digits(field: FieldSpec) -> tuple[int, int]:
    return effective_digits(field)


def field_on_delete(field: FieldSpec) -> str:
    if field.on_delete is not None:
        return ON_DELETE[field.on_delete]
    # Nothing said: an optional link is cleared, a required one keeps the related row alive.
    return "models.SET_NULL" if not field.required else "models.PROTECT"


def field_verbose_name(field: FieldSpec) -> str:
    return field.label


@dataclass(frozen=True)
class DefaultValue:
    """A field default: either a literal value or the dotted name of a callable."""

    value: object = None
    callable_name: str | None = None


def field_default(field: FieldSpec, place: str) -> DefaultValue | None:
    """The default of a field as a Python value, or None when it has none."""
    raw = field.default
    if raw is None:
        return DefaultValue(False) if field.type == FieldType.BOOLEAN else None
    try:
        return _typed_default(field, raw)
    except (TypeError, ValueError, ArithmeticError) as error:
        raise CompileError(
            f"{place}: the default {raw!r} does not fit a {field.type} field ({error});"
            " give a value of that type."
        ) from error


def _integer_default(field: FieldSpec, raw: object) -> DefaultValue:
    if isinstance(raw, float) and not raw.is_integer():
        raise ValueError("not a whole number")
    return DefaultValue(int(raw))  # type: ignore[call-overload]


def _decimal_default(field: FieldSpec, raw: object) -> DefaultValue:
    places = field_digits(field)[1]
    value = Decimal(str(raw))
    if not value.is_finite():
        raise ValueError("not a finite number")
    return DefaultValue(value.quantize(Decimal(1).scaleb(-places)) if places else value)


def _date_default(field: FieldSpec, raw: object) -> DefaultValue:
    if raw == "today":
        return DefaultValue(callable_name="timezone.localdate")
    return DefaultValue(datetime.date.fromisoformat(str(raw)))


def _datetime_default(field: FieldSpec, raw: object) -> DefaultValue:
    if raw == "now":
        return DefaultValue(callable_name="timezone.now")
    value = datetime.datetime.fromisoformat(str(raw))
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    return DefaultValue(value)


def _no_default(field: FieldSpec, raw: object) -> DefaultValue:
    if field.type == FieldType.MULTI_CHOICE:
        raise ValueError("a multiple choice field starts empty")
    raise ValueError("this type of field cannot have a default")


_DEFAULTS = {
    FieldType.BOOLEAN: lambda field, raw: DefaultValue(bool(raw)),
    FieldType.INTEGER: _integer_default,
    FieldType.DECIMAL: _decimal_default,
    FieldType.MONEY: _decimal_default,
    FieldType.DATE: _date_default,
    FieldType.DATETIME: _datetime_default,
    FieldType.RELATION: _no_default,
    FieldType.RELATION_MANY: _no_default,
    FieldType.FILE: _no_default,
    FieldType.MULTI_CHOICE: _no_default,
}


def _typed_default(field: FieldSpec, raw: object) -> DefaultValue:
    convert = _DEFAULTS.get(field.type, lambda field, raw: DefaultValue(str(raw)))
    return convert(field, raw)


def default_literal(default: DefaultValue) -> str:
    from factory.compiler.pycode import py_literal

    if default.callable_name:
        return default.callable_name
    return py_literal(default.value)


# --- the app -----------------------------------------------------------------------------


def _cycle(required: dict[str, set[str]], remaining: list[str]) -> list[str]:
    """One cycle among ``remaining`` (each has a required link to another remaining one)."""
    path = [remaining[0]]
    while True:
        following = sorted(required[path[-1]] & set(remaining))[0]
        if following in path:
            return [*path[path.index(following) :], following]
        path.append(following)


@dataclass(frozen=True)
class StageFieldInfo:
    name: str
    label: str


@dataclass
class AppContext:
    """A valid spec seen through the compiler's eyes, for one app label."""

    spec: AppSpec
    label: str

    @cached_property
    def entities(self) -> dict[str, EntitySpec]:
        return {entity.id: entity for entity in self.spec.entities}

    @cached_property
    def choice_lists(self) -> dict[str, ChoiceListSpec]:
        return {choice_list.key: choice_list for choice_list in self.spec.choice_lists}

    @cached_property
    def config_class(self) -> str:
        return f"{pascal_case(self.label)}Config"

    @property
    def api_namespace(self) -> str:
        return f"{self.label}_api"

    def class_name(self, entity_id: str) -> str:
        return self.entities[entity_id].name

    def model_name(self, entity_id: str) -> str:
        return self.entities[entity_id].name.lower()

    def target(self, field: FieldSpec) -> EntitySpec:
        assert field.target is not None
        return self.entities[field.target]

    def pipelines_of(self, entity: EntitySpec) -> list[PipelineSpec]:
        return [pipeline for pipeline in self.spec.pipelines if pipeline.entity == entity.id]

    def stage_field(self, entity: EntitySpec) -> StageFieldInfo | None:
        if not entity.stage_field:
            return None
        return StageFieldInfo(entity.stage_field, entity.stage_field.replace("_", " "))

    def stored_names(self, entity: EntitySpec) -> list[str]:
        """The entity's field names in model order, with ``pipeline`` and the stage field
        placed after ``stage_field_after`` (after the last field when it is not set)."""
        names = [field.name for field in entity.fields]
        if entity.stage_field:
            after = entity.stage_field_after
            position = names.index(after) + 1 if after in names else len(names)
            names[position:position] = ["pipeline", entity.stage_field]
        return names

    def computed_names(self, entity: EntitySpec) -> set[str]:
        return {computed.name for computed in entity.computed}

    def automations_of(self, entity: EntitySpec) -> list:
        return [item for item in self.spec.automations if item.entity == entity.id]

    def first_option(self, key: str) -> str:
        return self.choice_lists[key].options[0].value

    def field_place(self, entity: EntitySpec, field: FieldSpec) -> str:
        return f"entities[{entity.id}].fields[{field.id}]"

    # Entities in an order where required links point backwards (factories need it).

    @cached_property
    def creation_order(self) -> list[EntitySpec]:
        """Entities so that each comes after the ones its required relations point to."""
        required: dict[str, set[str]] = {
            entity.id: {
                field.target
                for field in entity.fields
                if field.type == FieldType.RELATION and field.required and field.target
            }
            for entity in self.spec.entities
        }
        ordered: list[EntitySpec] = []
        placed: set[str] = set()
        remaining = [entity.id for entity in self.spec.entities]
        while remaining:
            ready = [entity_id for entity_id in remaining if required[entity_id] <= placed]
            if not ready:
                cycle = " → ".join(_cycle(required, remaining))
                raise CompileError(
                    f"entities: the required relations {cycle} form a cycle, so no record of"
                    " them could ever be created first; make one of these relations optional."
                )
            for entity_id in ready:
                ordered.append(self.entities[entity_id])
                placed.add(entity_id)
            remaining = [entity_id for entity_id in remaining if entity_id not in placed]
        return ordered

    def inline_parents(self) -> dict[str, list[str]]:
        """Child entity id → ids of the entities that edit it inline."""
        parents: dict[str, list[str]] = {}
        for entity in self.spec.entities:
            for child in entity.admin.inlines:
                parents.setdefault(child, []).append(entity.id)
        return parents

    def record_links(self, entity: EntitySpec) -> list[FieldSpec]:
        """A detail's required relations to records: it is visible when they all are."""
        return [
            field
            for field in entity.fields
            if field.type == FieldType.RELATION and field.required and is_record(self.target(field))
        ]

    def link_to(self, child: EntitySpec, parent: EntitySpec) -> FieldSpec | None:
        """The child's first relation field pointing at ``parent`` (the inline's foreign key)."""
        for field in child.fields:
            if field.type == FieldType.RELATION and field.target == parent.id:
                return field
        return None
