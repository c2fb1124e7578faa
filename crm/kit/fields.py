"""Model fields of the kit: values drawn from an app's editable choice lists.

``ChoiceListField`` stores an option's value (a slug) in a plain column, so renaming a
label never touches rows and a text column can become a choice column by mapping values.
The allowed values are read from the app's own ``ChoiceOption`` table when a form is built
or a value validated, never frozen into migrations.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models

from crm.kit.registry import kit_model


def choice_list_options(app_label: str, list_key: str) -> list[tuple[str, str]]:
    """(value, label) of the active options of a list, in order."""
    option_model = kit_model(app_label, "ChoiceOption")
    return list(
        option_model.objects.filter(choice_list__key=list_key, is_active=True)
        .order_by("order", "label")
        .values_list("value", "label")
    )


class ChoiceListField(models.CharField):
    description = "A value from an editable choice list"

    def __init__(self, *args: Any, choice_list: str, **kwargs: Any) -> None:
        self.choice_list = choice_list
        kwargs.setdefault("max_length", 64)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["choice_list"] = self.choice_list
        if kwargs.get("max_length") == 64:
            del kwargs["max_length"]
        return name, path, args, kwargs

    def options(self) -> list[tuple[str, str]]:
        return choice_list_options(self.model._meta.app_label, self.choice_list)

    def validate(self, value: Any, model_instance: models.Model | None) -> None:
        super().validate(value, model_instance)
        if value in self.empty_values:
            return
        if value not in {option for option, _label in self.options()}:
            raise ValidationError(
                f"{value!r} is not an active option of the list {self.choice_list!r}.",
                code="invalid_choice",
            )

    def formfield(self, **kwargs: Any) -> forms.Field:
        def choices() -> list[tuple[str, str]]:
            empty = [] if not self.blank and self.has_default() else [("", "---------")]
            return empty + self.options()

        defaults: dict[str, Any] = {
            "choices": choices,
            "required": not self.blank,
            "label": self.verbose_name.capitalize() if self.verbose_name else None,
            "help_text": self.help_text,
            "initial": self.get_default() if self.has_default() else None,
        }
        defaults.update({k: v for k, v in kwargs.items() if k in {"label", "help_text"}})
        return forms.ChoiceField(**defaults)


class MultipleChoiceListField(models.JSONField):
    """Several values from one choice list, stored as a JSON list of option values."""

    description = "Several values from an editable choice list"

    def __init__(self, *args: Any, choice_list: str, **kwargs: Any) -> None:
        self.choice_list = choice_list
        kwargs.setdefault("default", list)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["choice_list"] = self.choice_list
        return name, path, args, kwargs

    def options(self) -> list[tuple[str, str]]:
        return choice_list_options(self.model._meta.app_label, self.choice_list)

    def validate(self, value: Any, model_instance: models.Model | None) -> None:
        super().validate(value, model_instance)
        if not value:
            return
        if not isinstance(value, list):
            raise ValidationError("Expected a list of option values.", code="invalid")
        allowed = {option for option, _label in self.options()}
        unknown = [item for item in value if item not in allowed]
        if unknown:
            raise ValidationError(
                f"{unknown!r} are not active options of the list {self.choice_list!r}.",
                code="invalid_choice",
            )

    def formfield(self, **kwargs: Any) -> forms.Field:
        return forms.TypedMultipleChoiceField(
            choices=self.options,
            required=not self.blank,
            label=self.verbose_name.capitalize() if self.verbose_name else None,
            help_text=self.help_text,
            widget=forms.CheckboxSelectMultiple,
        )
