"""Migration plan: the answers a spec diff gives to Django's migration questions.

``migration_plan_build`` turns a ``SpecDiff`` into a ``MigrationPlan``, plain JSON-able
data handed to the ``manage.py`` subprocess that makes the migrations: which models and
fields were renamed (so the questioner answers "yes, renamed" for exactly those), which
value existing rows get when a required column appears, which fields are replaced because
their type cannot convert, and the data step (values mapped to choice options, choice lists
brought in line with the spec). It refuses, with sentences, a diff whose questions it cannot
answer. It must not import Django: the plan is built in the parent process, before any app
code of the new release exists.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from factory.evolution.diff import (
    CHAR_TYPES,
    ChangeClass,
    ChangeKind,
    SpecChange,
    SpecDiff,
)
from factory.spec.models import AppSpec, FieldSpec, FieldType

# Blank values of optional text-like fields: the answer when Django turns such a column from
# nullable to NOT NULL (a unique optional text field stops being unique).
BLANK_TEXT_TYPES = frozenset({*CHAR_TYPES, FieldType.LONG_TEXT})


class EvolutionRefused(Exception):
    """The change cannot be migrated as asked; ``problems`` are sentences for the builder."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(" ".join(problems))


@dataclass
class FieldRename:
    model: str  # the model's new class name
    old: str
    new: str


@dataclass
class ModelRename:
    old: str
    new: str


@dataclass
class FieldFill:
    model: str
    field: str
    value: Any


@dataclass
class ReplacedField:
    model: str  # the model's new class name
    field: str  # the field's old name


@dataclass
class ValueConversion:
    """Stored text mapped to choice option values; ``fallback`` for text matching none."""

    model: str
    field: str  # the field's new name (the data step runs after the renames)
    choice_list: str
    mapping: dict[str, str]
    fallback: str | None = None


@dataclass
class MigrationPlan:
    app_label: str
    renamed_models: list[ModelRename] = field(default_factory=list)
    renamed_fields: list[FieldRename] = field(default_factory=list)
    replaced_fields: list[ReplacedField] = field(default_factory=list)
    fills: list[FieldFill] = field(default_factory=list)
    conversions: list[ValueConversion] = field(default_factory=list)
    # Choice lists of the new spec, the missing ones created by the data step when the diff
    # touches lists (the app's install after migrate updates the others):
    # key → {"name", "options": [[value, label, colour], ...]}.
    choice_lists: dict[str, dict[str, Any]] = field(default_factory=dict)
    renamed_choice_lists: dict[str, str] = field(default_factory=dict)
    removed_options: dict[str, list[str]] = field(default_factory=dict)
    # Blank text values replaced by a fill when a text field becomes required.
    blank_replacements: list[FieldFill] = field(default_factory=list)
    # Existing pipelines as the new spec has them, found by their current entity and name:
    # {"entity_old", "entity", "old_name", "name", "is_default",
    #  "stages": [{"old_name", "name", "kind", "probability"}]}.
    pipelines: list[dict[str, Any]] = field(default_factory=list)

    @property
    def needs_rename_step(self) -> bool:
        return bool(self.renamed_models or self.renamed_fields or self.replaced_fields)

    @property
    def needs_data_step(self) -> bool:
        return bool(
            self.conversions or self.choice_lists or self.blank_replacements or self.pipelines
        )

    def fill_for(self, model: str, field_name: str) -> FieldFill | None:
        for fill in self.fills:
            if fill.model.lower() == model.lower() and fill.field == field_name:
                return fill
        return None

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True, default=str)

    @classmethod
    def from_json(cls, text: str) -> MigrationPlan:
        data = json.loads(text)
        return cls(
            app_label=data["app_label"],
            renamed_models=[ModelRename(**item) for item in data["renamed_models"]],
            renamed_fields=[FieldRename(**item) for item in data["renamed_fields"]],
            replaced_fields=[ReplacedField(**item) for item in data["replaced_fields"]],
            fills=[FieldFill(**item) for item in data["fills"]],
            conversions=[ValueConversion(**item) for item in data["conversions"]],
            choice_lists=data["choice_lists"],
            renamed_choice_lists=data["renamed_choice_lists"],
            removed_options=data["removed_options"],
            blank_replacements=[FieldFill(**item) for item in data["blank_replacements"]],
            pipelines=data["pipelines"],
        )


def choice_text_normalise(text: str) -> str:
    """How stored text is compared with option values and labels: case, spaces, _ and -."""
    return " ".join(text.replace("_", " ").replace("-", " ").split()).casefold()


def choice_value_mapping(*, spec: AppSpec, list_key: str) -> dict[str, str]:
    """Normalised option value or label → option value, for the list ``list_key``."""
    mapping: dict[str, str] = {}
    for choice_list in spec.choice_lists:
        if choice_list.key != list_key:
            continue
        # Labels first, so that an option's own value wins when a label equals another value.
        for option in choice_list.options:
            mapping.setdefault(choice_text_normalise(option.label), option.value)
        for option in choice_list.options:
            mapping[choice_text_normalise(option.value)] = option.value
    return mapping


def fill_value_resolve(field_spec: FieldSpec, value: Any) -> Any:
    """A fill value as the column stores it: "today"/"now" become the date or time of now."""
    if field_spec.type == FieldType.DATE and value == "today":
        return datetime.date.today().isoformat()
    if field_spec.type == FieldType.DATETIME and value == "now":
        return datetime.datetime.now(datetime.UTC).isoformat()
    return value


_PIPELINE_KINDS = (
    ChangeKind.PIPELINE_CHANGED,
    ChangeKind.STAGE_ADDED,
    ChangeKind.STAGE_CHANGED,
    ChangeKind.ENTITY_RENAMED,
)
_CHOICE_LIST_KINDS = (
    ChangeKind.CHOICE_LIST_ADDED,
    ChangeKind.CHOICE_LIST_REMOVED,
    ChangeKind.CHOICE_LIST_CHANGED,
    ChangeKind.CHOICE_OPTION_ADDED,
    ChangeKind.CHOICE_OPTION_REMOVED,
    ChangeKind.CHOICE_OPTION_CHANGED,
)


class _PlanBuilder:
    def __init__(self, diff: SpecDiff, app_label: str) -> None:
        self.diff = diff
        self.plan = MigrationPlan(app_label=app_label)
        self.problems: list[str] = []

    def _entity_name(self, entity_id: str | None) -> str:
        return self.diff.new.entity(entity_id or "").name

    def _new_field(self, change: SpecChange) -> FieldSpec:
        entity = self.diff.new.entity(change.entity_id or "")
        return next(f for f in entity.fields if f.id == change.field_id)

    def _old_field(self, change: SpecChange) -> FieldSpec:
        entity = self.diff.old.entity(change.entity_id or "")
        return next(f for f in entity.fields if f.id == change.field_id)

    def build(self) -> MigrationPlan:
        for change in self.diff.changes:
            self._add(change)
        self._add_blank_fills()
        if any(change.kind in _CHOICE_LIST_KINDS for change in self.diff.changes):
            self._add_choice_lists()
        if any(change.kind in _PIPELINE_KINDS for change in self.diff.changes):
            self._add_pipelines()
        if self.problems:
            raise EvolutionRefused(self.problems)
        return self.plan

    def _add(self, change: SpecChange) -> None:
        handlers = {
            ChangeKind.ENTITY_RENAMED: self._add_model_rename,
            ChangeKind.FIELD_RENAMED: self._add_field_rename,
            ChangeKind.STAGE_FIELD_RENAMED: self._add_field_rename,
            ChangeKind.STAGE_FIELD_ADDED: self._refuse_stage_field,
            ChangeKind.FIELD_REPLACED: self._add_replaced_field,
            ChangeKind.FIELD_ADDED: self._add_field_fill,
            ChangeKind.FIELD_MADE_REQUIRED: self._add_field_fill,
            ChangeKind.FIELD_CONVERTED: self._add_conversion,
        }
        handler = handlers.get(change.kind)
        if handler is not None:
            handler(change)

    def _add_model_rename(self, change: SpecChange) -> None:
        self.plan.renamed_models.append(ModelRename(old=change.old, new=change.new))

    def _add_field_rename(self, change: SpecChange) -> None:
        replaced = any(
            other.kind == ChangeKind.FIELD_REPLACED
            and (other.entity_id, other.field_id) == (change.entity_id, change.field_id)
            for other in self.diff.changes
        )
        if replaced:
            return  # its values are discarded: the old column is dropped, the new one added
        model = self._entity_name(change.entity_id)
        self.plan.renamed_fields.append(FieldRename(model=model, old=change.old, new=change.new))

    def _refuse_stage_field(self, change: SpecChange) -> None:
        self.problems.append(
            f"{change.sentence}: the factory cannot yet place existing rows in a pipeline."
            " Give the pipeline to a new entity instead."
        )

    def _add_replaced_field(self, change: SpecChange) -> None:
        self.plan.replaced_fields.append(
            ReplacedField(
                model=self._entity_name(change.entity_id), field=self._old_field(change).name
            )
        )
        self._add_fill(change, required=self._new_field(change).required)

    def _add_field_fill(self, change: SpecChange) -> None:
        self._add_fill(change, required=change.classification == ChangeClass.NEEDS_DEFAULT)
        field_spec = self._new_field(change)
        if (
            change.kind == ChangeKind.FIELD_MADE_REQUIRED
            and change.fill_given
            and field_spec.type in BLANK_TEXT_TYPES
        ):
            # Blank text is stored as "", not NULL, so Django's NOT NULL fill never sees it.
            self.plan.blank_replacements.append(
                FieldFill(
                    model=self._entity_name(change.entity_id),
                    field=field_spec.name,
                    value=change.fill_value,
                )
            )

    def _add_fill(self, change: SpecChange, *, required: bool) -> None:
        field_spec = self._new_field(change)
        if change.fill_given:
            self.plan.fills.append(
                FieldFill(
                    model=self._entity_name(change.entity_id),
                    field=field_spec.name,
                    value=fill_value_resolve(field_spec, change.fill_value),
                )
            )
        elif required and field_spec.default is None:
            self.problems.append(
                f"{change.sentence}. Give field {field_spec.name} a default in the spec, or a"
                " value for the existing rows, or make it optional."
            )

    def _add_blank_fills(self) -> None:
        for entity in self.diff.new.entities:
            for field_spec in entity.fields:
                if (
                    field_spec.type in BLANK_TEXT_TYPES
                    and not field_spec.required
                    and self.plan.fill_for(entity.name, field_spec.name) is None
                ):
                    self.plan.fills.append(
                        FieldFill(model=entity.name, field=field_spec.name, value="")
                    )

    def _add_conversion(self, change: SpecChange) -> None:
        field_spec = self._new_field(change)
        list_key = field_spec.choice_list or ""
        self.plan.conversions.append(
            ValueConversion(
                model=self._entity_name(change.entity_id),
                field=field_spec.name,
                choice_list=list_key,
                mapping=choice_value_mapping(spec=self.diff.new, list_key=list_key),
                fallback=None if field_spec.default is None else str(field_spec.default),
            )
        )

    def _add_choice_lists(self) -> None:
        old_lists = {choice_list.id: choice_list for choice_list in self.diff.old.choice_lists}
        for choice_list in self.diff.new.choice_lists:
            self.plan.choice_lists[choice_list.key] = {
                "name": choice_list.name,
                "options": [
                    [option.value, option.label, option.colour] for option in choice_list.options
                ],
            }
            before = old_lists.get(choice_list.id)
            if before is None:
                continue
            if before.key != choice_list.key:
                self.plan.renamed_choice_lists[before.key] = choice_list.key
            kept = {option.value for option in choice_list.options}
            removed = [option.value for option in before.options if option.value not in kept]
            if removed:
                self.plan.removed_options[choice_list.key] = removed

    def _add_pipelines(self) -> None:
        """Pipelines the data step renames in place when their rows have no key (apps
        installed before keys); the app's install after migrate handles keyed ones."""
        old_pipelines = {pipeline.id: pipeline for pipeline in self.diff.old.pipelines}
        for pipeline in self.diff.new.pipelines:
            before = old_pipelines.get(pipeline.id)
            if before is None:
                continue
            old_stages = {stage.id: stage for stage in before.stages}
            self.plan.pipelines.append(
                {
                    "entity_old": self.diff.old.entity(before.entity).name.lower(),
                    "entity": self.diff.new.entity(pipeline.entity).name.lower(),
                    "old_name": before.name,
                    "name": pipeline.name,
                    "is_default": pipeline.is_default,
                    "stages": [
                        {
                            "old_name": old_stages[stage.id].name
                            if stage.id in old_stages
                            else None,
                            "name": stage.name,
                            "kind": stage.kind.value,
                            "probability": stage.probability,
                        }
                        for stage in pipeline.stages
                    ],
                }
            )


def migration_plan_build(*, diff: SpecDiff, app_label: str) -> MigrationPlan:
    """The questioner's answers for ``diff``; raises ``EvolutionRefused`` when one is missing."""
    return _PlanBuilder(diff, app_label).build()
