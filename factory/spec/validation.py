"""Whole-spec validation of an app spec: references, collisions, reserved names, expressions.

The pydantic models in ``factory.spec.models`` check the shape of each object; this module
checks the rules that need the whole spec and reports every problem as a ``SpecProblem``
whose path names the place with ids in brackets (``entities[deal].fields[deal_amount]``)
and whose message says what is wrong and what to do. It never raises on a bad spec and
never generates code. Everything the compiler refuses (required relations in a circle,
endpoint addresses taken twice, filters it cannot write, defaults it cannot write exactly)
is refused here first, so a spec that passes compiles (a property test holds it to that).
"""

from __future__ import annotations

import datetime
import decimal
import itertools
import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from factory.spec.expressions import (
    ExpressionError,
    check_expression,
    expression_fields,
    field_expression_type,
    parse_expression,
)
from factory.spec.models import (
    AppSpec,
    AutomationSpec,
    CreateTaskAction,
    EntityKind,
    EntitySpec,
    FieldChangedTrigger,
    FieldSpec,
    OnDelete,
    SetFieldAction,
    StageEnteredTrigger,
)
from factory.spec.reserved import (
    GENERATED_CLASS_SUFFIXES,
    KIT_API_ENDPOINTS,
    api_endpoint_names,
    reserved_class_name_reason,
    reserved_name_reason,
)
from factory.spec.sizes import DEFAULT_MAX_LENGTH, effective_digits

TEXT_TYPES = frozenset({"text", "long_text", "email", "phone", "url"})
SEARCHABLE_TYPES = TEXT_TYPES | {"choice"}
NUMBER_TYPES = frozenset({"integer", "decimal", "money"})
RELATION_TYPES = frozenset({"relation", "relation_many"})
BIGINT_LIMIT = 2**63
DECIMAL_PRECISION = decimal.getcontext().prec
# Implied fields of record entities (from the kit's Record base), by usable role.
RECORD_BASE_FIELDS = {
    "created_at": "datetime",
    "updated_at": "datetime",
    "owner": "relation",
    "created_by": "relation",
    "updated_by": "relation",
}
PIPELINE_FIELD = "pipeline"
# Fields of the kit tables behind implied relations, reachable as relation.field.
KIT_PIPELINE_FIELDS = {"name": "text"}
KIT_STAGE_FIELDS = {"name": "text", "kind": "choice", "probability": "integer"}
KIT_USER_FIELDS = {"username": "text", "email": "email", "first_name": "text", "last_name": "text"}
# Choice lists and options the kit's tasks rely on.
KIT_CHOICE_LISTS = {"task_status": ("todo", "done"), "task_priority": ("normal",)}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class SpecProblem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '(spec)'}: {self.message}"


class SpecInvalid(Exception):
    """A spec that cannot be used; ``problems`` lists every reason."""

    def __init__(self, problems: list[SpecProblem]) -> None:
        self.problems = list(problems)
        super().__init__(self.problems)

    def __str__(self) -> str:
        count = len(self.problems)
        lines = [f"The app spec has {count} problem{'s' if count != 1 else ''}:"]
        lines += [f"- {problem}" for problem in self.problems]
        return "\n".join(lines)


def validate_app_spec(spec: AppSpec) -> list[SpecProblem]:
    """Every problem of the spec, in document order; an empty list means valid."""
    return _Validator(spec).run()


# --- helpers -------------------------------------------------------------------------------


def entity_path(entity: EntitySpec) -> str:
    return f"entities[{entity.id}]"


def field_path(entity: EntitySpec, field: FieldSpec) -> str:
    return f"{entity_path(entity)}.fields[{field.id}]"


def _names(values: list[str]) -> str:
    return ", ".join(values) if values else "(none)"


def _type_name(field_type: Any) -> str:
    return str(field_type).replace("_", " ")


def _suggest_field_name(entity: EntitySpec, name: str) -> str:
    candidate = re.sub(r"_+", "_", name).strip("_") or "value"
    if reserved_name_reason(candidate) is None and candidate != name:
        return candidate
    return f"{entity.id}_{candidate}"


def effective_max_length(field: FieldSpec) -> int | None:
    if field.max_length is not None:
        return field.max_length
    return DEFAULT_MAX_LENGTH.get(field.type)


@dataclass
class _Member:
    """A name an entity answers to: a field, a computed field or an implied field."""

    name: str
    kind: str  # field type, "computed", or the implied kind
    path: str
    stored: bool


# --- the validator -------------------------------------------------------------------------


class _Validator:
    def __init__(self, spec: AppSpec) -> None:
        self.spec = spec
        self.problems: list[SpecProblem] = []
        self.entities = {entity.id: entity for entity in spec.entities}
        self.choice_lists = {choice_list.key: choice_list for choice_list in spec.choice_lists}
        self.members: dict[str, dict[str, _Member]] = {}

    def add(self, path: str, message: str) -> None:
        self.problems.append(SpecProblem(path, message))

    def run(self) -> list[SpecProblem]:
        self._ids()
        for entity in self.spec.entities:
            self.members[entity.id] = self._collect_members(entity)
        self._class_names()
        for entity in self.spec.entities:
            self._entity(entity)
        self._reverse_accessors()
        self._required_cycles()
        self._api_endpoints()
        self._choice_lists()
        self._pipelines()
        for automation in self.spec.automations:
            self._automation(automation)
        self._roles()
        return self.problems

    # ids --------------------------------------------------------------------------------

    def _ids(self) -> None:
        spec = self.spec
        self._unique_ids("entity", [(e.id, entity_path(e)) for e in spec.entities])
        field_ids = []
        for entity in spec.entities:
            field_ids += [(f.id, field_path(entity, f)) for f in entity.fields]
            field_ids += [
                (c.id, f"{entity_path(entity)}.computed[{c.id}]") for c in entity.computed
            ]
        self._unique_ids("field", field_ids)
        self._unique_ids(
            "choice list", [(c.id, f"choice_lists[{c.id}]") for c in spec.choice_lists]
        )
        self._unique_ids("pipeline", [(p.id, f"pipelines[{p.id}]") for p in spec.pipelines])
        stage_ids = [
            (stage.id, f"pipelines[{pipeline.id}].stages[{stage.id}]")
            for pipeline in spec.pipelines
            for stage in pipeline.stages
        ]
        self._unique_ids("stage", stage_ids)
        self._unique_ids("automation", [(a.id, f"automations[{a.id}]") for a in spec.automations])
        self._unique_ids("role", [(r.id, f"roles[{r.id}]") for r in spec.roles])

    def _unique_ids(self, kind: str, items: list[tuple[str, str]]) -> None:
        seen: dict[str, str] = {}
        for item_id, path in items:
            if item_id in seen:
                self.add(
                    f"{path}.id",
                    f"the {kind} id {item_id!r} is already used by {seen[item_id]}; every "
                    f"{kind} needs its own id, so give this one another (for example "
                    f"{item_id + '_2'!r}).",
                )
            else:
                seen[item_id] = path

    # members of entities ----------------------------------------------------------------

    def _collect_members(self, entity: EntitySpec) -> dict[str, _Member]:
        members: dict[str, _Member] = {}
        if entity.kind == EntityKind.RECORD:
            for name, kind in RECORD_BASE_FIELDS.items():
                members[name] = _Member(name, kind, "", stored=True)
        if entity.stage_field:
            path = f"{entity_path(entity)}.stage_field"
            members[PIPELINE_FIELD] = _Member(PIPELINE_FIELD, "relation", path, stored=True)
            members[entity.stage_field] = _Member(entity.stage_field, "relation", path, True)
        for field in entity.fields:
            path = field_path(entity, field)
            if field.name in members:
                self._duplicate_member(entity, field.name, f"{path}.name", members[field.name])
            else:
                members[field.name] = _Member(field.name, str(field.type), path, stored=True)
        for computed in entity.computed:
            path = f"{entity_path(entity)}.computed[{computed.id}]"
            if computed.name in members:
                self._duplicate_member(
                    entity, computed.name, f"{path}.name", members[computed.name]
                )
            else:
                members[computed.name] = _Member(computed.name, "computed", path, stored=False)
        return members

    def _duplicate_member(
        self, entity: EntitySpec, name: str, path: str, existing: _Member
    ) -> None:
        if not existing.path:
            return  # a record base field: reported as a reserved name
        if existing.path.endswith(".stage_field"):
            what = (
                f"the pipeline field implied by {existing.path}"
                if name == PIPELINE_FIELD
                else f"the stage field named by {existing.path}"
            )
            self.add(
                path,
                f"{name!r} is already {what}; rename this field or choose another stage_field.",
            )
            return
        self.add(
            path,
            f"the name {name!r} is already used by {existing.path}; each field of "
            f"{entity.name} needs its own name, so rename one of them.",
        )

    # class names ------------------------------------------------------------------------

    def _class_names(self) -> None:
        seen: dict[str, EntitySpec] = {}
        names = {entity.name for entity in self.spec.entities}
        for entity in self.spec.entities:
            path = f"{entity_path(entity)}.name"
            reason = reserved_class_name_reason(entity.name)
            if reason:
                self.add(
                    path,
                    f"{entity.name!r} cannot be used as a class name: {reason}; rename the "
                    f"entity (for example {entity.name + 'Record'!r}).",
                )
            lowered = entity.name.lower()
            if lowered in seen:
                self.add(
                    path,
                    f"the class name {entity.name!r} collides with {entity_path(seen[lowered])} "
                    f"({seen[lowered].name!r}; names are compared ignoring case); rename one.",
                )
            else:
                seen[lowered] = entity
            for suffix in GENERATED_CLASS_SUFFIXES:
                base = entity.name.removesuffix(suffix)
                if base != entity.name and base in names:
                    self.add(
                        path,
                        f"the compiler generates a class {entity.name!r} for the entity {base!r}; "
                        "rename this entity.",
                    )

    # entities ---------------------------------------------------------------------------

    def _entity(self, entity: EntitySpec) -> None:
        for field in entity.fields:
            self._field(entity, field)
        for computed in entity.computed:
            self._name(entity, computed.name, f"{entity_path(entity)}.computed[{computed.id}].name")
        self._computed(entity)
        self._stage_field(entity)
        self._display(entity)
        self._ordering(entity, entity.ordering, f"{entity_path(entity)}.ordering")
        self._unique_together(entity)
        self._admin(entity)
        self._api(entity)

    def _name(self, entity: EntitySpec, name: str, path: str) -> None:
        reason = reserved_name_reason(name)
        if reason:
            self.add(
                path,
                f"{name!r} cannot be used as a name: {reason}; rename it (for example "
                f"{_suggest_field_name(entity, name)!r}).",
            )

    def _field(self, entity: EntitySpec, field: FieldSpec) -> None:
        path = field_path(entity, field)
        self._name(entity, field.name, f"{path}.name")
        self._attname_clash(entity, field, path)
        self._field_options(field, path)
        self._relation(entity, field, path)
        self._choice(field, path)
        self._numbers(field, path)
        self._default(field, path)

    def _attname_clash(self, entity: EntitySpec, field: FieldSpec, path: str) -> None:
        if not field.name.endswith("_id"):
            return
        relation = field.name.removesuffix("_id")
        member = self.members[entity.id].get(relation)
        if member and member.kind == "relation":
            self.add(
                f"{path}.name",
                f"{field.name!r} clashes with the database column of the relation {relation!r}; "
                "rename this field.",
            )

    def _field_options(self, field: FieldSpec, path: str) -> None:
        field_type = str(field.type)
        if field.max_length is not None and field_type not in TEXT_TYPES:
            self.add(
                f"{path}.max_length",
                f"max_length only applies to text fields (text, long text, email, phone, url), "
                f"not to a {_type_name(field_type)} field; remove it.",
            )
        if field.unique and field_type in {"relation_many", "multi_choice", "boolean", "file"}:
            self.add(
                f"{path}.unique",
                f"a {_type_name(field_type)} field cannot be unique; remove unique.",
            )
        if field.index and field_type in {"relation_many", "multi_choice"}:
            self.add(
                f"{path}.index",
                f"a {_type_name(field_type)} field cannot be indexed; remove index.",
            )
        options = [
            ("choice_list", {"choice", "multi_choice"}, "choice and multiple choice fields"),
            ("target", RELATION_TYPES, "relation fields"),
            ("related_name", RELATION_TYPES, "relation fields"),
            ("on_delete", {"relation"}, "relation (to one) fields"),
            ("through", {"relation_many"}, "relation to many fields"),
            ("max_digits", {"decimal", "money"}, "decimal and money fields"),
            ("decimal_places", {"decimal", "money"}, "decimal and money fields"),
            ("min_value", NUMBER_TYPES, "number fields"),
            ("max_value", NUMBER_TYPES, "number fields"),
        ]
        for option, types, what in options:
            if getattr(field, option) is not None and field_type not in types:
                self.add(
                    f"{path}.{option}",
                    f"{option} only applies to {what}, not to a {_type_name(field_type)} field; "
                    "remove it.",
                )

    def _relation(self, entity: EntitySpec, field: FieldSpec, path: str) -> None:
        field_type = str(field.type)
        if field_type not in RELATION_TYPES:
            return
        if field.target is None:
            self.add(
                f"{path}.target",
                f"say which entity this relation points to (target: <entity id>); known "
                f"entities: {_names(list(self.entities))}.",
            )
        elif field.target not in self.entities:
            self.add(
                f"{path}.target",
                f"no entity has the id {field.target!r}; use one of: "
                f"{_names(list(self.entities))}.",
            )
        if field.related_name is not None:
            self._name(entity, field.related_name, f"{path}.related_name")
        if field_type == "relation":
            self._on_delete(field, path)
        elif field.through is not None:
            self._through(entity, field, path)

    def _on_delete(self, field: FieldSpec, path: str) -> None:
        if field.on_delete is None:
            self.add(
                f"{path}.on_delete",
                "say what happens to this record when the related one is deleted: cascade "
                "(delete it too), protect or restrict (refuse), or set_null (clear the field).",
            )
        elif field.on_delete == OnDelete.SET_NULL and field.required:
            self.add(
                f"{path}.on_delete",
                "set_null clears the field, but this relation is required; make it optional "
                "(required: false) or choose cascade, protect or restrict.",
            )

    def _through(self, entity: EntitySpec, field: FieldSpec, path: str) -> None:
        through = self.entities.get(field.through or "")
        if through is None:
            self.add(
                f"{path}.through",
                f"no entity has the id {field.through!r}; through names a detail entity with "
                f"relations to {entity.id!r} and to the target.",
            )
            return
        if through.kind != EntityKind.DETAIL:
            self.add(
                f"{path}.through",
                f"{entity_path(through)} is a record entity; the link entity of a relation to "
                "many must be of kind detail.",
            )
        for needed in dict.fromkeys([entity.id, field.target]):
            links = [
                f
                for f in through.fields
                if str(f.type) == "relation" and f.target == needed and needed is not None
            ]
            if needed is not None and len(links) != 1 and needed in self.entities:
                count = "no relation" if not links else f"{len(links)} relations"
                self.add(
                    f"{path}.through",
                    f"{entity_path(through)} has {count} to {needed!r}; a link entity needs "
                    f"exactly one relation to each side.",
                )

    def _choice(self, field: FieldSpec, path: str) -> None:
        if str(field.type) not in {"choice", "multi_choice"}:
            return
        if field.choice_list is None:
            self.add(
                f"{path}.choice_list",
                f"say which choice list the values come from (choice_list: <key>); known "
                f"lists: {_names(list(self.choice_lists))}.",
            )
        elif field.choice_list not in self.choice_lists:
            self.add(
                f"{path}.choice_list",
                f"no choice list has the key {field.choice_list!r}; add it to choice_lists or "
                f"use one of: {_names(list(self.choice_lists))}.",
            )

    def _numbers(self, field: FieldSpec, path: str) -> None:
        field_type = str(field.type)
        if field_type in {"decimal", "money"}:
            digits, places = effective_digits(field)
            if places > digits:
                self.add(
                    f"{path}.decimal_places",
                    f"decimal_places ({places}) cannot exceed max_digits ({digits}); lower it "
                    "or raise max_digits.",
                )
        for option in ("min_value", "max_value"):
            value = getattr(field, option)
            if value is not None:
                problem = self._number_problem(field, value)
                if problem:
                    self.add(f"{path}.{option}", problem)
        low, high = field.min_value, field.max_value
        if _finite(low) and _finite(high) and low > high:  # type: ignore[operator]
            self.add(
                f"{path}.min_value",
                f"min_value ({_show(low)}) is larger than max_value ({_show(high)}); swap or "
                "correct them.",
            )

    def _number_problem(self, field: FieldSpec, value: Any) -> str | None:
        """Why ``value`` cannot be stored in this number field, or None."""
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            return "expected a number; write it without quotes."
        if isinstance(value, float) and not math.isfinite(value):
            return "expected a finite number, not infinity or NaN."
        if isinstance(value, int) and not -BIGINT_LIMIT < value < BIGINT_LIMIT:
            return "the number is too large to be stored; use a smaller one."
        if str(field.type) == "integer":
            return None if isinstance(value, int) else "an integer field needs a whole number."
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            return f"{value!r} is not a number; write digits with an optional decimal point."
        if not number.is_finite():
            return "expected a finite number."
        digits, places = effective_digits(field)
        _sign, number_digits, exponent = number.as_tuple()
        whole_digits = len(number_digits) + int(exponent)
        if whole_digits > digits - places:
            return (
                f"the number has too many digits before the decimal point for max_digits "
                f"{digits} and decimal_places {places}."
            )
        try:
            # What the compiler writes; Python's decimals keep 28 digits at most.
            quantized = number.quantize(Decimal(1).scaleb(-places))
        except InvalidOperation:
            return (
                f"the number has more digits than can be written exactly ({DECIMAL_PRECISION} at "
                f"most, counting {places} decimal places); use a shorter number."
            )
        if -int(exponent) > places and number != quantized:
            return f"the number has more than {places} decimal places."
        return None

    # defaults ---------------------------------------------------------------------------

    def _default(self, field: FieldSpec, path: str) -> None:
        if field.default is None:
            return
        field_type = str(field.type)
        problem: str | None
        if field_type in {"multi_choice", "relation", "relation_many", "file"}:
            problem = f"a {_type_name(field_type)} field cannot have a default; remove it."
        elif field_type in NUMBER_TYPES:
            problem = self._number_problem(field, field.default)
            if problem is None:
                problem = self._default_in_range(field)
        elif field_type == "boolean":
            problem = None if isinstance(field.default, bool) else "use true or false."
        elif field_type in {"date", "datetime"}:
            problem = _date_default_problem(field_type, field.default)
        elif field_type == "choice":
            problem = self._choice_default_problem(field)
        else:
            problem = _text_default_problem(field)
        if problem:
            self.add(f"{path}.default", f"invalid default {_show(field.default)}: {problem}")

    def _default_in_range(self, field: FieldSpec) -> str | None:
        value = Decimal(str(field.default))
        low, high = field.min_value, field.max_value
        if _finite(low) and value < low:  # type: ignore[operator]
            return f"it is below min_value ({_show(low)}); raise it or lower min_value."
        if _finite(high) and value > high:  # type: ignore[operator]
            return f"it is above max_value ({_show(high)}); lower it or raise max_value."
        return None

    def _choice_default_problem(self, field: FieldSpec) -> str | None:
        choice_list = self.choice_lists.get(field.choice_list or "")
        if choice_list is None:
            return None  # reported on choice_list
        values = [option.value for option in choice_list.options]
        if not isinstance(field.default, str) or field.default not in values:
            return (
                f"it is not an option of the choice list {choice_list.key!r}; use one of: "
                f"{_names(values)}."
            )
        return None

    # computed fields --------------------------------------------------------------------

    def _computed(self, entity: EntitySpec) -> None:
        uses: dict[str, set[str]] = {}
        for computed in entity.computed:
            path = f"{entity_path(entity)}.computed[{computed.id}].expression"
            expression = self._expression(
                computed.expression, path, entity, expected=str(computed.type)
            )
            if expression is not None:
                uses[computed.name] = expression_fields(expression)
        computed_names = {computed.name for computed in entity.computed}
        for computed in entity.computed:
            cycle = _find_cycle(computed.name, uses, computed_names)
            if cycle:
                self.add(
                    f"{entity_path(entity)}.computed[{computed.id}].expression",
                    f"computed fields use each other in a circle ({' → '.join(cycle)}); "
                    "make one of them use stored fields only.",
                )

    def _expression(self, text: str, path: str, entity: EntitySpec, *, expected: str | None) -> Any:
        try:
            expression = parse_expression(text)
        except ExpressionError as error:
            self.add(path, f"{error}; see the expression language in docs/spec.md.")
            return None
        for message in check_expression(
            expression, entity=entity, spec=self.spec, expected=expected
        ):
            self.add(path, f"{message}.")
        return expression

    # pipelines on the entity ------------------------------------------------------------

    def _stage_field(self, entity: EntitySpec) -> None:
        path = f"{entity_path(entity)}.stage_field"
        has_pipeline = any(p.entity == entity.id for p in self.spec.pipelines)
        if entity.stage_field is None:
            if entity.stage_field_after is not None:
                self.add(
                    f"{entity_path(entity)}.stage_field_after",
                    "stage_field_after only applies with a stage_field; remove it.",
                )
            return
        self._name(entity, entity.stage_field, path)
        if entity.stage_field == PIPELINE_FIELD:
            self.add(
                path,
                "'pipeline' is the name of the pipeline field the entity gets with its stage "
                "field; call the stage field something else, for example 'stage'.",
            )
        if entity.kind != EntityKind.RECORD:
            self.add(
                path,
                "only record entities move through pipelines; set kind: record or remove "
                "stage_field.",
            )
        after = entity.stage_field_after
        if after is not None and after not in {field.name for field in entity.fields}:
            self.add(
                f"{entity_path(entity)}.stage_field_after",
                f"{entity.name} has no field {after!r}; name one of its fields, or remove "
                "stage_field_after to place the stage last.",
            )
        if not has_pipeline:
            self.add(
                path,
                f"{entity.name} has a stage field but no pipeline; add a pipeline with "
                f"entity: {entity.id} or remove stage_field.",
            )

    # display, ordering, unique_together --------------------------------------------------

    def _check_names(
        self,
        entity: EntitySpec,
        names: list[str],
        path: str,
        *,
        allowed: Any,
        what: str,
    ) -> None:
        """Each name must be a member accepted by ``allowed(member)``; no repeats."""
        members = self.members[entity.id]
        seen: set[str] = set()
        for index, name in enumerate(names):
            item_path = f"{path}[{index}]"
            if name in seen:
                self.add(item_path, f"{name!r} is listed twice; keep it once.")
                continue
            seen.add(name)
            member, problem = self._lookup(entity, name)
            if problem:
                self.add(item_path, problem)
            elif member is None:
                known = sorted(n for n, m in members.items() if allowed(m))
                self.add(
                    item_path,
                    f"{entity.name} has no field {name!r}; {what} can use: {_names(known)}.",
                )
            elif not allowed(member):
                self.add(
                    item_path,
                    f"{name!r} ({_type_name(member.kind)}) cannot be used in {what}; "
                    f"{_what_is_allowed(what)}",
                )

    def _lookup(self, entity: EntitySpec, name: str) -> tuple[_Member | None, str | None]:
        """The member ``name`` (or ``relation.field``) reaches; or a problem to report."""
        if "." not in name:
            return self.members[entity.id].get(name), None
        first, second = name.split(".", 1)
        member = self.members[entity.id].get(first)
        if member is None or member.kind != "relation":
            return None, (
                f"{first!r} is not a relation (to one) of {entity.name}, so {name!r} cannot "
                "reach a related field; use relation.field."
            )
        related = self._related_members(entity, member)
        if related is None:
            return None, "the relation's target is unknown (reported on its target)."
        target_member = related.get(second)
        if target_member is None:
            return None, (
                f"what {first!r} points to has no field {second!r}; use one of: "
                f"{_names(sorted(related))}."
            )
        return target_member, None

    def _related_members(self, entity: EntitySpec, member: _Member) -> dict[str, _Member] | None:
        if member.name == PIPELINE_FIELD and member.path.endswith(".stage_field"):
            return _kit_members(KIT_PIPELINE_FIELDS)
        if member.name == entity.stage_field:
            return _kit_members(KIT_STAGE_FIELDS)
        if not member.path:
            return _kit_members(KIT_USER_FIELDS)
        field = next(f for f in entity.fields if f.name == member.name)
        if field.target not in self.members:
            return None
        return self.members[field.target or ""]

    def _display(self, entity: EntitySpec) -> None:
        self._check_names(
            entity,
            entity.display,
            f"{entity_path(entity)}.display",
            allowed=lambda m: (
                m.kind not in {"relation_many", "multi_choice", "file"}
                and m.name not in RECORD_BASE_FIELDS
            ),
            what="display",
        )

    def _ordering(self, entity: EntitySpec, ordering: list[str], path: str) -> None:
        members = self.members[entity.id]
        for index, entry in enumerate(ordering):
            name = entry.removeprefix("-")
            member = members.get(name)
            if member is None or not member.stored or member.kind == "relation_many":
                known = sorted(
                    n for n, m in members.items() if m.stored and m.kind != "relation_many"
                )
                self.add(
                    f"{path}[{index}]",
                    f"{entry!r} does not name a stored field of {entity.name}; use field names, "
                    f"with - in front for descending order: {_names(known)}.",
                )

    def _unique_together(self, entity: EntitySpec) -> None:
        for index, group in enumerate(entity.unique_together):
            path = f"{entity_path(entity)}.unique_together[{index}]"
            if len(set(group)) < 2:
                self.add(
                    path,
                    "a unique_together group needs at least two different fields; for one field "
                    "set unique: true on it.",
                )
            self._check_names(
                entity,
                group,
                path,
                allowed=lambda m: m.stored and m.kind not in {"relation_many", "multi_choice"},
                what="unique_together",
            )

    # admin and API ----------------------------------------------------------------------

    def _admin(self, entity: EntitySpec) -> None:
        admin, path = entity.admin, f"{entity_path(entity)}.admin"
        self._check_names(
            entity,
            admin.list_display,
            f"{path}.list_display",
            allowed=lambda m: m.kind != "relation_many",
            what="list_display",
        )
        self._check_names(
            entity, admin.list_filter, f"{path}.list_filter", allowed=_filterable, what="filters"
        )
        self._check_names(
            entity, admin.search_fields, f"{path}.search_fields", allowed=_searchable, what="search"
        )
        self._ordering(entity, admin.ordering, f"{path}.ordering")
        for index, inline_id in enumerate(admin.inlines):
            self._inline(entity, inline_id, f"{path}.inlines[{index}]")
        if admin.board and not entity.stage_field:
            self.add(
                f"{path}.board",
                f"a board shows records by stage, but {entity.name} has no stage_field; set "
                "stage_field and add a pipeline, or remove board.",
            )

    def _inline(self, entity: EntitySpec, inline_id: str, path: str) -> None:
        inline = self.entities.get(inline_id)
        if inline is None:
            self.add(
                path,
                f"no entity has the id {inline_id!r}; inlines list entities with a relation to "
                f"{entity.id!r}.",
            )
            return
        links = [f for f in inline.fields if str(f.type) == "relation" and f.target == entity.id]
        if inline.id == entity.id or not links:
            self.add(
                path,
                f"{entity_path(inline)} cannot be edited inline here: inlines must be other "
                f"entities with a relation (to one) to {entity.id!r}.",
            )

    def _api(self, entity: EntitySpec) -> None:
        api, path = entity.api, f"{entity_path(entity)}.api"
        self._check_names(
            entity, api.filter_fields, f"{path}.filter_fields", allowed=_filterable, what="filters"
        )
        self._check_names(
            entity, api.search_fields, f"{path}.search_fields", allowed=_searchable, what="search"
        )
        self._check_names(
            entity,
            api.ordering_fields,
            f"{path}.ordering_fields",
            allowed=lambda m: m.stored and m.kind != "relation_many",
            what="ordering",
        )

    # reverse accessors ------------------------------------------------------------------

    def _reverse_accessors(self) -> None:
        claimed: dict[tuple[str, str], str] = {}
        for entity in self.spec.entities:
            for field in entity.fields:
                target = self.entities.get(field.target or "")
                if str(field.type) not in RELATION_TYPES or target is None:
                    continue
                path = field_path(entity, field)
                names = _reverse_names(entity, field)
                for name in dict.fromkeys(names):
                    self._claim_reverse(target, name, path, claimed)

    def _claim_reverse(
        self, target: EntitySpec, name: str, path: str, claimed: dict[tuple[str, str], str]
    ) -> None:
        member = self.members[target.id].get(name)
        if member is not None and not member.path:
            return  # a record base field: reported as a reserved related_name
        if member is not None:
            where = member.path
            self.add(
                f"{path}.related_name",
                f"this relation gives {target.name} the reverse name {name!r}, which clashes with "
                f"{where}; set another related_name.",
            )
        elif (target.id, name) in claimed:
            self.add(
                f"{path}.related_name",
                f"{claimed[(target.id, name)]} already gives {target.name} the reverse name "
                f"{name!r}; set a different related_name on one of them.",
            )
        else:
            claimed[(target.id, name)] = path

    # required relations -----------------------------------------------------------------

    def _required_cycles(self) -> None:
        """Records are created one at a time, so required relations must not go in a circle.

        Places entities the way the compiler orders them (each after the entities its
        required relations point to) and reports each circle that stops the placing.
        """
        required: dict[str, dict[str, FieldSpec]] = {}
        for entity in self.spec.entities:
            links: dict[str, FieldSpec] = {}
            for field in entity.fields:
                if (
                    str(field.type) == "relation"
                    and field.required
                    and field.target in self.entities
                ):
                    links.setdefault(field.target or "", field)
            required[entity.id] = links
        placed: set[str] = set()
        remaining = [entity.id for entity in self.spec.entities]
        while remaining:
            ready = [item for item in remaining if set(required[item]) <= placed]
            if not ready:
                cycle = _required_cycle(required, remaining)
                self._required_cycle_problem(cycle, required)
                ready = cycle[:-1]
            placed.update(ready)
            remaining = [item for item in remaining if item not in placed]

    def _required_cycle_problem(
        self, cycle: list[str], required: dict[str, dict[str, FieldSpec]]
    ) -> None:
        first = self.entities[cycle[0]]
        fields = [required[source][target] for source, target in itertools.pairwise(cycle)]
        steps = " → ".join(
            f"{self.entities[source].name}.{field.name}"
            for source, field in zip(cycle, fields, strict=False)
        )
        if len(cycle) == 2:
            message = (
                f"the required relation {steps} points back to {first.name}, so the first "
                f"{first.label} could never be created; make it optional (required: false)."
            )
        else:
            message = (
                f"the required relations {steps} → {first.name} form a cycle, so no record of "
                "them could ever be created first; make one of these relations optional "
                "(required: false)."
            )
        self.add(f"{field_path(first, fields[0])}.required", message)

    # API endpoints ----------------------------------------------------------------------

    def _api_endpoints(self) -> None:
        """Each entity with an API gets an address and a route name of its own."""
        taken = {
            name: f"the kit's own {segment!r} endpoint"
            for segment, route in KIT_API_ENDPOINTS
            for name in (segment, route)
        }
        for entity in self.spec.entities:
            if not entity.api.enabled:
                continue
            names = api_endpoint_names(entity.id)
            clash = next((name for name in names if name in taken), None)
            if clash is None:
                taken.update({name: entity_path(entity) for name in names})
                continue
            segment, route = names
            self.add(
                f"{entity_path(entity)}.id",
                f"the REST endpoint of {entity.name} would be at {segment!r} with the route "
                f"name {route!r}, but {clash!r} is already used by {taken[clash]}; give the "
                "entity another id, or turn its API off (api.enabled: false).",
            )

    # choice lists -----------------------------------------------------------------------

    def _choice_lists(self) -> None:
        seen_keys: dict[str, str] = {}
        for choice_list in self.spec.choice_lists:
            path = f"choice_lists[{choice_list.id}]"
            if choice_list.key in seen_keys:
                self.add(
                    f"{path}.key",
                    f"the key {choice_list.key!r} is already used by {seen_keys[choice_list.key]}; "
                    "each choice list needs its own key.",
                )
            else:
                seen_keys[choice_list.key] = path
            values: set[str] = set()
            for option in choice_list.options:
                if option.value in values:
                    self.add(
                        f"{path}.options[{option.value}].value",
                        f"the value {option.value!r} appears twice in this list; keep it once.",
                    )
                values.add(option.value)
        for key, needed in KIT_CHOICE_LISTS.items():
            kit_list = self.choice_lists.get(key)
            present = {option.value for option in kit_list.options} if kit_list else set()
            missing = [value for value in needed if value not in present]
            if missing:
                self.add(
                    "choice_lists",
                    f"the kit's tasks need the choice list {key!r} with the options "
                    f"{', '.join(needed)} (missing: {', '.join(missing)}); add them back "
                    "(export-template shows them).",
                )

    # pipelines --------------------------------------------------------------------------

    def _pipelines(self) -> None:
        defaults: dict[str, str] = {}
        names: dict[tuple[str, str], str] = {}
        for pipeline in self.spec.pipelines:
            path = f"pipelines[{pipeline.id}]"
            entity = self.entities.get(pipeline.entity)
            if entity is None:
                self.add(
                    f"{path}.entity",
                    f"no entity has the id {pipeline.entity!r}; use one of: "
                    f"{_names(list(self.entities))}.",
                )
            elif not entity.stage_field:
                self.add(
                    f"{path}.entity",
                    f"{entity_path(entity)} has no stage_field; set it (for example 'stage') so "
                    "its records can move through this pipeline.",
                )
            key = (pipeline.entity, pipeline.name.casefold())
            if key in names:
                self.add(
                    f"{path}.name",
                    f"{names[key]} already has the name {pipeline.name!r} for this entity; "
                    "rename one.",
                )
            names.setdefault(key, path)
            if pipeline.is_default:
                if pipeline.entity in defaults:
                    self.add(
                        f"{path}.is_default",
                        f"{defaults[pipeline.entity]} is already the default pipeline of "
                        f"{pipeline.entity!r}; keep one default.",
                    )
                defaults.setdefault(pipeline.entity, path)
            stage_names: set[str] = set()
            for stage in pipeline.stages:
                if stage.name.casefold() in stage_names:
                    self.add(
                        f"{path}.stages[{stage.id}].name",
                        f"this pipeline already has a stage called {stage.name!r}; rename one.",
                    )
                stage_names.add(stage.name.casefold())

    # automations ------------------------------------------------------------------------

    def _automation(self, automation: AutomationSpec) -> None:
        path = f"automations[{automation.id}]"
        entity = self.entities.get(automation.entity)
        if entity is None:
            self.add(
                f"{path}.entity",
                f"no entity has the id {automation.entity!r}; use one of: "
                f"{_names(list(self.entities))}.",
            )
            return
        self._trigger(automation, entity, f"{path}.trigger")
        if automation.condition is not None:
            self._expression(
                automation.condition, f"{path}.condition", entity, expected="condition"
            )
        for index, action in enumerate(automation.actions):
            action_path = f"{path}.actions[{index}]"
            if isinstance(action, SetFieldAction):
                self._set_field(action, entity, action_path)
            elif isinstance(action, CreateTaskAction) and entity.kind != EntityKind.RECORD:
                self.add(
                    action_path,
                    f"tasks can only be attached to record entities, and {entity.name} is a "
                    "detail; trigger the automation on the record it belongs to.",
                )

    def _trigger(self, automation: AutomationSpec, entity: EntitySpec, path: str) -> None:
        trigger = automation.trigger
        if isinstance(trigger, StageEnteredTrigger):
            stages = [
                stage.id
                for pipeline in self.spec.pipelines
                if pipeline.entity == entity.id
                for stage in pipeline.stages
            ]
            if trigger.stage not in stages:
                self.add(
                    f"{path}.stage",
                    f"no pipeline of {entity.name} has a stage with the id {trigger.stage!r}; "
                    f"use one of: {_names(stages)}.",
                )
        elif isinstance(trigger, FieldChangedTrigger):
            fields = [field.name for field in entity.fields]
            if trigger.field not in fields:
                self.add(
                    f"{path}.field",
                    f"{entity.name} has no field {trigger.field!r}; use one of: {_names(fields)}.",
                )

    def _set_field(self, action: SetFieldAction, entity: EntitySpec, path: str) -> None:
        field = next((f for f in entity.fields if f.name == action.field), None)
        if field is None or field_expression_type(str(field.type)) is None:
            settable = [
                f.name for f in entity.fields if field_expression_type(str(f.type)) is not None
            ]
            reason = (
                f"{entity.name} has no field {action.field!r}"
                if field is None
                else f"a {_type_name(field.type)} field cannot be set by an expression"
            )
            self.add(f"{path}.field", f"{reason}; fields you can set: {_names(settable)}.")
            self._expression(action.expression, f"{path}.expression", entity, expected=None)
            return
        self._expression(action.expression, f"{path}.expression", entity, expected=str(field.type))

    # roles ------------------------------------------------------------------------------

    def _roles(self) -> None:
        names: dict[str, str] = {}
        for role in self.spec.roles:
            path = f"roles[{role.id}]"
            key = role.name.casefold()
            if key in names:
                self.add(
                    f"{path}.name",
                    f"{names[key]} already has the name {role.name!r}; role names become group "
                    "names, so rename one.",
                )
            names.setdefault(key, path)
            for entity_id in role.permissions:
                if entity_id not in self.entities:
                    self.add(
                        f"{path}.permissions[{entity_id}]",
                        f"no entity has the id {entity_id!r}; use one of: "
                        f"{_names(list(self.entities))}.",
                    )


# --- module helpers ------------------------------------------------------------------------


def _show(value: Any) -> str:
    """A short repr for messages (huge numbers cannot even be turned into text)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**30:
        return "a number with more than 30 digits"
    return repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."


def _finite(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and (isinstance(value, int) or math.isfinite(value))
    )


def _kit_members(fields: dict[str, str]) -> dict[str, _Member]:
    return {name: _Member(name, kind, "kit", stored=True) for name, kind in fields.items()}


def _filterable(member: _Member) -> bool:
    return member.stored and member.kind not in {"long_text", "multi_choice", "file"}


def _searchable(member: _Member) -> bool:
    return member.stored and member.kind in SEARCHABLE_TYPES


def _what_is_allowed(what: str) -> str:
    return {
        "search": "search only looks in text, email, phone, url and choice fields.",
        "filters": "filters work on stored fields other than long text, multiple choice and files.",
        "list_display": "many-to-many relations cannot be columns.",
        "display": "use stored fields other than relations to many, multiple choices and files.",
        "ordering": "order by stored fields other than relations to many.",
        "unique_together": "use stored fields other than relations to many and multiple choices.",
    }.get(what, "choose another field.")


def _reverse_names(entity: EntitySpec, field: FieldSpec) -> list[str]:
    """The accessor and query names a relation adds on its target entity."""
    if field.related_name:
        return [field.related_name]
    model_name = entity.name.lower()
    return [f"{model_name}_set", model_name]


def _required_cycle(required: dict[str, dict[str, FieldSpec]], remaining: list[str]) -> list[str]:
    """A circle start → ... → start among ``remaining``, each of which has a required link to
    another remaining one (the same walk as the compiler's, so the same circle)."""
    path = [remaining[0]]
    while True:
        following = sorted(set(required[path[-1]]) & set(remaining))[0]
        if following in path:
            return [*path[path.index(following) :], following]
        path.append(following)


def _find_cycle(start: str, uses: dict[str, set[str]], computed: set[str]) -> list[str]:
    """A path start → ... → start through computed fields, or [] when there is none."""
    stack = [(start, [start])]
    visited: set[str] = set()
    while stack:
        name, trail = stack.pop()
        for used in sorted(uses.get(name, set()) & computed):
            if used == start:
                return [*trail, start]
            if used not in visited:
                visited.add(used)
                stack.append((used, [*trail, used]))
    return []


def _text_default_problem(field: FieldSpec) -> str | None:
    if not isinstance(field.default, str):
        return "a text field needs text; put the value in quotes."
    limit = effective_max_length(field)
    if limit is not None and len(field.default) > limit:
        return f"it is longer than the field's max_length ({limit})."
    if str(field.type) == "email" and field.default and not _EMAIL.match(field.default):
        return "it is not an email address."
    return None


def _date_default_problem(field_type: str, value: Any) -> str | None:
    keyword = "today" if field_type == "date" else "now"
    if value == keyword:
        return None
    example = "2025-01-31" if field_type == "date" else "2025-01-31T09:00:00"
    if isinstance(value, str):
        try:
            if field_type == "date" and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                datetime.date.fromisoformat(value)
                return None
            if field_type == "datetime" and re.fullmatch(
                r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?", value
            ):
                datetime.datetime.fromisoformat(value)
                return None
        except ValueError:
            pass
    return f"use {keyword!r} or a value like {example!r}."
