"""Read selectors of the kit's configuration tables, shared by the admin, the API and services.

Each answers a question about one app's own models or rows and never writes; the
dashboard's reads live in ``crm.kit.dashboard``. ``records_erasure_plan`` finds what a
permanent deletion removes, for ``records_erase`` and the admin's confirmation page.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db import models, router
from django.db.models.deletion import Collector

from crm.kit.fields import ChoiceListField, MultipleChoiceListField
from crm.kit.models import Record
from crm.kit.registry import app_has_kit, kit_model


def choice_list_fields_using(*, app_label: str, key: str) -> list[str]:
    """The model fields of the app whose values come from the choice list ``key``, as
    ``Model.field``, sorted. A list in this answer must keep its key and must not be deleted:
    those fields name it in code."""
    return sorted(
        f"{model._meta.object_name}.{model_field.name}"
        for model in apps.get_app_config(app_label).get_models()
        for model_field in model._meta.concrete_fields
        if isinstance(model_field, ChoiceListField | MultipleChoiceListField)
        and model_field.choice_list == key
    )


# Kit rows that hang off a record through its generic target (``TargetedMixin``): erasing
# the record takes them too, whether or not its model declares a ``GenericRelation``.
ATTACHED_KIT_MODELS = ("Note", "Task", "TaggedItem", "Attachment")


@dataclass
class ErasurePlan:
    """What erasing records removes (``rows``, deleted by ``collector``) and leaves behind.

    ``attached`` counts, per erased record (model, pk), the kit rows attached to it (notes,
    tasks, tag links, attachments, and theirs in turn) by model; ``unlinked`` counts,
    per model, the rows that stay but lose their link to an erased row
    (``on_delete=SET_NULL`` and the like), such as the contacts of an erased company.
    """

    collector: Collector
    rows: list[models.Model]
    attached: dict[tuple[type[models.Model], Any], Counter[type[models.Model]]]
    unlinked: dict[type[models.Model], int]


def records_erasure_plan(*, records: Sequence[Record]) -> ErasurePlan:
    """Every row that erasing ``records`` deletes, found as Django's deletion finds them.

    Raises ``ProtectedError`` or ``RestrictedError`` when rows that stay protect one of them.
    """
    seen: dict[tuple[type[models.Model], Any], models.Model] = {}
    root_of: dict[tuple[type[models.Model], Any], tuple[type[models.Model], Any]] = {}
    attached: dict[tuple[type[models.Model], Any], Counter[type[models.Model]]] = {}
    for record in records:
        record_key: tuple[type[models.Model], Any] = (type(record), record.pk)
        seen[record_key], root_of[record_key] = record, record_key
        attached[record_key] = Counter()
    level: list[models.Model] = list(seen.values())
    while level:
        found = _attached_rows([row for row in level if isinstance(row, Record)])
        level = []
        for parent_key, row in found:
            key = (type(row), row.pk)
            if key in seen:
                continue
            seen[key], root_of[key] = row, root_of[parent_key]
            attached[root_of[key]][type(row)] += 1
            level.append(row)
    first = next(iter(seen.values()), None)
    using = router.db_for_write(type(first)) if first is not None else "default"
    # The origin tells the timeline's receivers that a record's deletion removes its tag
    # links, so they write no "Tag removed" entry (see crm.kit.timeline).
    collector = Collector(using=using, origin=first)
    by_model: dict[type[models.Model], list[models.Model]] = defaultdict(list)
    for (model, _pk), row in seen.items():
        by_model[model].append(row)
    for rows in by_model.values():
        collector.collect(rows)
    deleted = [row for instances in collector.data.values() for row in instances]
    deleted += [row for queryset in collector.fast_deletes for row in queryset]
    gone = {(type(row), row.pk) for row in deleted}
    unlinked: Counter[type[models.Model]] = Counter()
    # Django's stubs type the updates' values loosely: each is a list of row collections.
    field_updates: dict[Any, list[Any]] = cast(Any, collector.field_updates)
    for instances_list in field_updates.values():
        for instances in instances_list:
            for row in instances:
                if (type(row), row.pk) not in gone:
                    unlinked[type(row)] += 1
    return ErasurePlan(
        collector=collector, rows=deleted, attached=attached, unlinked=dict(unlinked)
    )


def _attached_rows(records: Sequence[Record]) -> list[tuple[Any, models.Model]]:
    """The kit rows attached to ``records``, each with the (model, pk) of its record."""
    found: list[tuple[Any, models.Model]] = []
    by_model: dict[type[Record], list[Any]] = defaultdict(list)
    for record in records:
        by_model[type(record)].append(record.pk)
    for model, pks in by_model.items():
        app_label = model._meta.app_label
        if not app_has_kit(app_label):
            continue
        content_type = ContentType.objects.get_for_model(model)
        for name in ATTACHED_KIT_MODELS:
            rows = kit_model(app_label, name)._base_manager.filter(
                target_type=content_type, target_id__in=pks
            )
            found += [((model, row.target_id), row) for row in rows.order_by("pk")]
    return found
