"""The automatic timeline: who created, changed, moved, archived, tagged or deleted each record.

Signal receivers compare a record with its stored row and write one ``TimelineEntry`` per
changed field into the record's own app, plus a ``StageChange`` when the pipeline stage
moves. Tags are links (``TaggedItem`` rows) rather than fields of the record: saving or
deleting a link writes "Tag added" / "Tag removed" on the tagged record. Bulk
``QuerySet.update`` and ``bulk_create`` bypass signals; services therefore save records
and links one by one when a change must appear in the timeline.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from crm.kit.current_user import get_current_user
from crm.kit.models import AbstractTaggedItem, Record, TimelineAction
from crm.kit.registry import app_has_kit, kit_model

_OLD_VALUES = "_timeline_old_values"
_OLD_LINK = "_timeline_old_link"


def tracked_fields(model: type[Record]) -> list[models.Field]:
    return [
        field
        for field in model._meta.concrete_fields
        if (not field.primary_key and field.name not in model.timeline_ignored_fields)
        or field.name == "deleted_at"
    ]


def display_value(field: models.Field, raw: Any) -> str:
    """A value as a person reads it: related records by name, choices by label."""
    if raw is None or raw == "":
        return ""
    if field.is_relation and field.related_model is not None:
        related = field.related_model._base_manager.filter(pk=raw).first()
        return str(related) if related is not None else f"#{raw}"
    if field.choices:
        return str(dict(field.flatchoices).get(raw, raw))
    if isinstance(field, models.DecimalField):
        return f"{Decimal(raw):.{field.decimal_places}f}"
    return str(raw)


def _is_tracked(sender: Any, instance: Any, raw: bool = False) -> bool:
    return (
        not raw
        and isinstance(instance, Record)
        and not sender._meta.abstract
        and app_has_kit(sender._meta.app_label)
    )


@receiver(pre_save, dispatch_uid="crm_kit_timeline_pre_save")
def remember_old_values(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    if not _is_tracked(sender, instance, raw) or instance._state.adding or instance.pk is None:
        return
    attnames = [field.attname for field in tracked_fields(sender)]
    old = sender._base_manager.filter(pk=instance.pk).values(*attnames).first()
    setattr(instance, _OLD_VALUES, old)


def _entry(instance: Record, action: str, **values: Any) -> models.Model:
    entry_model = kit_model(instance._meta.app_label, "TimelineEntry")
    return entry_model(
        record_type=ContentType.objects.get_for_model(type(instance)),
        record_id=instance.pk,
        record_repr=str(instance)[:200],
        action=action,
        actor=get_current_user(),
        **values,
    )


def _record_stage_move(instance: Record, old_stage_id: Any, new_stage_id: Any) -> None:
    stage_change_model = kit_model(instance._meta.app_label, "StageChange")
    stage_change_model.objects.create(
        record_type=ContentType.objects.get_for_model(type(instance)),
        record_id=instance.pk,
        from_stage_id=old_stage_id,
        to_stage_id=new_stage_id,
        changed_by=get_current_user(),
    )


@receiver(post_save, dispatch_uid="crm_kit_timeline_post_save")
def record_save(
    sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    if not _is_tracked(sender, instance, raw):
        return
    stage_field = sender.pipeline_stage_field
    stage_attname = sender._meta.get_field(stage_field).attname if stage_field else None
    if created:
        entries = [_entry(instance, TimelineAction.CREATED)]
        if stage_attname and getattr(instance, stage_attname) is not None:
            _record_stage_move(instance, None, getattr(instance, stage_attname))
        kit_model(sender._meta.app_label, "TimelineEntry").objects.bulk_create(entries)
        return
    old = getattr(instance, _OLD_VALUES, None)
    if old is None:
        return
    update_fields = kwargs.get("update_fields")
    entries = []
    for field in tracked_fields(sender):
        if update_fields is not None and field.name not in update_fields:
            continue
        before, after = old[field.attname], getattr(instance, field.attname)
        if before == after:
            continue
        if field.name == "deleted_at":
            action = TimelineAction.RESTORED if after is None else TimelineAction.ARCHIVED
            entries.append(_entry(instance, action))
            continue
        action = TimelineAction.CHANGED
        if field.attname == stage_attname:
            action = TimelineAction.MOVED
            _record_stage_move(instance, before, after)
        entries.append(
            _entry(
                instance,
                action,
                field=field.name,
                old_value=display_value(field, before),
                new_value=display_value(field, after),
            )
        )
    kit_model(sender._meta.app_label, "TimelineEntry").objects.bulk_create(entries)
    delattr(instance, _OLD_VALUES)


@receiver(post_delete, dispatch_uid="crm_kit_timeline_post_delete")
def record_delete(sender: Any, instance: Any, **kwargs: Any) -> None:
    if _is_tracked(sender, instance):
        _entry(instance, TimelineAction.DELETED).save()


def _is_tag_link(sender: Any, raw: bool = False) -> bool:
    return (
        not raw
        and issubclass(sender, AbstractTaggedItem)
        and not sender._meta.abstract
        and app_has_kit(sender._meta.app_label)
    )


def _tag_entry(*, record_type_id: int, record_id: int, tag_id: int, action: str) -> None:
    """Write "Tag added" or "Tag removed" on the tagged record, if it is a kit record."""
    record_model = ContentType.objects.get_for_id(record_type_id).model_class()
    if record_model is None or not issubclass(record_model, Record):
        return
    record = record_model._base_manager.filter(pk=record_id).first()
    if record is None:
        return
    tag = kit_model(record._meta.app_label, "Tag")._base_manager.filter(pk=tag_id).first()
    name = tag.name if tag is not None else f"#{tag_id}"
    side = "new_value" if action == TimelineAction.TAGGED else "old_value"
    _entry(record, action, field="tags", **{side: name}).save()


def _link_of(values: Any) -> tuple[Any, Any, Any]:
    if isinstance(values, dict):
        return values["target_type_id"], values["target_id"], values["tag_id"]
    return values.target_type_id, values.target_id, values.tag_id


@receiver(pre_save, dispatch_uid="crm_kit_timeline_tag_pre_save")
def remember_old_link(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    # An admin inline row may swap its tag (or, in code, its record): the old link goes.
    if not _is_tag_link(sender, raw) or instance._state.adding or instance.pk is None:
        return
    old = (
        sender._base_manager.filter(pk=instance.pk)
        .values("target_type_id", "target_id", "tag_id")
        .first()
    )
    setattr(instance, _OLD_LINK, old)


@receiver(post_save, dispatch_uid="crm_kit_timeline_tag_post_save")
def tag_link_save(
    sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    if not _is_tag_link(sender, raw):
        return
    new = _link_of(instance)
    old = getattr(instance, _OLD_LINK, None)
    if old is not None:
        delattr(instance, _OLD_LINK)
        old_link = _link_of(old)
        if old_link == new:
            return
        if None not in old_link:
            _tag_entry(
                record_type_id=old_link[0],
                record_id=old_link[1],
                tag_id=old_link[2],
                action=TimelineAction.UNTAGGED,
            )
    elif not created:
        return
    if None not in new:
        _tag_entry(
            record_type_id=new[0], record_id=new[1], tag_id=new[2], action=TimelineAction.TAGGED
        )


@receiver(post_delete, dispatch_uid="crm_kit_timeline_tag_post_delete")
def tag_link_delete(sender: Any, instance: Any, origin: Any = None, **kwargs: Any) -> None:
    if not _is_tag_link(sender):
        return
    # Deleting a record takes its links with it; its "deleted" entry says it all.
    origin_model = origin.model if isinstance(origin, models.QuerySet) else type(origin)
    if issubclass(origin_model, Record):
        return
    link = _link_of(instance)
    if None not in link:
        _tag_entry(
            record_type_id=link[0],
            record_id=link[1],
            tag_id=link[2],
            action=TimelineAction.UNTAGGED,
        )


def timeline_for(record: Record) -> models.QuerySet:
    """The timeline of one record, newest first."""
    entry_model = kit_model(record._meta.app_label, "TimelineEntry")
    return entry_model.objects.filter(
        record_type=ContentType.objects.get_for_model(type(record)), record_id=record.pk
    ).select_related("actor")
