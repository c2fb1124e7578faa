"""Sample rows for a preview app, so a builder tries the new release on something.

Fills each business model of an app (records and their detail lines; not the kit's own
tables, which the app's migrations fill) with a few plausible rows, derived from the field
types alone: text from the field's label, numbers, dates, the first options of choice
lists, links to rows made earlier (pipelines and their stages kept consistent). Runs in the
``tenant_migrate`` subprocess on the preview app only; a row that cannot be saved is
skipped, never half-written.
"""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from crm.kit.fields import ChoiceListField, MultipleChoiceListField
from crm.kit.registry import KIT_MODEL_NAMES, kit_model

SKIPPED_FIELD_NAMES = {"created_at", "updated_at", "created_by", "updated_by", "deleted_at"}


def _business_models(app_label: str) -> list[type[models.Model]]:
    """The app's own models, each after the models it needs (its required links)."""
    candidates = [
        model
        for model in apps.get_app_config(app_label).get_models()
        if model.__name__ not in KIT_MODEL_NAMES and not model._meta.auto_created
    ]
    ordered: list[type[models.Model]] = []
    pending = list(candidates)
    while pending:
        progressed = False
        for model in list(pending):
            needs = {
                field.related_model
                for field in model._meta.concrete_fields
                if field.is_relation
                and not field.null
                and field.related_model in candidates
                and field.related_model is not model
            }
            if needs <= set(ordered):
                ordered.append(model)
                pending.remove(model)
                progressed = True
        if not progressed:  # a cycle of required links: leave those models empty
            break
    return ordered


def _text(field: models.Field, index: int) -> str:
    label = str(field.verbose_name).capitalize()
    value = f"{label} {index + 1}"
    if isinstance(field, models.EmailField):
        value = f"sample{index + 1}@example.com"
    elif isinstance(field, models.URLField):
        value = f"https://example.com/{index + 1}"
    elif isinstance(field, models.TextField):
        value = f"A sample {label.lower()} for trying this release."
    return value[: field.max_length] if field.max_length else value


def _choice_options(app_label: str, field: Any) -> list[str]:
    return [value for value, _label in field.options()] if field.choice_list else []


def _related(field: models.Field, app_label: str, chosen: dict[str, Any]) -> Any:
    model = field.related_model
    assert model is not None, "only relation fields have a related model"
    if model._meta.app_label != app_label:
        return None  # users and content types stay empty in samples
    queryset = model._default_manager.all()
    if model.__name__ == "Stage":
        pipeline = next(
            (value for value in chosen.values() if type(value).__name__ == "Pipeline"), None
        )
        if pipeline is not None:
            queryset = queryset.filter(pipeline=pipeline)
    if model.__name__ == "Pipeline":
        entity = field.model._meta.model_name
        queryset = queryset.filter(entity=entity).order_by("-is_default", "order")
    rows = list(queryset[:20])
    return random.choice(rows) if rows else None


def _value(field: models.Field, index: int, app_label: str, chosen: dict[str, Any]) -> Any:
    if isinstance(field, ChoiceListField):
        options = _choice_options(app_label, field)
        return options[index % len(options)] if options else ""
    if isinstance(field, MultipleChoiceListField):
        return _choice_options(app_label, field)[:1]
    if field.is_relation:
        return _related(field, app_label, chosen)
    if field.choices:
        return field.choices[index % len(field.choices)][0]
    return _scalar(field, index)


def _scalar(field: models.Field, index: int) -> Any:
    """A value of a plain column, by field type (checked from the most specific)."""
    if isinstance(field, models.BooleanField):
        return index % 2 == 0
    if isinstance(field, models.DecimalField):
        whole = 10 ** min(field.max_digits - field.decimal_places, 6) - 1
        return Decimal(random.randint(1, max(whole, 1)))
    if isinstance(field, models.IntegerField):
        return random.randint(1, 100)
    if isinstance(field, models.FloatField):
        return round(random.uniform(1, 100), 2)
    if isinstance(field, models.DateTimeField):
        return timezone.now() - timedelta(days=index)
    if isinstance(field, models.DateField):
        return timezone.localdate() - timedelta(days=index)
    if isinstance(field, models.FileField):
        return ""
    if isinstance(field, models.CharField | models.TextField):
        return _text(field, index)
    return field.get_default()


def _sample_row(model: type[models.Model], index: int, app_label: str) -> models.Model | None:
    values: dict[str, Any] = {}
    for field in model._meta.concrete_fields:
        if field.primary_key or field.name in SKIPPED_FIELD_NAMES or not field.editable:
            continue
        if (
            field.is_relation
            and field.related_model is not None
            and (field.related_model._meta.app_label != app_label)
        ):
            continue
        value = _value(field, index, app_label, values)
        if value is None and not field.null:
            if field.has_default():
                continue
            return None  # a required link with nothing to link to
        values[field.name] = value
    return model(**values)


def sample_data_create(*, app_label: str, per_model: int = 5, seed: int = 7) -> dict[str, int]:
    """Create up to ``per_model`` rows in each business model; return the counts made."""
    random.seed(seed)
    kit_model(app_label, "ChoiceOption")  # fails early on an app not built on the kit
    made: dict[str, int] = {}
    for model in _business_models(app_label):
        count = 0
        for index in range(per_model):
            row = _sample_row(model, index, app_label)
            if row is None:
                continue
            try:
                with transaction.atomic():
                    row.save()
            except (IntegrityError, ValueError, TypeError):
                continue
            count += 1
        made[model.__name__] = count
    return made
