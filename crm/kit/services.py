"""Write services of the kit, shared by every app built on it.

Each takes the app label so it writes into that app's own tables; each is atomic. Admin
actions, API views, commands and tasks call these and hold no logic of their own.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.apps import apps as global_apps
from django.apps.registry import Apps
from django.contrib.admin.models import DELETION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.db.models import ProtectedError, Q, RestrictedError
from django.utils import timezone
from django.utils.text import capfirst

from crm.kit.models import AbstractAttachment, Record
from crm.kit.registry import app_has_kit, kit_model
from crm.kit.selectors import choice_list_fields_using, records_erasure_plan


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


# A row named by its model and primary key: rows deleted by an erasure have lost their pk.
RowKey = tuple[type[models.Model], Any]


class RecordErasureRefused(Exception):
    """Erasing records was refused and nothing changed; the message says why and what to do."""


def erased_record_label(model: type[models.Model], pk: Any) -> str:
    """How an erased record is named from then on: "Contact #42", never by its name."""
    return f"{capfirst(model._meta.verbose_name)} #{pk}"


def rows_counted(*, model: type[models.Model], count: int) -> str:
    """A count of rows as people read it: "1 contact", "2 contacts"."""
    opts = model._meta
    return f"{count} {opts.verbose_name if count == 1 else opts.verbose_name_plural}"


@transaction.atomic
def records_erase(*, records: Iterable[Record], actor: Any) -> int:
    """Delete archived records for good with every trace of their data (an erasure request).

    Removes the records, the kit rows attached to them (notes, tasks, tag links and
    attachments, and theirs in turn), the rows Django's ``on_delete`` rules cascade to,
    the timeline entries and stage history of every record among them, and the admin's log
    entries about every removed row; the stored files of the attachments are deleted once
    the transaction commits. Where other records' history names an erased record (a
    contact's timeline showing its company, a deal's admin log naming a contact of it), the
    name becomes "Company #42". Accountability stays without personal data: one admin log
    entry per record, "Contact #42" deleted by ``actor``, with counts and no values (the
    timeline would be wrong for it: it is what is erased, and every user sees it).

    Only a superuser erases, and only archived records: a live record, or a row that stays
    and protects one of them, refuses the whole erasure with ``RecordErasureRefused``.
    Returns the number of records erased.
    """
    if actor is None or not (actor.is_active and actor.is_superuser):
        raise RecordErasureRefused(
            "Only a superuser can delete records permanently; ask one to do it."
        )
    stored = _records_locked(list(records))
    if not stored:
        return 0
    try:
        plan = records_erasure_plan(records=stored)
    except ProtectedError as error:
        raise _erasure_blocked(error.protected_objects) from error
    except RestrictedError as error:
        raise _erasure_blocked(error.restricted_objects) from error
    # Deleting clears the rows' primary keys: everything after it works on (model, pk).
    erased = [(type(row), row.pk) for row in plan.rows]
    history = [(model, pk) for model, pk in erased if issubclass(model, Record)]
    requested = [(type(record), record.pk) for record in stored]
    names = _names_held([row for row in plan.rows if isinstance(row, Record)])
    files: list[tuple[Any, str, Any]] = [
        (row.file.storage, row.file.name, type(row))
        for row in plan.rows
        if isinstance(row, AbstractAttachment) and row.file.name
    ]
    plan.collector.delete()
    # After the deletion: it writes a "deleted" timeline entry for each record, erased here.
    _history_delete(history)
    _log_entries_delete(erased)
    for model, pk in history:
        _timeline_references_redact(model, pk, names=names[(model, pk)])
    # Only the erased records' own names: the names of attached notes and tasks are their
    # texts, which would match unrelated messages; they appeared in the log of the record
    # they belong to, erased above.
    for model, pk in requested:
        _change_messages_redact(model, pk, names=names[(model, pk)])
    for model, pk in requested:
        _erasure_log(model, pk, actor=actor, attached=plan.attached[(model, pk)])
    for storage, name, attachment_model in files:
        # A file another attachment still names stays (an attachment copied by hand).
        if not attachment_model._base_manager.filter(file=name).exists():
            transaction.on_commit(partial(storage.delete, name))
    return len(requested)


def _erasure_blocked(rows: Iterable[models.Model]) -> RecordErasureRefused:
    kinds = sorted({str(row._meta.verbose_name_plural) for row in rows})
    return RecordErasureRefused(
        f"Other rows ({', '.join(kinds)}) still point at the records to erase and protect "
        "them, so nothing was erased; change or delete those rows first."
    )


def _records_locked(records: list[Record]) -> list[Record]:
    """The stored, locked rows of ``records`` (gone ones left out), refusing live ones: a
    record restored since it was picked must not be erased."""
    by_model: dict[type[Record], list[Any]] = {}
    for record in records:
        by_model.setdefault(type(record), []).append(record.pk)
    stored: list[Record] = []
    for model, pks in by_model.items():
        rows = list(model._base_manager.select_for_update().filter(pk__in=pks).order_by("pk"))
        live = [row for row in rows if row.deleted_at is None]
        if len(live) == 1:
            raise RecordErasureRefused(
                f"The {model._meta.verbose_name} #{live[0].pk} is not archived, so nothing was "
                "erased; archive it first, then delete it permanently."
            )
        if live:
            ids = ", ".join(f"#{row.pk}" for row in live)
            raise RecordErasureRefused(
                f"The {model._meta.verbose_name_plural} {ids} are not archived, so nothing was "
                "erased; archive them first, then delete them permanently."
            )
        stored += rows
    return stored


def _names_held(records: Sequence[Record]) -> dict[RowKey, set[str]]:
    """Each record's names: the present one and those its timeline saw (renamed records)."""
    names: dict[RowKey, set[str]] = {}
    for record in records:
        names[(type(record), record.pk)] = {str(record)} - {""}
    by_model: dict[type[Record], list[Any]] = {}
    for record in records:
        by_model.setdefault(type(record), []).append(record.pk)
    for model, pks in by_model.items():
        entries = kit_model(model._meta.app_label, "TimelineEntry")._base_manager.filter(
            record_type=ContentType.objects.get_for_model(model), record_id__in=pks
        )
        for record_id, record_repr in entries.values_list("record_id", "record_repr").distinct():
            if record_repr:
                names[(model, record_id)].add(record_repr)
    return names


def _history_delete(records: Sequence[RowKey]) -> None:
    by_model: dict[type[models.Model], list[Any]] = {}
    for model, pk in records:
        by_model.setdefault(model, []).append(pk)
    for model, pks in by_model.items():
        content_type = ContentType.objects.get_for_model(model)
        for name in ("TimelineEntry", "StageChange"):
            kit_model(model._meta.app_label, name)._base_manager.filter(
                record_type=content_type, record_id__in=pks
            ).delete()


def _log_entries_delete(rows: Sequence[RowKey]) -> None:
    by_model: dict[type[models.Model], list[str]] = {}
    for model, pk in rows:
        by_model.setdefault(model, []).append(str(pk))
    for model, ids in by_model.items():
        content_type = ContentType.objects.get_for_model(model, for_concrete_model=False)
        LogEntry.objects.filter(content_type=content_type, object_id__in=ids).delete()


def _timeline_references_redact(model: type[models.Model], pk: Any, *, names: set[str]) -> None:
    """Replace the erased record's names in the timeline values of relations to its model
    (a contact's "company" changes naming an erased company)."""
    if not names:
        return
    label = erased_record_label(model, pk)
    for relation in model._meta.related_objects:
        holder = relation.related_model
        if not (
            isinstance(holder, type)
            and issubclass(holder, Record)
            and (relation.field.many_to_one or relation.field.one_to_one)
            and app_has_kit(holder._meta.app_label)
        ):
            continue
        entries = kit_model(holder._meta.app_label, "TimelineEntry")._base_manager.filter(
            record_type=ContentType.objects.get_for_model(holder), field=relation.field.name
        )
        entries.filter(old_value__in=names).update(old_value=label)
        entries.filter(new_value__in=names).update(new_value=label)


def _change_messages_redact(model: type[models.Model], pk: Any, *, names: set[str]) -> None:
    """Replace the erased record's names, as whole words, in the admin's change messages
    (a company's log saying "Added contact “Jane Doe”"): a short name may also replace the
    same word meaning something else, which an erasure accepts."""
    if not names:
        return
    label = erased_record_label(model, pk)
    # Change messages are JSON that Django writes with non-ASCII characters escaped.
    spellings = sorted({*names, *(json.dumps(name)[1:-1] for name in names)}, key=len)
    pattern = re.compile(
        "|".join(rf"(?<!\w){re.escape(name)}(?!\w)" for name in reversed(spellings))
    )
    mentions = Q()
    for spelling in spellings:
        mentions |= Q(change_message__contains=spelling)
    for entry in LogEntry.objects.filter(mentions):
        entry.change_message = _change_message_redact(entry.change_message, pattern, label)
        entry.save(update_fields=["change_message"])


def _change_message_redact(message: str, pattern: re.Pattern[str], label: str) -> str:
    try:
        parsed = json.loads(message)
    except ValueError:
        return pattern.sub(label, message)

    def redact(value: Any) -> Any:
        if isinstance(value, str):
            return pattern.sub(label, value)
        if isinstance(value, list):
            return [redact(item) for item in value]
        if isinstance(value, dict):
            return {key: redact(item) for key, item in value.items()}
        return value

    # Django's own form (see LogEntry.get_change_message), so the admin still reads it.
    return json.dumps(redact(parsed))


def _erasure_log(
    model: type[models.Model], pk: Any, *, actor: Any, attached: Counter[type[models.Model]]
) -> None:
    """The nameless trace of an erasure in the admin's log: who erased which id, when, and
    how many attached rows went with it."""
    went = [rows_counted(model=row_model, count=count) for row_model, count in attached.items()]
    message = "Erased permanently, with its timeline, stage history and admin log."
    if went:
        message += f" Attached rows erased with it: {', '.join(went)}."
    LogEntry.objects.create(
        user_id=actor.pk,
        content_type=ContentType.objects.get_for_model(model, for_concrete_model=False),
        object_id=str(pk),
        object_repr=erased_record_label(model, pk),
        action_flag=DELETION,
        change_message=message,
    )
