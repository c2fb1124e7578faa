"""``manage.py demo_seed LABEL --file SEED.yaml``: realistic rows for a demo tenant's app.

Runs in the subprocess that loads the tenant's live release (``factory demo`` starts it
through ``tenant_manage``). The seed file lists, model by model in dependency order, rows
of field values; ``_key`` names a row so that later rows can point to it, a relation takes
that key, a date takes an ISO date or a number of days from today, a stage field takes
the stage's name. Rows belong to the tenant's first builder. All rows are written in one
transaction, or none: a seed that does not fit the app (the model chose other names in a
live run) fails whole, and the caller falls back to generic sample rows.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import yaml
from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models, transaction
from django.utils import timezone


class Command(BaseCommand):
    help = "Internal: write a demo seed file's rows into a loaded tenant app."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("label")
        parser.add_argument("--file", type=Path, required=True)
        parser.add_argument("--tenant", required=True, help="The tenant's slug (rows' owner).")

    def handle(self, *args: Any, **options: Any) -> None:
        from crm.kit.current_user import acting_as
        from factory.tenants.models import Membership, MembershipRole

        label = options["label"]
        if label not in apps.app_configs:
            raise CommandError(f"The app {label} is not loaded in this process.")
        seed = yaml.safe_load(options["file"].read_text(encoding="utf-8"))
        membership = (
            Membership.objects.filter(tenant__slug=options["tenant"], role=MembershipRole.BUILDER)
            .select_related("user")
            .first()
        )
        owner = membership.user if membership else None
        made: dict[str, int] = {}
        with transaction.atomic(), acting_as(owner):
            keys: dict[str, models.Model] = {}
            for model_name, rows in seed.items():
                model = apps.get_model(label, model_name)
                for row in rows:
                    instance = model(**_values(model, dict(row), keys, label))
                    if owner is not None and hasattr(instance, "owner_id"):
                        instance.owner = owner
                    instance.full_clean()
                    instance.save()
                    if row.get("_key"):
                        keys[str(row["_key"])] = instance
                made[model_name] = len(rows)
        self.stdout.write(json.dumps({"seeded": made}, sort_keys=True))


def _values(
    model: type[models.Model], row: dict[str, Any], keys: dict[str, models.Model], label: str
) -> dict[str, Any]:
    row.pop("_key", None)
    values: dict[str, Any] = {}
    for name, value in row.items():
        field = model._meta.get_field(name)
        related_model = field.related_model if field.many_to_one else None
        if related_model is not None and related_model.__name__ == "Stage":
            stage = (
                apps.get_model(label, "Stage")
                .objects.filter(pipeline__entity=model._meta.model_name, name=value)
                .select_related("pipeline")
                .order_by("-pipeline__is_default", "pipeline__order")
                .first()
            )
            if stage is None:
                raise CommandError(f"{model.__name__} has no stage named {value!r}.")
            values[name] = stage
            values["pipeline"] = stage.pipeline
        elif field.is_relation and field.many_to_one:
            if str(value) not in keys:
                raise CommandError(
                    f"{model.__name__}.{name}: no earlier row has the key {value!r}."
                )
            values[name] = keys[str(value)]
        elif isinstance(field, models.DateTimeField) and isinstance(value, int):
            values[name] = timezone.now() + datetime.timedelta(days=value)
        elif isinstance(field, models.DateField) and isinstance(value, int):
            values[name] = timezone.localdate() + datetime.timedelta(days=value)
        else:
            values[name] = value
    return values
