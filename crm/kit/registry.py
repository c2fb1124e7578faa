"""Finds an app's concrete kit models by convention.

Every app built on the kit defines its concrete notes, tasks, tags, choice lists,
pipelines and timeline under the names below; the kit looks them up in the app of the
record it works on, so two apps never write into each other's tables.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps

KIT_MODEL_NAMES = (
    "ChoiceList",
    "ChoiceOption",
    "Pipeline",
    "Stage",
    "StageChange",
    "TimelineEntry",
    "Note",
    "Task",
    "Tag",
    "TaggedItem",
    "Attachment",
    "RolePolicy",
)


def kit_model(app_label: str, name: str) -> type[Any]:
    """The concrete kit model ``name`` of the app ``app_label``.

    Typed ``Any``: the class exists only at runtime, in the app, and its managers and
    fields are the app's own (the abstract kit models declare no ``objects``).
    """
    if name not in KIT_MODEL_NAMES:
        raise LookupError(f"{name!r} is not a kit model; expected one of {KIT_MODEL_NAMES}.")
    return apps.get_model(app_label, name)


def app_has_kit(app_label: str) -> bool:
    try:
        apps.get_model(app_label, "TimelineEntry")
    except LookupError:
        return False
    return True
