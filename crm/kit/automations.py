"""Runtime of the automations compiled from an app spec ("when a deal enters Won, ...").

A compiled model's ``save()`` calls its app's generated ``<entity>_before_save(record)``,
which reads the stored values it needs with ``stored_values``, tests its triggers with
``stage_entered``/``field_changed``, sets fields on the record and collects the tasks to
create in an ``AutomationOutcome``; once the row is saved, ``automation_tasks_create``
creates those tasks. The triggers and actions themselves are generated code; this module
holds only what every app shares, and knows no concrete app.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from crm.kit.registry import kit_model


@dataclass(frozen=True)
class TaskToCreate:
    title: str
    due_in_days: int = 0
    assign_to_owner: bool = True


@dataclass
class AutomationOutcome:
    """What automations did before a save, and the tasks to create once it is saved."""

    changed_fields: set[str] = field(default_factory=set)
    tasks: list[TaskToCreate] = field(default_factory=list)


def stored_values(record: models.Model, attnames: list[str]) -> dict[str, Any] | None:
    """The stored values of ``attnames`` (``stage_id``...), or None for a record not saved yet."""
    if record._state.adding or record.pk is None:
        return None
    return type(record)._base_manager.filter(pk=record.pk).values(*attnames).first()


def field_changed(record: models.Model, previous: dict[str, Any] | None, attname: str) -> bool:
    """True when a saved record's value differs from the stored one (never for a new record)."""
    return previous is not None and previous.get(attname) != getattr(record, attname)


def stage_entered(
    record: models.Model,
    previous: dict[str, Any] | None,
    *,
    field_name: str,
    pipeline: str,
    stage: str,
) -> bool:
    """True when the record arrives in the stage keyed ``stage`` of the pipeline keyed
    ``pipeline``.

    The keys are the spec's ids of the stage and its pipeline (``Stage.key``,
    ``Pipeline.key``), so the automation still fires after the stage or pipeline is renamed;
    a stage added by hand has no key and fires nothing.
    """
    attname = f"{field_name}_id"
    current_id = getattr(record, attname)
    if current_id is None:
        return False
    if previous is not None and previous.get(attname) == current_id:
        return False
    current = getattr(record, field_name)
    return bool(current.key) and current.key == stage and current.pipeline.key == pipeline


@transaction.atomic
def automation_tasks_create(*, record: models.Model, outcome: AutomationOutcome) -> list[Any]:
    """Create the outcome's tasks, attached to ``record``; returns them."""
    if not outcome.tasks:
        return []
    task_model = kit_model(record._meta.app_label, "Task")
    owner = getattr(record, "owner", None)
    created = []
    for task in outcome.tasks:
        created.append(
            task_model.objects.create(
                title=task.title,
                due_date=timezone.localdate() + datetime.timedelta(days=task.due_in_days),
                assignee=owner if task.assign_to_owner else None,
                owner=owner,
                target=record,
            )
        )
    outcome.tasks.clear()
    return created
