"""Describes models as plain data, so models of two processes can be compared.

Used by the sandbox check (``describe_models``) to report a compiled app's models as JSON,
and by the tests to describe ``crm``'s models in the test process. Only Django is imported.
"""

from __future__ import annotations

from typing import Any

from django.db import models


def field_describe(field: Any) -> dict[str, Any]:
    """The properties of a field that define its column and its relation."""
    description: dict[str, Any] = {
        "class": type(field).__name__,
        "internal_type": field.get_internal_type(),
        "null": field.null,
        "blank": field.blank,
        "unique": field.unique if field.concrete else False,
        "db_index": getattr(field, "db_index", False),
        "max_length": field.max_length,
        "max_digits": getattr(field, "max_digits", None),
        "decimal_places": getattr(field, "decimal_places", None),
        "choice_list": getattr(field, "choice_list", None),
        "related_model": field.related_model.__name__ if field.related_model else None,
        "on_delete": None,
        "related_name": None,
        "through": None,
        "verbose_name": str(field.verbose_name),
        "help_text": str(field.help_text),
    }
    remote = getattr(field, "remote_field", None)
    if remote is not None:
        on_delete = getattr(remote, "on_delete", None)
        description["on_delete"] = on_delete.__name__ if on_delete else None
        description["related_name"] = remote.related_name
        through = getattr(remote, "through", None)
        if through is not None and not through._meta.auto_created:
            description["through"] = through.__name__
    return description


def model_describe(model: type[models.Model]) -> dict[str, Any]:
    """Fields (own and inherited, forward only) and the options that shape the table."""
    fields = {
        field.name: field_describe(field)
        for field in model._meta.get_fields()
        if not (field.auto_created and not field.concrete)
    }
    return {
        "base": model.__bases__[0].__name__,
        "fields": fields,
        "pipeline_stage_field": getattr(model, "pipeline_stage_field", None),
        "verbose_name": str(model._meta.verbose_name),
        "verbose_name_plural": str(model._meta.verbose_name_plural),
    }


def app_models_describe(app_label: str) -> dict[str, Any]:
    """Every model of an installed app, by class name."""
    from django.apps import apps

    return {
        model.__name__: model_describe(model)
        for model in apps.get_app_config(app_label).get_models()
    }
