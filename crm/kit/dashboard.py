"""Read-only selectors behind the CRM admin's dashboard and deal board, for any kit app.

They count and sum pipeline records per stage, list the tasks due soon and the recent
timeline, always within what the user may see (``records_visible_to``). They never
write, and every one runs a fixed number of queries whatever the number of records.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Count, Q, Sum
from django.utils import timezone

from crm.kit.models import Record
from crm.kit.registry import kit_model
from crm.kit.roles import records_visible_to


@dataclass
class StageColumn:
    """One stage of a pipeline with its records, their count and amount totals."""

    stage: models.Model
    count: int = 0
    # Amount per currency ("" when the model has no currency field), in currency order.
    totals: dict[str, Decimal] = field(default_factory=dict)
    records: list[models.Model] = field(default_factory=list)
    # Filled in by the admin's board view for its template.
    total_text: str = field(default="", compare=False)
    cards: list[dict[str, Any]] = field(default_factory=list, compare=False)

    @property
    def hidden(self) -> int:
        return self.count - len(self.records)


def stage_foreign_key(model: type[Record]) -> models.ForeignKey:
    """The foreign key to its stage by which ``model`` moves through pipelines."""
    name = model.pipeline_stage_field
    stage_field = model._meta.get_field(name) if name else None
    if not isinstance(stage_field, models.ForeignKey):
        raise ValueError(
            f"{model.__name__} does not move through pipelines; set its pipeline_stage_field "
            "to the name of its stage foreign key."
        )
    return stage_field


def pipeline_records(*, model: type[Record], pipeline: models.Model, user: Any) -> models.QuerySet:
    """Alive records of ``model`` in ``pipeline`` that ``user`` may see."""
    stage_field = stage_foreign_key(model).name
    queryset = model.objects.filter(**{f"{stage_field}__pipeline": pipeline})
    return records_visible_to(user, queryset)


def pipeline_stage_totals(
    *,
    model: type[Record],
    pipeline: models.Model,
    user: Any,
    amount_field: str | None,
    currency_field: str | None = None,
) -> list[StageColumn]:
    """Every stage of the pipeline, in order, with record counts and amounts (one query)."""
    stage_field = stage_foreign_key(model).name
    # The kit's Stage declares related_name="stages" towards its app's Pipeline.
    stages = pipeline.stages.order_by("order")  # type: ignore[attr-defined]
    columns = {stage.pk: StageColumn(stage=stage) for stage in stages}
    group_by = [stage_field] + ([currency_field] if currency_field else [])
    aggregates: dict[str, Any] = {"record_count": Count("pk")}
    if amount_field:
        aggregates["amount_total"] = Sum(amount_field)
    rows = (
        pipeline_records(model=model, pipeline=pipeline, user=user)
        .order_by()
        .values(*group_by)
        .annotate(**aggregates)
        .order_by(*group_by)
    )
    for row in rows:
        column = columns.get(row[stage_field])
        if column is None:
            continue
        column.count += row["record_count"]
        if amount_field:
            currency = row[currency_field] if currency_field else ""
            total = row["amount_total"] or Decimal("0")
            column.totals[currency] = column.totals.get(currency, Decimal("0")) + total
    return list(columns.values())


def pipeline_board(
    *,
    model: type[Record],
    pipeline: models.Model,
    user: Any,
    amount_field: str | None,
    currency_field: str | None = None,
    select_related: tuple[str, ...] = (),
    cards_per_stage: int = 50,
) -> list[StageColumn]:
    """The board of a pipeline: stage columns with totals and up to ``cards_per_stage`` cards.

    Cards are the most recently updated records of each stage; the rest are counted.
    """
    columns = pipeline_stage_totals(
        model=model,
        pipeline=pipeline,
        user=user,
        amount_field=amount_field,
        currency_field=currency_field,
    )
    by_stage = {column.stage.pk: column for column in columns}
    stage_attname = stage_foreign_key(model).attname
    records = (
        pipeline_records(model=model, pipeline=pipeline, user=user)
        .select_related(*select_related)
        .order_by("-updated_at", "-pk")
    )
    for record in records:
        column = by_stage.get(getattr(record, stage_attname))
        if column is not None and len(column.records) < cards_per_stage:
            column.records.append(record)
    return columns


def pipelines_for(*, app_label: str, entity: str) -> models.QuerySet:
    """The pipelines of one entity (model name), default first."""
    pipeline_model = kit_model(app_label, "Pipeline")
    return pipeline_model.objects.filter(entity=entity).order_by("-is_default", "order", "name")


def stages_for(*, app_label: str, entity: str) -> models.QuerySet:
    """Every stage of every pipeline of an entity, grouped by pipeline, in order."""
    stage_model = kit_model(app_label, "Stage")
    return (
        stage_model.objects.filter(pipeline__entity=entity)
        .select_related("pipeline")
        .order_by("-pipeline__is_default", "pipeline__order", "pipeline__name", "order")
    )


@dataclass
class TasksDue:
    overdue: list[models.Model]
    upcoming: list[models.Model]


def tasks_due(*, app_label: str, user: Any, days: int = 7, limit: int = 20) -> TasksDue:
    """Open tasks past their due date, and those due in the next ``days`` days."""
    task_model = kit_model(app_label, "Task")
    today = timezone.localdate()
    open_tasks = (
        records_visible_to(user, task_model.objects.exclude(status=task_model.done_status))
        .select_related("assignee")
        .prefetch_related("target")
        .order_by("due_date", "pk")
    )
    return TasksDue(
        overdue=list(open_tasks.filter(due_date__lt=today)[:limit]),
        upcoming=list(
            open_tasks.filter(
                due_date__gte=today, due_date__lte=today + datetime.timedelta(days=days)
            )[:limit]
        ),
    )


def history_visible_to(*, app_label: str, user: Any, queryset: models.QuerySet) -> models.QuerySet:
    """History rows (timeline entries, stage changes) about records ``user`` may see.

    Works on any model with ``record_type``/``record_id`` columns.
    """
    visible = Q()
    models_ = [m for m in apps.get_app_config(app_label).get_models() if issubclass(m, Record)]
    content_types = ContentType.objects.get_for_models(*models_)
    for model in models_:
        everything = model.all_objects.all()
        allowed = records_visible_to(user, everything)
        condition = Q(record_type=content_types[model])
        # records_visible_to hands back its input untouched when the user sees everything.
        if allowed is not everything:
            condition &= Q(record_id__in=allowed.values("pk"))
        visible |= condition
    return queryset.filter(visible)


def timeline_recent(*, app_label: str, user: Any, limit: int = 15) -> list[models.Model]:
    """The latest timeline entries of the records ``user`` may see, newest first."""
    entry_model = kit_model(app_label, "TimelineEntry")
    queryset = history_visible_to(
        app_label=app_label, user=user, queryset=entry_model.objects.all()
    )
    return list(queryset.select_related("actor", "record_type").order_by("-at", "-pk")[:limit])


def amounts_by_currency(columns: list[StageColumn]) -> dict[str, list[tuple[Any, Decimal]]]:
    """Per currency, the (stage, amount) pairs of a pipeline: the dashboard draws one chart each."""
    charts: dict[str, list[tuple[Any, Decimal]]] = defaultdict(list)
    currencies = sorted({currency for column in columns for currency in column.totals})
    for currency in currencies:
        for column in columns:
            charts[currency].append((column.stage, column.totals.get(currency, Decimal("0"))))
    return dict(charts)
