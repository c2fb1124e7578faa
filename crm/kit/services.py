"""Write services of the kit, shared by every app built on it.

Each takes the app label so it writes into that app's own tables; each is atomic. Admin
actions, API views, commands and tasks call these and hold no logic of their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps as global_apps
from django.apps.registry import Apps
from django.db import transaction
from django.utils import timezone

from crm.kit.models import Record
from crm.kit.selectors import choice_list_fields_using


def _model(app_label: str, name: str, registry: Apps | None) -> Any:
    return (registry or global_apps).get_model(app_label, name)


@transaction.atomic
def choice_lists_install(
    *,
    app_label: str,
    choice_lists: Mapping[str, Mapping[str, Any]],
    registry: Apps | None = None,
) -> None:
    """Create missing choice lists and options, and update the values an admin left alone.

    ``choice_lists`` maps a list key to {"name": ..., "options": [(value, label, colour), ...]}.
    A list is found by its key and an option by its value; the list's name and the options'
    labels, colours and order follow the rule of ``installed_values_apply``. Never removes an
    option (records may use it). ``registry`` lets a data migration pass its historical app
    registry (one whose models have ``installed_values``).
    """
    list_model = _model(app_label, "ChoiceList", registry)
    option_model = _model(app_label, "ChoiceOption", registry)
    for key, definition in choice_lists.items():
        choice_list, _status, _kept = _row_install(
            list_model,
            list_model.objects.filter(key=key).first(),
            create_with={"key": key},
            values={"name": definition["name"]},
        )
        for order, (value, label, colour) in enumerate(definition["options"]):
            _row_install(
                option_model,
                option_model.objects.filter(choice_list=choice_list, value=value).first(),
                create_with={"choice_list": choice_list, "value": value},
                values={"label": label, "colour": colour, "order": order},
            )


def installed_values_apply(row: Any, *, values: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """Bring the spec's ``values`` to an installed row without undoing an admin's edits.

    Three-way rule, per field: the row takes the spec's value only when that value changed
    since the last install and the row still holds the value installed then; a value the
    admin edited stays. A field without a remembered install (rows installed before installs
    were remembered, or made by hand and adopted) takes the spec's value, as installs always
    did. The spec's values are remembered in ``installed_values`` either way.

    Sets the attributes without saving; returns the names of the changed fields (with
    ``installed_values`` when the memory changed) and those whose edited value was kept
    over a changed spec value.
    """
    installed = dict(row.installed_values or {})
    changed, kept = [], []
    for name, value in values.items():
        current = getattr(row, name)
        if name not in installed or (value != installed[name] and current == installed[name]):
            if current != value:
                setattr(row, name, value)
                changed.append(name)
        elif value != installed[name] and current != value:
            kept.append(name)
        installed[name] = value
    if installed != row.installed_values:
        row.installed_values = installed
        changed.append("installed_values")
    return changed, kept


@dataclass
class PipelinesInstalled:
    """What ``pipelines_install`` did, as "<pipeline>: <stage>" texts for reports."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    # Stages of the installed pipelines that the definitions no longer list: left in place,
    # because records and their stage history may still point at them.
    unlisted: list[str] = field(default_factory=list)
    # Fields whose value an admin edited and the install kept although the definitions
    # changed it: "<pipeline>: <field>" or "<pipeline>: <stage>: <field>".
    kept: list[str] = field(default_factory=list)


@transaction.atomic
def pipelines_install(
    *,
    app_label: str,
    pipelines: Sequence[Mapping[str, Any]],
    registry: Apps | None = None,
) -> PipelinesInstalled:
    """Bring pipelines and their stages in line with ``pipelines``, matched by key.

    Each pipeline is {"key", "entity", "name", "is_default", "stages": [(key, name, kind,
    probability), ...]}; the keys are the ids of the app's spec. A pipeline or stage is
    found by its key, else it adopts a row without key of the same name (rows installed
    before keys existed), else it is created; found rows take the definition's name, kind,
    probability, default flag and order by the rule of ``installed_values_apply`` (values an
    admin edited are kept and reported in ``kept``). Stages that are not listed are never
    deleted (rows may stand in them): they keep their place after the listed ones and are
    reported in ``unlisted``. Definitions without keys (older generated apps) match by name.
    """
    pipeline_model = _model(app_label, "Pipeline", registry)
    stage_model = _model(app_label, "Stage", registry)
    installed = PipelinesInstalled()
    for order, definition in enumerate(pipelines):
        values = {
            "entity": definition["entity"],
            "name": definition["name"],
            "order": order,
            "is_default": definition.get("is_default", False),
        }
        pipeline = _row_by_key(
            pipeline_model.objects.filter(entity=definition["entity"]),
            pipeline_model.objects.all(),
            key=definition.get("key", ""),
            name=definition["name"],
        )
        key = definition.get("key", "")
        pipeline, _status, kept = _row_install(
            pipeline_model,
            pipeline,
            create_with={"key": key},
            identity={"key": key} if key else {},
            values=values,
        )
        installed.kept += [f"{pipeline}: {kept_field}" for kept_field in kept]
        stages = [_stage_definition(stage) for stage in definition["stages"]]
        listed: set[int] = set()
        for position, (key, name, kind, probability) in enumerate(stages):
            rows = stage_model.objects.filter(pipeline=pipeline)
            stage = _row_by_key(rows.exclude(pk__in=listed), rows, key=key, name=name)
            stage, status, kept = _row_install(
                stage_model,
                stage,
                create_with={"key": key, "pipeline": pipeline},
                identity={"key": key} if key else {},
                values={"name": name, "kind": kind, "probability": probability, "order": position},
            )
            listed.add(stage.pk)
            if status:
                getattr(installed, status).append(f"{pipeline}: {stage.name}")
            installed.kept += [f"{pipeline}: {stage.name}: {kept_field}" for kept_field in kept]
        unlisted = stage_model.objects.filter(pipeline=pipeline).exclude(pk__in=listed)
        for position, stage in enumerate(unlisted.order_by("order", "pk"), start=len(stages)):
            if stage.order != position:
                stage.order = position
                stage.save(update_fields=["order"])
            installed.unlisted.append(f"{pipeline}: {stage.name}")
    return installed


def _stage_definition(stage: Sequence[Any]) -> tuple[str, str, str, int]:
    """(key, name, kind, probability); a stage without key is (name, kind, probability)."""
    if len(stage) == 3:
        return ("", *stage)
    key, name, kind, probability = stage
    return key, name, kind, probability


def _row_by_key(adoptable: Any, rows: Any, *, key: str, name: str) -> Any:
    """The row of ``rows`` with this key; else the first row of ``adoptable`` named ``name``
    (without a key, unless the definition has none either); else None."""
    if key:
        found = rows.filter(key=key).first()
        if found is not None:
            return found
        adoptable = adoptable.filter(key="")
    return adoptable.filter(name=name).order_by("pk").first()


def _row_install(
    model: Any,
    row: Any,
    *,
    create_with: Mapping[str, Any],
    values: Mapping[str, Any],
    identity: Mapping[str, Any] | None = None,
) -> tuple[Any, str, list[str]]:
    """Create the row from the spec, or bring the spec's ``values`` to an existing one.

    ``create_with`` are the fields a new row also gets (key, parent), ``identity`` those an
    existing row is given whatever it holds (the key of an adopted row). Returns the row,
    "created", "updated" (a spec value was applied) or "", and the kept edited fields.
    """
    if row is None:
        row = model.objects.create(**create_with, **values, installed_values=dict(values))
        return row, "created", []
    identity = identity or {}
    changed = [name for name, value in identity.items() if getattr(row, name) != value]
    for name in changed:
        setattr(row, name, identity[name])
    applied, kept = installed_values_apply(row, values=values)
    changed += applied
    if changed:
        row.save(update_fields=changed)
    updated = any(name != "installed_values" for name in changed)
    return row, "updated" if updated else "", kept


def records_archive(*, records: Iterable[Record]) -> int:
    """Soft delete each record (saved one by one so the timeline sees it)."""
    count = 0
    with transaction.atomic():
        for record in records:
            if record.deleted_at is None:
                record.archive()
                count += 1
    return count


def records_restore(*, records: Iterable[Record]) -> int:
    count = 0
    with transaction.atomic():
        for record in records:
            if record.deleted_at is not None:
                record.restore()
                count += 1
    return count


def tasks_mark_done(*, tasks: Iterable[Any]) -> int:
    count = 0
    with transaction.atomic():
        for task in tasks:
            if task.status != task.done_status:
                task.status = task.done_status
                task.completed_at = timezone.now()
                task.save(update_fields=["status", "completed_at"])
                count += 1
    return count


def records_move_stage(*, records: Iterable[Record], stage: Any) -> int:
    """Move records to a stage (and its pipeline); one save each so history is kept."""
    count = 0
    with transaction.atomic():
        for record in records:
            field = record.pipeline_stage_field
            if field is None:
                raise ValueError(f"{record._meta.verbose_name} has no pipeline stage.")
            if getattr(record, f"{field}_id") == stage.pk:
                continue
            setattr(record, field, stage)
            update_fields = [field]
            if hasattr(record, "pipeline_id"):
                record.pipeline_id = stage.pipeline_id
                update_fields.append("pipeline")
            record.save(update_fields=update_fields)
            count += 1
    return count


@transaction.atomic
def record_tags_set(*, record: Record, tags: Iterable[Any]) -> None:
    """Make ``tags`` exactly the tags of ``record``: links the missing ones, unlinks the rest.

    Links are deleted and created one by one, in tag name order, so that each change is one
    "Tag removed" or "Tag added" entry in the record's timeline.
    """
    from django.contrib.contenttypes.models import ContentType

    from crm.kit.registry import kit_model

    tagged_item_model = kit_model(record._meta.app_label, "TaggedItem")
    content_type = ContentType.objects.get_for_model(type(record))
    wanted = {tag.pk: tag for tag in tags}
    links = tagged_item_model.objects.filter(target_type=content_type, target_id=record.pk)
    for link in links.exclude(tag_id__in=wanted).select_related("tag").order_by("tag__name"):
        link.delete()
    present = set(links.values_list("tag_id", flat=True))
    for tag in sorted((wanted[pk] for pk in wanted.keys() - present), key=lambda tag: tag.name):
        tagged_item_model.objects.create(tag=tag, target_type=content_type, target_id=record.pk)


@transaction.atomic
def child_rows_replace(
    *, parent: Any, related_name: str, rows: Sequence[Mapping[str, Any]], key: str
) -> None:
    """Make the rows of a one-to-many relation exactly ``rows``, matched on ``key``.

    Rows whose key is not listed are deleted first (so a unique key can move between rows),
    listed rows are updated in place, new keys are created. Used for inline lists such as
    a contact's extra emails, where the list sent is the whole truth.
    """
    manager = getattr(parent, related_name)
    existing = {getattr(row, key): row for row in manager.all()}
    listed = {values[key] for values in rows}
    for row_key, row in existing.items():
        if row_key not in listed:
            row.delete()
    for values in rows:
        row = existing.get(values[key])
        if row is None:
            manager.create(**values)
            continue
        changed = [name for name, value in values.items() if getattr(row, name) != value]
        if changed:
            for name in changed:
                setattr(row, name, values[name])
            row.save(update_fields=changed)


@transaction.atomic
def choice_list_options_set(*, choice_list: Any, options: Sequence[Mapping[str, Any]]) -> None:
    """Make ``options`` the list's options, in that order; unlisted ones are deactivated and
    go after them.

    Options are never deleted here: rows may still hold their values, and a deactivated
    option keeps its label for them while no longer being offered.
    """
    option_model = type(choice_list).options.rel.related_model
    for order, values in enumerate(options):
        defaults = {"label": values["label"], "order": order}
        defaults.update({name: values[name] for name in ("colour", "is_active") if name in values})
        option_model.objects.update_or_create(
            choice_list=choice_list, value=values["value"], defaults=defaults
        )
    listed = [values["value"] for values in options]
    unlisted = (
        option_model.objects.filter(choice_list=choice_list)
        .exclude(value__in=listed)
        .order_by("order", "label")
    )
    for order, option in enumerate(unlisted, start=len(options)):
        option.order, option.is_active = order, False
        option.save(update_fields=["order", "is_active"])


class ChoiceListInUse(Exception):
    """A choice list that model fields use cannot be deleted; the message names them."""


@transaction.atomic
def choice_list_delete(*, choice_list: Any) -> None:
    """Delete a choice list and its options, unless model fields take their values from it."""
    fields = choice_list_fields_using(app_label=choice_list._meta.app_label, key=choice_list.key)
    if fields:
        named = fields[0] if len(fields) == 1 else f"{', '.join(fields[:-1])} and {fields[-1]}"
        noun = "field" if len(fields) == 1 else "fields"
        raise ChoiceListInUse(
            f"The choice list '{choice_list.key}' is used by the {noun} {named}, so it cannot "
            "be deleted; deactivate the options you no longer want instead."
        )
    choice_list.delete()


@transaction.atomic
def pipeline_stages_set(*, pipeline: Any, stages: Sequence[Mapping[str, Any]]) -> None:
    """Make ``stages`` the pipeline's stages, in that order.

    An item with an ``id`` updates that stage, one without creates a stage, and stages not
    listed are removed; removing a stage that records still stand in is refused.
    """
    from django.core.exceptions import ValidationError
    from django.db.models import ProtectedError

    stage_model = type(pipeline).stages.rel.related_model
    existing = {stage.pk: stage for stage in stage_model.objects.filter(pipeline=pipeline)}
    foreign = [values["id"] for values in stages if values.get("id") not in (None, *existing)]
    if foreign:
        raise ValidationError(
            f"Stage ids {foreign} do not belong to the pipeline {pipeline}; "
            "leave out the id to create a new stage."
        )
    kept = {values.get("id") for values in stages}
    for stage_id, stage in existing.items():
        if stage_id in kept:
            continue
        try:
            with transaction.atomic():
                stage.delete()
        except ProtectedError as error:
            raise ValidationError(
                f"The stage {stage} still holds {len(error.protected_objects)} record(s); "
                "move them to another stage before removing it."
            ) from error
    for order, values in enumerate(stages):
        fields = {name: value for name, value in values.items() if name != "id"}
        fields["order"] = order
        if values.get("id") is None:
            stage_model.objects.create(pipeline=pipeline, **fields)
        else:
            stage_model.objects.filter(pk=values["id"]).update(**fields)
