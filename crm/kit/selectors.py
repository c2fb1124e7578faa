"""Read selectors of the kit's configuration tables, shared by the admin, the API and services.

Each answers a question about one app's own models or rows and never writes; the
dashboard's reads live in ``crm.kit.dashboard``.
"""

from __future__ import annotations

from django.apps import apps

from crm.kit.fields import ChoiceListField, MultipleChoiceListField


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
