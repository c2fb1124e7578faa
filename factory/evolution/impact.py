"""Data impact of a spec diff: how many stored values each change touches, in the live data.

``spec_diff_impact`` counts, for an app installed in this process, the rows of a removed
entity, the values of a removed or replaced field, the values that would not fit a
narrowing, the text that matches no option of a new choice field, the rows that need a
value for a new required field... and returns each change with its count and a sentence
("Removes field budget from Deal: 1,204 values"). ``impact_queries`` is the same work as
plain data, so that a scratch process holding an app the factory process does not import
can count too (``scratch/evolution_impact.py`` does the counting in both cases).

Reads only, never writes; queries name the app's current models and fields (the old
spec's names).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from factory.evolution.diff import (
    ChangeClass,
    SpecChange,
    SpecDiff,
    effective_digits,
    effective_max_length,
)
from factory.evolution.plan import choice_value_mapping
from factory.evolution.scratch.evolution_impact import impact_counts
from factory.spec.models import AppSpec, FieldSpec, FieldType

Query = dict[str, Any]


@dataclass(frozen=True)
class ChangeImpact:
    change: SpecChange
    count: int | None  # None: nothing to count, or not counted (no live app)
    sentence: str

    def to_jsonable(self) -> dict[str, Any]:
        return {**self.change.to_jsonable(), "count": self.count, "impact": self.sentence}


@dataclass(frozen=True)
class SpecDiffImpact:
    diff: SpecDiff
    app_label: str | None
    impacts: tuple[ChangeImpact, ...]

    @property
    def counted(self) -> bool:
        return self.app_label is not None

    def to_jsonable(self) -> dict[str, Any]:
        return {
            "classification": self.diff.classification.value,
            "app_label": self.app_label,
            "counted": self.counted,
            "changes": [impact.to_jsonable() for impact in self.impacts],
        }


def _plural(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count:,} {singular if count == 1 else (plural or singular + 's')}"


def _fields_using_list(spec: AppSpec, list_key: str) -> list[tuple[str, FieldSpec]]:
    return [
        (entity.name, field_spec)
        for entity in spec.entities
        for field_spec in entity.fields
        if field_spec.type in (FieldType.CHOICE, FieldType.MULTI_CHOICE)
        and field_spec.choice_list == list_key
    ]


@dataclass(frozen=True)
class _Counting:
    """The queries of one change and how to say their summed count."""

    queries: list[Query]
    say: Callable[[str, int], str]


def _colon(noun: str, plural: str | None = None) -> Callable[[str, int], str]:
    return lambda sentence, count: f"{sentence}: {_plural(count, noun, plural)}"


def _kept(noun: str) -> Callable[[str, int], str]:
    return lambda sentence, count: f"{sentence} ({_plural(count, noun)})"


class _QueryBuilder:
    def __init__(self, diff: SpecDiff) -> None:
        self.diff = diff

    def _old_entity_name(self, change: SpecChange) -> str:
        return self.diff.old.entity(change.entity_id or "").name

    def _old_field(self, change: SpecChange) -> FieldSpec:
        entity = self.diff.old.entity(change.entity_id or "")
        return next(f for f in entity.fields if f.id == change.field_id)

    def _new_field(self, change: SpecChange) -> FieldSpec:
        entity = self.diff.new.entity(change.entity_id or "")
        return next(f for f in entity.fields if f.id == change.field_id)

    def _on_field(self, change: SpecChange, count: str, **params: Any) -> Query:
        return {
            "model": self._old_entity_name(change),
            "field": self._old_field(change).name,
            "count": count,
            **params,
        }

    def counting(self, change: SpecChange) -> _Counting | None:
        method = getattr(self, f"_{change.kind.value}", None)
        return None if method is None else method(change)

    def _entity_removed(self, change: SpecChange) -> _Counting:
        return _Counting([{"model": change.old, "count": "rows"}], _colon("row"))

    def _entity_renamed(self, change: SpecChange) -> _Counting:
        return _Counting([{"model": change.old, "count": "rows"}], _kept("row"))

    def _entity_kind_changed(self, change: SpecChange) -> _Counting | None:
        if change.new != "detail":
            return None
        return _Counting([{"model": self._old_entity_name(change), "count": "rows"}], _colon("row"))

    def _field_removed(self, change: SpecChange) -> _Counting:
        return _Counting([self._on_field(change, "values")], _colon("value"))

    def _field_replaced(self, change: SpecChange) -> _Counting:
        return _Counting([self._on_field(change, "values")], _colon("value"))

    def _field_renamed(self, change: SpecChange) -> _Counting:
        return _Counting([self._on_field(change, "values")], _kept("value"))

    def _field_narrowed(self, change: SpecChange) -> _Counting:
        old, new = self._old_field(change), self._new_field(change)
        say = _colon("value does not fit", "values do not fit")
        new_length = effective_max_length(new)
        if new_length is not None and (effective_max_length(old) or 10**9) > new_length:
            return _Counting([self._on_field(change, "longer_than", limit=new_length)], say)
        digits = effective_digits(new)
        if digits is not None:
            query = self._on_field(
                change,
                "digits_overflow",
                whole_digits=digits[0] - digits[1],
                decimal_places=digits[1],
            )
            return _Counting([query], say)
        return _Counting([self._on_field(change, "values")], _colon("value to check"))

    def _field_converted(self, change: SpecChange) -> _Counting:
        new = self._new_field(change)
        mapping = choice_value_mapping(spec=self.diff.new, list_key=new.choice_list or "")
        query = self._on_field(change, "unmatched", mapping=mapping)
        return _Counting([query], _colon("value matches no option", "values match no option"))

    def _field_made_required(self, change: SpecChange) -> _Counting:
        return _Counting(
            [self._on_field(change, "empty")],
            _colon("row without a value", "rows without a value"),
        )

    def _field_added(self, change: SpecChange) -> _Counting | None:
        if change.classification == ChangeClass.SAFE:
            return None
        query = {"model": self._old_entity_name(change), "count": "rows"}
        return _Counting([query], _colon("existing row"))

    def _field_unique_added(self, change: SpecChange) -> _Counting:
        return _Counting(
            [self._on_field(change, "duplicates")],
            _colon("row sharing a value", "rows sharing a value"),
        )

    def _field_range_changed(self, change: SpecChange) -> _Counting:
        new = self._new_field(change)
        query = self._on_field(
            change, "out_of_range", min_value=new.min_value, max_value=new.max_value
        )
        return _Counting([query], _colon("value outside it", "values outside it"))

    def _list_key(self, spec: AppSpec, list_id: str | None) -> str:
        return next(item.key for item in spec.choice_lists if item.id == list_id)

    def _choice_option_removed(self, change: SpecChange) -> _Counting:
        key = self._list_key(self.diff.old, change.subject_id)
        queries = [
            {"model": entity, "field": field.name, "count": "option_used", "option": change.item}
            for entity, field in _fields_using_list(self.diff.old, key)
        ]
        return _Counting(queries, _colon("value uses it", "values use it"))

    def _choice_list_removed(self, change: SpecChange) -> _Counting:
        queries = [
            {"model": entity, "field": field.name, "count": "values"}
            for entity, field in _fields_using_list(self.diff.old, change.old)
        ]
        return _Counting(queries, _colon("value uses it", "values use it"))

    def _old_pipeline(self, change: SpecChange) -> Any:
        return next(item for item in self.diff.old.pipelines if item.id == change.subject_id)

    def _pipeline_query(self, change: SpecChange, stage: str | None) -> Query:
        pipeline = self._old_pipeline(change)
        entity = self.diff.old.entity(pipeline.entity)
        return {
            "model": entity.name,
            "count": "in_pipeline",
            "pipeline": pipeline.name,
            "stage_field": entity.stage_field,
            "stage": stage,
        }

    def _stage_removed(self, change: SpecChange) -> _Counting:
        return _Counting(
            [self._pipeline_query(change, change.old)],
            _colon("record is at this stage", "records are at this stage"),
        )

    def _pipeline_removed(self, change: SpecChange) -> _Counting:
        return _Counting(
            [self._pipeline_query(change, None)], _colon("record is in it", "records are in it")
        )

    def _stage_field_removed(self, change: SpecChange) -> _Counting:
        query = {"model": self._old_entity_name(change), "count": "rows"}
        return _Counting([query], _colon("row loses its stage", "rows lose their stage"))


def impact_queries(diff: SpecDiff) -> list[list[Query]]:
    """Per change, the queries whose counts add up to its impact (empty: nothing to count)."""
    builder = _QueryBuilder(diff)
    return [
        counting.queries if (counting := builder.counting(change)) is not None else []
        for change in diff.changes
    ]


def impact_from_counts(
    diff: SpecDiff, *, app_label: str | None, counts: list[list[int | None]] | None
) -> SpecDiffImpact:
    """Sentences from counts (one list per change, as ``impact_queries``); None: not counted."""
    builder = _QueryBuilder(diff)
    impacts = []
    for index, change in enumerate(diff.changes):
        counting = builder.counting(change)
        change_counts = [] if counts is None else counts[index]
        known = [count for count in change_counts if count is not None]
        if counting is None or not counting.queries or not known:
            impacts.append(ChangeImpact(change=change, count=None, sentence=change.sentence))
            continue
        total = sum(known)
        impacts.append(
            ChangeImpact(change=change, count=total, sentence=counting.say(change.sentence, total))
        )
    return SpecDiffImpact(diff=diff, app_label=app_label, impacts=tuple(impacts))


def spec_diff_impact(diff: SpecDiff, *, app_label: str, using: str = "default") -> SpecDiffImpact:
    """Count, in the live database, the values each change of ``diff`` touches.

    ``app_label`` is an app installed in this process whose models are the old spec's.
    """
    counts = [
        impact_counts(app_label=app_label, queries=queries, using=using) if queries else []
        for queries in impact_queries(diff)
    ]
    return impact_from_counts(diff, app_label=app_label, counts=counts)


def spec_diff_uncounted(diff: SpecDiff) -> SpecDiffImpact:
    """The diff's sentences without counts, when no live app holds the data."""
    return impact_from_counts(diff, app_label=None, counts=None)


CLASS_WORDS = {
    ChangeClass.SAFE: "safe",
    ChangeClass.NEEDS_DEFAULT: "needs a default",
    ChangeClass.DESTRUCTIVE: "DESTRUCTIVE",
}


def spec_diff_impact_text(impact: SpecDiffImpact) -> str:
    """The plan in plain words: one line per change with its class and data impact."""
    changes = impact.impacts
    if not changes:
        return "No changes: the two specs describe the same app."
    overall = CLASS_WORDS[impact.diff.classification]
    count = len(changes)
    lines = [f"{count} change{'s' if count != 1 else ''}, overall: {overall}"]
    width = max(len(words) for words in CLASS_WORDS.values())
    lines += [
        f"  {CLASS_WORDS[item.change.classification]:<{width}}  {item.sentence}" for item in changes
    ]
    if impact.counted:
        lines.append(f"Values counted in the live data of app {impact.app_label}.")
    else:
        lines.append("No live data counted (name an installed app with --app to count values).")
    destructive = impact.diff.of_class(ChangeClass.DESTRUCTIVE)
    if destructive:
        lines.append(
            f"{len(destructive)} destructive change{'s' if len(destructive) != 1 else ''}:"
            " applying them needs an explicit confirmation, and the deploy backs up the"
            " tables first."
        )
    if impact.diff.of_class(ChangeClass.NEEDS_DEFAULT):
        lines.append(
            "Changes that need a default are applied only when the spec or the builder gives"
            " the value existing rows receive."
        )
    return "\n".join(lines)
