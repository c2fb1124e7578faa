"""Spec diff: what changes between two app specs, and how risky each change is for the data.

``spec_diff`` compares two specs by stable ids (entities, fields, choice lists and options,
pipelines and stages, computed fields, automations, roles, admin and API options) and lists
each change with a classification and a plain-language sentence:

- SAFE: nothing existing is lost (add an optional field or an entity, rename, widen a type,
  relax a rule, change labels or options);
- NEEDS_DEFAULT: existing rows need a value the spec may not give (a new required field, an
  optional field made required);
- DESTRUCTIVE: existing values can be lost or refused (remove an entity, a field or a choice
  option, narrow a type, change a type that cannot convert).

This module is pure: it reads two specs and never touches Django or a database; the live
data each change touches is counted by ``factory.evolution.impact``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from factory.spec.models import AppSpec, ChoiceListSpec, EntitySpec, FieldSpec, FieldType
from factory.spec.sizes import DEFAULT_DECIMAL_PLACES, DEFAULT_MAX_DIGITS, DEFAULT_MAX_LENGTH

# The diff compares effective sizes (``factory.spec.sizes``, what the compiler renders when
# the spec leaves a size open), so that "None → 255" is no change and "None → 100" a narrowing.
DEFAULT_DIGITS: dict[FieldType, tuple[int, int]] = {
    FieldType.DECIMAL: (DEFAULT_MAX_DIGITS, DEFAULT_DECIMAL_PLACES),
    FieldType.MONEY: (DEFAULT_MAX_DIGITS, DEFAULT_DECIMAL_PLACES),
}
# An integer column holds up to ten digits (2,147,483,647).
INTEGER_DIGITS = 10

CHAR_TYPES = frozenset(DEFAULT_MAX_LENGTH)
DECIMAL_TYPES = frozenset(DEFAULT_DIGITS)
TEXT_SOURCES_OF_CHOICE = frozenset({FieldType.TEXT, FieldType.LONG_TEXT})


class ChangeClass(StrEnum):
    SAFE = "safe"
    NEEDS_DEFAULT = "needs_default"
    DESTRUCTIVE = "destructive"


CLASS_RANK = {ChangeClass.SAFE: 0, ChangeClass.NEEDS_DEFAULT: 1, ChangeClass.DESTRUCTIVE: 2}


class ChangeKind(StrEnum):
    APP_CHANGED = "app_changed"
    ENTITY_ADDED = "entity_added"
    ENTITY_REMOVED = "entity_removed"
    ENTITY_RENAMED = "entity_renamed"
    ENTITY_RELABELLED = "entity_relabelled"
    ENTITY_KIND_CHANGED = "entity_kind_changed"
    ENTITY_OPTIONS_CHANGED = "entity_options_changed"
    FIELD_ADDED = "field_added"
    FIELD_REMOVED = "field_removed"
    FIELD_RENAMED = "field_renamed"
    FIELD_RELABELLED = "field_relabelled"
    FIELD_WIDENED = "field_widened"
    FIELD_NARROWED = "field_narrowed"
    FIELD_CONVERTED = "field_converted"
    FIELD_REPLACED = "field_replaced"
    FIELD_MADE_OPTIONAL = "field_made_optional"
    FIELD_MADE_REQUIRED = "field_made_required"
    FIELD_DEFAULT_CHANGED = "field_default_changed"
    FIELD_UNIQUE_ADDED = "field_unique_added"
    FIELD_UNIQUE_REMOVED = "field_unique_removed"
    FIELD_INDEX_CHANGED = "field_index_changed"
    FIELD_RELATION_CHANGED = "field_relation_changed"
    FIELD_RANGE_CHANGED = "field_range_changed"
    STAGE_FIELD_ADDED = "stage_field_added"
    STAGE_FIELD_REMOVED = "stage_field_removed"
    STAGE_FIELD_RENAMED = "stage_field_renamed"
    COMPUTED_ADDED = "computed_added"
    COMPUTED_REMOVED = "computed_removed"
    COMPUTED_CHANGED = "computed_changed"
    CHOICE_LIST_ADDED = "choice_list_added"
    CHOICE_LIST_REMOVED = "choice_list_removed"
    CHOICE_LIST_CHANGED = "choice_list_changed"
    CHOICE_OPTION_ADDED = "choice_option_added"
    CHOICE_OPTION_REMOVED = "choice_option_removed"
    CHOICE_OPTION_CHANGED = "choice_option_changed"
    PIPELINE_ADDED = "pipeline_added"
    PIPELINE_REMOVED = "pipeline_removed"
    PIPELINE_CHANGED = "pipeline_changed"
    STAGE_ADDED = "stage_added"
    STAGE_REMOVED = "stage_removed"
    STAGE_CHANGED = "stage_changed"
    AUTOMATION_ADDED = "automation_added"
    AUTOMATION_REMOVED = "automation_removed"
    AUTOMATION_CHANGED = "automation_changed"
    ROLE_ADDED = "role_added"
    ROLE_REMOVED = "role_removed"
    ROLE_CHANGED = "role_changed"


@dataclass(frozen=True)
class SpecChange:
    """One change between two specs, located by stable ids.

    ``entity_id``/``field_id`` locate entity and field changes; ``subject_id`` the choice
    list, pipeline, automation or role; ``item`` the option value or stage id inside it.
    ``fill_value`` (with ``fill_given``) is the value existing rows receive when the change
    needs one: the field's default, or a value the builder gave for this change only.
    """

    kind: ChangeKind
    classification: ChangeClass
    sentence: str
    entity_id: str | None = None
    field_id: str | None = None
    subject_id: str | None = None
    item: str | None = None
    old: Any = None
    new: Any = None
    fill_value: Any = None
    fill_given: bool = False

    def to_jsonable(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind.value
        data["classification"] = self.classification.value
        return data


@dataclass(frozen=True)
class SpecDiff:
    old: AppSpec
    new: AppSpec
    changes: tuple[SpecChange, ...] = field(default_factory=tuple)

    @property
    def classification(self) -> ChangeClass:
        """The riskiest class among the changes (SAFE when nothing changes)."""
        return max(
            (change.classification for change in self.changes),
            key=CLASS_RANK.__getitem__,
            default=ChangeClass.SAFE,
        )

    def of_class(self, classification: ChangeClass) -> list[SpecChange]:
        return [change for change in self.changes if change.classification == classification]

    def of_kind(self, *kinds: ChangeKind) -> list[SpecChange]:
        return [change for change in self.changes if change.kind in kinds]

    def renamed_entities(self) -> dict[str, tuple[str, str]]:
        """Entity id → (old class name, new class name)."""
        return {
            change.entity_id: (change.old, change.new)
            for change in self.of_kind(ChangeKind.ENTITY_RENAMED)
            if change.entity_id
        }

    def renamed_fields(self) -> dict[tuple[str, str], tuple[str, str]]:
        """(entity id, field id) → (old field name, new field name)."""
        return {
            (change.entity_id, change.field_id): (change.old, change.new)
            for change in self.of_kind(ChangeKind.FIELD_RENAMED)
            if change.entity_id and change.field_id
        }

    def to_jsonable(self) -> dict[str, Any]:
        return {
            "classification": self.classification.value,
            "changes": [change.to_jsonable() for change in self.changes],
        }


def spec_diff(
    *, old: AppSpec, new: AppSpec, fill_values: Mapping[str, Any] | None = None
) -> SpecDiff:
    """Every change from ``old`` to ``new``, in a stable order (app, entities, lists...).

    ``fill_values`` maps a field id to the value existing rows receive when that field is
    added as required without a default, or made required: a one-off answer, not stored on
    the field.
    """
    differ = _SpecDiffer(old=old, new=new, fill_values=dict(fill_values or {}))
    return SpecDiff(old=old, new=new, changes=tuple(differ.changes()))


def _quote(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def _default_words(value: Any) -> str:
    return "no default" if value is None else _quote(value)


def _count_words(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _by_id(items: list[Any]) -> dict[str, Any]:
    return {item.id: item for item in items}


def _type_words(field_spec: FieldSpec) -> str:
    return field_spec.type.value.replace("_", " ")


def effective_max_length(field_spec: FieldSpec) -> int | None:
    """The column size a text-like field gets, or None for unbounded or non-text types."""
    if field_spec.type not in CHAR_TYPES:
        return None
    return field_spec.max_length or DEFAULT_MAX_LENGTH[field_spec.type]


def effective_digits(field_spec: FieldSpec) -> tuple[int, int] | None:
    """(max digits, decimal places) of a decimal or money field, None otherwise."""
    if field_spec.type == FieldType.INTEGER:
        return (INTEGER_DIGITS, 0)
    if field_spec.type not in DECIMAL_TYPES:
        return None
    default_digits, default_places = DEFAULT_DIGITS[field_spec.type]
    return (
        field_spec.max_digits or default_digits,
        field_spec.decimal_places if field_spec.decimal_places is not None else default_places,
    )


class TypeVerdict(StrEnum):
    SAME = "same"
    WIDEN = "widen"
    NARROW = "narrow"
    CONVERT = "convert"  # text → choice, or another choice list: values mapped to options
    REPLACE = "replace"  # cannot convert: the old values are discarded


def field_storage_verdict(old: FieldSpec, new: FieldSpec) -> tuple[TypeVerdict, str]:
    """How the stored values fare when ``old`` becomes ``new`` (type and size), with a phrase."""
    if old.type != new.type:
        return _type_change_verdict(old, new)
    if old.type in (FieldType.RELATION, FieldType.RELATION_MANY) and (
        old.target != new.target or old.through != new.through
    ):
        return TypeVerdict.REPLACE, "now links to another entity"
    if old.type == FieldType.CHOICE and old.choice_list != new.choice_list:
        return TypeVerdict.CONVERT, f"choice from list {old.choice_list} → {new.choice_list}"
    if old.type == FieldType.MULTI_CHOICE and old.choice_list != new.choice_list:
        return TypeVerdict.NARROW, f"choices from list {old.choice_list} → {new.choice_list}"
    return _size_verdict(old, new)


def _size_verdict(old: FieldSpec, new: FieldSpec) -> tuple[TypeVerdict, str]:
    old_length, new_length = effective_max_length(old), effective_max_length(new)
    if old_length is not None and new_length is not None and old_length != new_length:
        verdict = TypeVerdict.WIDEN if new_length > old_length else TypeVerdict.NARROW
        return verdict, f"max length {old_length} → {new_length}"
    old_digits, new_digits = effective_digits(old), effective_digits(new)
    if old_digits is not None and new_digits is not None and old_digits != new_digits:
        return _digits_verdict(old_digits, new_digits), _digits_phrase(old_digits, new_digits)
    return TypeVerdict.SAME, ""


def _digits_verdict(old: tuple[int, int], new: tuple[int, int]) -> TypeVerdict:
    old_whole, new_whole = old[0] - old[1], new[0] - new[1]
    if new_whole >= old_whole and new[1] >= old[1]:
        return TypeVerdict.WIDEN
    return TypeVerdict.NARROW


def _digits_phrase(old: tuple[int, int], new: tuple[int, int]) -> str:
    parts = []
    if old[0] != new[0]:
        parts.append(f"digits {old[0]} → {new[0]}")
    if old[1] != new[1]:
        parts.append(f"decimal places {old[1]} → {new[1]}")
    return ", ".join(parts)


def _type_change_verdict(old: FieldSpec, new: FieldSpec) -> tuple[TypeVerdict, str]:
    phrase = f"{_type_words(old)} → {_type_words(new)}"
    old_type, new_type = old.type, new.type
    if new_type == FieldType.LONG_TEXT and old_type in CHAR_TYPES:
        return TypeVerdict.WIDEN, phrase
    if new_type == FieldType.TEXT and old_type in CHAR_TYPES:
        verdict, _size = _size_verdict_between(old, new)
        return verdict, phrase
    if new_type in CHAR_TYPES and old_type in (FieldType.TEXT, FieldType.LONG_TEXT):
        if new_type == FieldType.CHOICE:
            return TypeVerdict.CONVERT, f"{phrase} from list {new.choice_list}"
        return TypeVerdict.NARROW, phrase
    old_digits, new_digits = effective_digits(old), effective_digits(new)
    if old_digits is not None and new_digits is not None:
        if old_type == FieldType.INTEGER or new_type != FieldType.INTEGER:
            return _digits_verdict(old_digits, new_digits), phrase
        return TypeVerdict.NARROW, phrase  # decimal → integer drops the fractions
    return TypeVerdict.REPLACE, phrase


def _size_verdict_between(old: FieldSpec, new: FieldSpec) -> tuple[TypeVerdict, str]:
    old_length, new_length = effective_max_length(old), effective_max_length(new)
    if old_length is not None and new_length is not None and new_length < old_length:
        return TypeVerdict.NARROW, f"max length {old_length} → {new_length}"
    return TypeVerdict.WIDEN, ""


def _range_words(field_spec: FieldSpec) -> str:
    low, high = field_spec.min_value, field_spec.max_value
    if low is None and high is None:
        return "any value"
    if high is None:
        return f"at least {low}"
    if low is None:
        return f"at most {high}"
    return f"{low} to {high}"


def field_needs_value(field_spec: FieldSpec) -> bool:
    """A required field without a default: existing rows have nothing to put in it."""
    no_value_types = (FieldType.RELATION_MANY, FieldType.MULTI_CHOICE, FieldType.BOOLEAN)
    return (
        field_spec.required
        and field_spec.default is None
        and field_spec.type not in (no_value_types)
    )


class _SpecDiffer:
    """Walks both specs once; each ``_*_changes`` method yields the changes of one concern."""

    def __init__(self, *, old: AppSpec, new: AppSpec, fill_values: dict[str, Any]) -> None:
        self.old = old
        self.new = new
        self.fill_values = fill_values

    def changes(self) -> Iterator[SpecChange]:
        yield from self._app_changes()
        yield from self._entity_changes()
        yield from self._choice_list_changes()
        yield from self._pipeline_changes()
        yield from self._simple_changes("automations", "automation", ChangeKind.AUTOMATION_ADDED)
        yield from self._simple_changes("roles", "role", ChangeKind.ROLE_ADDED)

    # -- app -------------------------------------------------------------------------------

    def _app_changes(self) -> Iterator[SpecChange]:
        for attribute, words in (
            ("name", "name"),
            ("description", "description"),
            ("language", "language"),
        ):
            before, after = getattr(self.old, attribute), getattr(self.new, attribute)
            if before != after:
                sentence = f"Changes the app's {words} from {_quote(before)} to {_quote(after)}"
                if attribute == "description":
                    sentence = "Changes the app's description"
                yield SpecChange(
                    ChangeKind.APP_CHANGED,
                    ChangeClass.SAFE,
                    sentence,
                    item=attribute,
                    old=before,
                    new=after,
                )

    # -- entities --------------------------------------------------------------------------

    def _entity_changes(self) -> Iterator[SpecChange]:
        old_entities, new_entities = _by_id(self.old.entities), _by_id(self.new.entities)
        for entity_id, entity in new_entities.items():
            before = old_entities.get(entity_id)
            if before is None:
                yield SpecChange(
                    ChangeKind.ENTITY_ADDED,
                    ChangeClass.SAFE,
                    f"Adds entity {entity.name} with {_count_words(len(entity.fields), 'field')}",
                    entity_id=entity_id,
                    new=entity.name,
                )
                continue
            yield from self._changes_of_entity(before, entity)
        for entity_id, entity in old_entities.items():
            if entity_id not in new_entities:
                yield SpecChange(
                    ChangeKind.ENTITY_REMOVED,
                    ChangeClass.DESTRUCTIVE,
                    f"Removes entity {entity.name} and all its rows",
                    entity_id=entity_id,
                    old=entity.name,
                )

    def _changes_of_entity(self, old: EntitySpec, new: EntitySpec) -> Iterator[SpecChange]:
        if old.name != new.name:
            yield SpecChange(
                ChangeKind.ENTITY_RENAMED,
                ChangeClass.SAFE,
                f"Renames entity {old.name} to {new.name} — keeps all rows",
                entity_id=new.id,
                old=old.name,
                new=new.name,
            )
        if (old.label, old.label_plural, old.description) != (
            new.label,
            new.label_plural,
            new.description,
        ):
            yield SpecChange(
                ChangeKind.ENTITY_RELABELLED,
                ChangeClass.SAFE,
                f"Changes the labels or description of entity {new.name}"
                f" ({old.label!r}/{old.label_plural!r} → {new.label!r}/{new.label_plural!r})",
                entity_id=new.id,
                old=[old.label, old.label_plural],
                new=[new.label, new.label_plural],
            )
        if old.kind != new.kind:
            yield self._kind_change(old, new)
        if old.stage_field != new.stage_field:
            yield self._stage_field_change(old, new)
        options = [
            name
            for name in ("display", "ordering", "unique_together", "admin", "api")
            if getattr(old, name) != getattr(new, name)
        ]
        if options:
            yield SpecChange(
                ChangeKind.ENTITY_OPTIONS_CHANGED,
                ChangeClass.SAFE,
                f"Changes the {', '.join(options)} options of entity {new.name}",
                entity_id=new.id,
                old=options,
                new=options,
            )
        yield from self._field_changes(old, new)
        yield from self._computed_changes(old, new)

    def _kind_change(self, old: EntitySpec, new: EntitySpec) -> SpecChange:
        if new.kind == "detail":
            return SpecChange(
                ChangeKind.ENTITY_KIND_CHANGED,
                ChangeClass.DESTRUCTIVE,
                f"Turns entity {new.name} from a record into a detail line — drops its"
                " owner, timestamps, archive state, notes, tasks and tags",
                entity_id=new.id,
                old=old.kind.value,
                new=new.kind.value,
            )
        return SpecChange(
            ChangeKind.ENTITY_KIND_CHANGED,
            ChangeClass.SAFE,
            f"Turns entity {new.name} from a detail line into a record — existing rows get"
            " the migration time as their creation time",
            entity_id=new.id,
            old=old.kind.value,
            new=new.kind.value,
        )

    def _stage_field_change(self, old: EntitySpec, new: EntitySpec) -> SpecChange:
        located: dict[str, Any] = {
            "entity_id": new.id,
            "old": old.stage_field,
            "new": new.stage_field,
        }
        if old.stage_field and new.stage_field:
            return SpecChange(
                ChangeKind.STAGE_FIELD_RENAMED,
                ChangeClass.SAFE,
                f"Renames the stage field {old.stage_field} to {new.stage_field} on {new.name}"
                " — keeps every record's stage",
                **located,
            )
        if new.stage_field:
            return SpecChange(
                ChangeKind.STAGE_FIELD_ADDED,
                ChangeClass.NEEDS_DEFAULT,
                f"Makes {new.name} move through pipelines (stage field {new.stage_field}) —"
                " existing rows need a pipeline and a stage",
                **located,
            )
        return SpecChange(
            ChangeKind.STAGE_FIELD_REMOVED,
            ChangeClass.DESTRUCTIVE,
            f"Stops {new.name} moving through pipelines — drops the pipeline and stage"
            f" ({old.stage_field}) of every row",
            **located,
        )

    # -- fields ----------------------------------------------------------------------------

    def _field_changes(self, old_entity: EntitySpec, entity: EntitySpec) -> Iterator[SpecChange]:
        old_fields, new_fields = _by_id(old_entity.fields), _by_id(entity.fields)
        for field_id, field_spec in new_fields.items():
            before = old_fields.get(field_id)
            if before is None:
                yield self._field_added(entity, field_spec)
            else:
                yield from self._changes_of_field(entity, before, field_spec)
        for field_id, field_spec in old_fields.items():
            if field_id not in new_fields:
                yield SpecChange(
                    ChangeKind.FIELD_REMOVED,
                    ChangeClass.DESTRUCTIVE,
                    f"Removes field {field_spec.name} from {entity.name}",
                    entity_id=entity.id,
                    field_id=field_id,
                    old=field_spec.name,
                )

    def _fill(self, field_spec: FieldSpec) -> tuple[Any, bool]:
        if field_spec.default is not None:
            return field_spec.default, True
        if field_spec.id in self.fill_values:
            return self.fill_values[field_spec.id], True
        return None, False

    def _field_added(self, entity: EntitySpec, field_spec: FieldSpec) -> SpecChange:
        words = f"{_type_words(field_spec)}"
        if not field_spec.required or not field_needs_value(field_spec):
            rule = "required" if field_spec.required else "optional"
            tail = ""
            if field_spec.required and field_spec.default is not None:
                tail = f" — existing rows get {_quote(field_spec.default)}"
            return SpecChange(
                ChangeKind.FIELD_ADDED,
                ChangeClass.SAFE,
                f"Adds {rule} field {field_spec.name} ({words}) to {entity.name}{tail}",
                entity_id=entity.id,
                field_id=field_spec.id,
                new=field_spec.name,
                fill_value=field_spec.default,
                fill_given=field_spec.default is not None,
            )
        fill_value, fill_given = self._fill(field_spec)
        tail = (
            f" — existing rows get {_quote(fill_value)}"
            if fill_given
            else ", with no default — existing rows need a value"
        )
        return SpecChange(
            ChangeKind.FIELD_ADDED,
            ChangeClass.NEEDS_DEFAULT,
            f"Adds required field {field_spec.name} ({words}) to {entity.name}{tail}",
            entity_id=entity.id,
            field_id=field_spec.id,
            new=field_spec.name,
            fill_value=fill_value,
            fill_given=fill_given,
        )

    def _changes_of_field(
        self, entity: EntitySpec, old: FieldSpec, new: FieldSpec
    ) -> Iterator[SpecChange]:
        located: dict[str, Any] = {"entity_id": entity.id, "field_id": new.id}
        if old.name != new.name:
            yield SpecChange(
                ChangeKind.FIELD_RENAMED,
                ChangeClass.SAFE,
                f"Renames field {old.name} to {new.name} on {entity.name} — keeps all values",
                old=old.name,
                new=new.name,
                **located,
            )
        if (old.label, old.help_text) != (new.label, new.help_text):
            yield SpecChange(
                ChangeKind.FIELD_RELABELLED,
                ChangeClass.SAFE,
                f"Changes the label or help text of field {new.name} on {entity.name}"
                f" ({old.label!r} → {new.label!r})",
                old=old.label,
                new=new.label,
                **located,
            )
        storage_change = self._storage_change(entity, old, new)
        if storage_change is not None:
            yield storage_change
        if storage_change is None or storage_change.kind != ChangeKind.FIELD_REPLACED:
            yield from self._rule_changes(entity, old, new)

    def _storage_change(
        self, entity: EntitySpec, old: FieldSpec, new: FieldSpec
    ) -> SpecChange | None:
        verdict, phrase = field_storage_verdict(old, new)
        located: dict[str, Any] = {
            "entity_id": entity.id,
            "field_id": new.id,
            "old": old.type.value,
        }
        if verdict == TypeVerdict.SAME:
            return None
        if verdict == TypeVerdict.WIDEN:
            return SpecChange(
                ChangeKind.FIELD_WIDENED,
                ChangeClass.SAFE,
                f"Widens field {new.name} on {entity.name} ({phrase}) — keeps all values",
                new=new.type.value,
                **located,
            )
        if verdict == TypeVerdict.NARROW:
            return SpecChange(
                ChangeKind.FIELD_NARROWED,
                ChangeClass.DESTRUCTIVE,
                f"Narrows field {new.name} on {entity.name} ({phrase}) — a value that does"
                " not fit stops the change",
                new=new.type.value,
                **located,
            )
        if verdict == TypeVerdict.CONVERT:
            return self._conversion(entity, new, phrase, located)
        fill_value, fill_given = self._fill(new)
        return SpecChange(
            ChangeKind.FIELD_REPLACED,
            ChangeClass.DESTRUCTIVE,
            f"Changes field {new.name} on {entity.name} ({phrase}) — the values cannot"
            " convert and are discarded",
            new=new.type.value,
            fill_value=fill_value,
            fill_given=fill_given,
            **located,
        )

    def _conversion(
        self, entity: EntitySpec, new: FieldSpec, phrase: str, located: dict[str, Any]
    ) -> SpecChange:
        if new.default is None:
            return SpecChange(
                ChangeKind.FIELD_CONVERTED,
                ChangeClass.SAFE,
                f"Converts field {new.name} on {entity.name} ({phrase}) — each value is"
                " matched to an option by value or label; a value that matches none stops"
                " the change",
                new=new.type.value,
                **located,
            )
        return SpecChange(
            ChangeKind.FIELD_CONVERTED,
            ChangeClass.DESTRUCTIVE,
            f"Converts field {new.name} on {entity.name} ({phrase}) — each value is matched"
            f" to an option by value or label; a value that matches none becomes"
            f" {_quote(new.default)}",
            new=new.type.value,
            fill_value=new.default,
            fill_given=True,
            **located,
        )

    def _rule_changes(
        self, entity: EntitySpec, old: FieldSpec, new: FieldSpec
    ) -> Iterator[SpecChange]:
        located: dict[str, Any] = {"entity_id": entity.id, "field_id": new.id}
        where = f"field {new.name} on {entity.name}"
        if old.required and not new.required:
            yield SpecChange(
                ChangeKind.FIELD_MADE_OPTIONAL,
                ChangeClass.SAFE,
                f"Makes {where} optional",
                **located,
            )
        if not old.required and new.required:
            yield self._made_required(where, new, located)
        if old.default != new.default:
            yield SpecChange(
                ChangeKind.FIELD_DEFAULT_CHANGED,
                ChangeClass.SAFE,
                f"Changes the default of {where} from {_default_words(old.default)} to"
                f" {_default_words(new.default)} — existing values stay",
                old=old.default,
                new=new.default,
                **located,
            )
        if old.unique != new.unique:
            yield SpecChange(
                ChangeKind.FIELD_UNIQUE_ADDED if new.unique else ChangeKind.FIELD_UNIQUE_REMOVED,
                ChangeClass.DESTRUCTIVE if new.unique else ChangeClass.SAFE,
                f"Makes {where} unique — refused while two rows share a value"
                if new.unique
                else f"Lets several rows share a value of {where}",
                **located,
            )
        if old.index != new.index:
            yield SpecChange(
                ChangeKind.FIELD_INDEX_CHANGED,
                ChangeClass.SAFE,
                f"{'Adds' if new.index else 'Removes'} an index on {where}",
                **located,
            )
        if (old.min_value, old.max_value) != (new.min_value, new.max_value):
            yield SpecChange(
                ChangeKind.FIELD_RANGE_CHANGED,
                ChangeClass.SAFE,
                f"Changes the allowed range of {where} to {_range_words(new)} — stored values"
                " stay; one outside the range must be corrected at its next edit",
                old=[old.min_value, old.max_value],
                new=[new.min_value, new.max_value],
                **located,
            )
        if (old.on_delete, old.related_name) != (new.on_delete, new.related_name):
            yield SpecChange(
                ChangeKind.FIELD_RELATION_CHANGED,
                ChangeClass.SAFE,
                f"Changes the delete rule or reverse name of {where}",
                old=[old.on_delete, old.related_name],
                new=[new.on_delete, new.related_name],
                **located,
            )

    def _made_required(self, where: str, new: FieldSpec, located: dict[str, Any]) -> SpecChange:
        fill_value, fill_given = self._fill(new)
        tail = (
            f" — rows without a value get {_quote(fill_value)}"
            if fill_given
            else " — rows without a value need a default"
        )
        return SpecChange(
            ChangeKind.FIELD_MADE_REQUIRED,
            ChangeClass.NEEDS_DEFAULT,
            f"Makes {where} required{tail}",
            fill_value=fill_value,
            fill_given=fill_given,
            **located,
        )

    def _computed_changes(self, old: EntitySpec, new: EntitySpec) -> Iterator[SpecChange]:
        before, after = _by_id(old.computed), _by_id(new.computed)
        for computed_id, computed in after.items():
            if computed_id not in before:
                yield SpecChange(
                    ChangeKind.COMPUTED_ADDED,
                    ChangeClass.SAFE,
                    f"Adds computed field {computed.name} to {new.name}",
                    entity_id=new.id,
                    subject_id=computed_id,
                )
            elif before[computed_id] != computed:
                yield SpecChange(
                    ChangeKind.COMPUTED_CHANGED,
                    ChangeClass.SAFE,
                    f"Changes computed field {computed.name} on {new.name}",
                    entity_id=new.id,
                    subject_id=computed_id,
                )
        for computed_id, computed in before.items():
            if computed_id not in after:
                yield SpecChange(
                    ChangeKind.COMPUTED_REMOVED,
                    ChangeClass.SAFE,
                    f"Removes computed field {computed.name} from {new.name} — it is computed,"
                    " nothing stored is lost",
                    entity_id=new.id,
                    subject_id=computed_id,
                )

    # -- choice lists ----------------------------------------------------------------------

    def _choice_list_changes(self) -> Iterator[SpecChange]:
        old_lists, new_lists = _by_id(self.old.choice_lists), _by_id(self.new.choice_lists)
        for list_id, choice_list in new_lists.items():
            before = old_lists.get(list_id)
            if before is None:
                yield SpecChange(
                    ChangeKind.CHOICE_LIST_ADDED,
                    ChangeClass.SAFE,
                    f"Adds choice list {choice_list.key} with"
                    f" {_count_words(len(choice_list.options), 'option')}",
                    subject_id=list_id,
                    new=choice_list.key,
                )
            else:
                yield from self._changes_of_choice_list(before, choice_list)
        for list_id, choice_list in old_lists.items():
            if list_id not in new_lists:
                yield SpecChange(
                    ChangeKind.CHOICE_LIST_REMOVED,
                    ChangeClass.DESTRUCTIVE,
                    f"Removes choice list {choice_list.key} and its"
                    f" {_count_words(len(choice_list.options), 'option')}",
                    subject_id=list_id,
                    old=choice_list.key,
                )

    def _changes_of_choice_list(
        self, old: ChoiceListSpec, new: ChoiceListSpec
    ) -> Iterator[SpecChange]:
        if (old.key, old.name) != (new.key, new.name):
            yield SpecChange(
                ChangeKind.CHOICE_LIST_CHANGED,
                ChangeClass.SAFE,
                f"Renames choice list {old.key} ({old.name!r}) to {new.key} ({new.name!r})"
                " — keeps all values",
                subject_id=new.id,
                old=old.key,
                new=new.key,
            )
        before = {option.value: option for option in old.options}
        after = {option.value: option for option in new.options}
        for value, option in after.items():
            if value not in before:
                yield SpecChange(
                    ChangeKind.CHOICE_OPTION_ADDED,
                    ChangeClass.SAFE,
                    f"Adds option {option.label!r} ({value}) to choice list {new.key}",
                    subject_id=new.id,
                    item=value,
                )
            elif before[value] != option:
                yield SpecChange(
                    ChangeKind.CHOICE_OPTION_CHANGED,
                    ChangeClass.SAFE,
                    f"Changes the label or colour of option {value} of choice list {new.key}"
                    f" ({before[value].label!r} → {option.label!r})",
                    subject_id=new.id,
                    item=value,
                )
        for value, option in before.items():
            if value not in after:
                yield SpecChange(
                    ChangeKind.CHOICE_OPTION_REMOVED,
                    ChangeClass.DESTRUCTIVE,
                    f"Removes option {option.label!r} ({value}) from choice list {new.key}",
                    subject_id=new.id,
                    item=value,
                )
        kept_before = [value for value in before if value in after]
        kept_after = [value for value in after if value in before]
        if kept_before != kept_after:
            yield SpecChange(
                ChangeKind.CHOICE_OPTION_CHANGED,
                ChangeClass.SAFE,
                f"Reorders the options of choice list {new.key}",
                subject_id=new.id,
            )

    # -- pipelines -------------------------------------------------------------------------

    def _entity_name(self, entity_id: str) -> str:
        for spec in (self.new, self.old):
            for entity in spec.entities:
                if entity.id == entity_id:
                    return entity.name
        return entity_id

    def _pipeline_changes(self) -> Iterator[SpecChange]:
        old_pipelines, new_pipelines = _by_id(self.old.pipelines), _by_id(self.new.pipelines)
        for pipeline_id, pipeline in new_pipelines.items():
            before = old_pipelines.get(pipeline_id)
            owner = self._entity_name(pipeline.entity)
            if before is None:
                yield SpecChange(
                    ChangeKind.PIPELINE_ADDED,
                    ChangeClass.SAFE,
                    f"Adds pipeline {pipeline.name!r} to {owner} with"
                    f" {_count_words(len(pipeline.stages), 'stage')}",
                    entity_id=pipeline.entity,
                    subject_id=pipeline_id,
                )
                continue
            if (before.name, before.is_default, before.entity) != (
                pipeline.name,
                pipeline.is_default,
                pipeline.entity,
            ):
                moved = before.entity != pipeline.entity
                yield SpecChange(
                    ChangeKind.PIPELINE_CHANGED,
                    ChangeClass.DESTRUCTIVE if moved else ChangeClass.SAFE,
                    f"Moves pipeline {pipeline.name!r} from"
                    f" {self._entity_name(before.entity)} to {owner} — records in it leave it"
                    if moved
                    else f"Renames or changes pipeline {before.name!r} of {owner}"
                    f" (now {pipeline.name!r})",
                    entity_id=pipeline.entity,
                    subject_id=pipeline_id,
                    old=before.name,
                    new=pipeline.name,
                )
            yield from self._stage_changes(owner, before, pipeline)
        for pipeline_id, pipeline in old_pipelines.items():
            if pipeline_id not in new_pipelines:
                yield SpecChange(
                    ChangeKind.PIPELINE_REMOVED,
                    ChangeClass.DESTRUCTIVE,
                    f"Removes pipeline {pipeline.name!r} of {self._entity_name(pipeline.entity)}",
                    entity_id=pipeline.entity,
                    subject_id=pipeline_id,
                    old=pipeline.name,
                )

    def _stage_changes(self, owner: str, old: Any, new: Any) -> Iterator[SpecChange]:
        before, after = _by_id(old.stages), _by_id(new.stages)
        located: dict[str, Any] = {"entity_id": new.entity, "subject_id": new.id}
        for stage_id, stage in after.items():
            if stage_id not in before:
                yield SpecChange(
                    ChangeKind.STAGE_ADDED,
                    ChangeClass.SAFE,
                    f"Adds stage {stage.name!r} to pipeline {new.name!r} of {owner}",
                    item=stage_id,
                    **located,
                )
            elif before[stage_id] != stage:
                yield SpecChange(
                    ChangeKind.STAGE_CHANGED,
                    ChangeClass.SAFE,
                    f"Changes stage {before[stage_id].name!r} of pipeline {new.name!r}"
                    f" (now {stage.name!r}, {stage.kind.value}, {stage.probability}%)",
                    item=stage_id,
                    old=before[stage_id].name,
                    new=stage.name,
                    **located,
                )
        for stage_id, stage in before.items():
            if stage_id not in after:
                yield SpecChange(
                    ChangeKind.STAGE_REMOVED,
                    ChangeClass.DESTRUCTIVE,
                    f"Removes stage {stage.name!r} from pipeline {new.name!r} of {owner}",
                    item=stage_id,
                    old=stage.name,
                    **located,
                )
        if [s for s in before if s in after] != [s for s in after if s in before]:
            yield SpecChange(
                ChangeKind.STAGE_CHANGED,
                ChangeClass.SAFE,
                f"Reorders the stages of pipeline {new.name!r} of {owner}",
                **located,
            )

    # -- automations and roles -------------------------------------------------------------

    def _simple_changes(
        self, attribute: str, words: str, added_kind: ChangeKind
    ) -> Iterator[SpecChange]:
        kinds: dict[str, ChangeKind] = {
            "added": added_kind,
            "removed": ChangeKind(added_kind.value.replace("_added", "_removed")),
            "changed": ChangeKind(added_kind.value.replace("_added", "_changed")),
        }
        before = _by_id(getattr(self.old, attribute))
        after = _by_id(getattr(self.new, attribute))
        for item_id, item in after.items():
            if item_id not in before:
                yield SpecChange(
                    kinds["added"],
                    ChangeClass.SAFE,
                    f"Adds {words} {item.name!r}",
                    subject_id=item_id,
                )
            elif before[item_id] != item:
                yield SpecChange(
                    kinds["changed"],
                    ChangeClass.SAFE,
                    f"Changes {words} {item.name!r}",
                    subject_id=item_id,
                )
        for item_id, item in before.items():
            if item_id not in after:
                yield SpecChange(
                    kinds["removed"],
                    ChangeClass.SAFE,
                    f"Removes {words} {item.name!r}",
                    subject_id=item_id,
                )
