"""Reads and writes rows of an app in the scratch process (see ``evolution_step``).

``values_dump`` returns every stored value of every model of the app: model name → primary
key → field name → value as text (None for NULL), the way the factory compares data before
and after an evolution. ``values_load`` inserts rows (model name → list of {field name:
value}) in order, for demos and tests. Imports only Django and the standard library
(``factory`` is factory-boy in this process).
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db import transaction


def values_dump(app_label: str) -> dict[str, dict[str, dict[str, Any]]]:
    dump: dict[str, dict[str, dict[str, Any]]] = {}
    for model in apps.get_app_config(app_label).get_models():
        fields = [field for field in model._meta.concrete_fields if not field.primary_key]
        rows: dict[str, dict[str, Any]] = {}
        for row in model._base_manager.order_by("pk"):
            values: dict[str, Any] = {}
            for field in fields:
                raw = field.value_from_object(row)
                values[field.name] = None if raw is None else field.value_to_string(row)
            for field in model._meta.many_to_many:
                values[field.name] = sorted(
                    str(pk) for pk in getattr(row, field.name).values_list("pk", flat=True)
                )
            rows[str(row.pk)] = values
        dump[model.__name__] = rows
    return dump


@transaction.atomic
def values_load(app_label: str, rows_by_model: dict[str, list[dict[str, Any]]]) -> int:
    created = 0
    for model_name, rows in rows_by_model.items():
        model = apps.get_model(app_label, model_name)
        for values in rows:
            many = {
                field.name: values.pop(field.name)
                for field in model._meta.many_to_many
                if field.name in values
            }
            row = model(**values)
            row.save_base(raw=False)
            for name, pks in many.items():
                getattr(row, name).set(pks)
            created += 1
    return created
