"""Helpers for spec tests: the template as plain data, loading data, finding problems."""

from __future__ import annotations

import copy
import json
from typing import Any

from factory.spec.io import spec_load
from factory.spec.models import AppSpec
from factory.spec.template import template_app_spec
from factory.spec.validation import SpecInvalid, SpecProblem, validate_app_spec

_TEMPLATE_DATA = template_app_spec().model_dump(mode="json")


def template_data() -> dict[str, Any]:
    """A fresh, fully spelled-out copy of the template spec as plain data."""
    return copy.deepcopy(_TEMPLATE_DATA)


def load_problems(data: Any) -> list[SpecProblem]:
    """The problems spec_load reports for ``data`` (JSON-encoded); [] when it loads."""
    try:
        spec_load(text=json.dumps(data))
    except SpecInvalid as invalid:
        return invalid.problems
    return []


def spec_problems(spec: AppSpec) -> list[SpecProblem]:
    """validate_app_spec's problems, checking that validating changed nothing."""
    before = spec.model_dump(mode="json")
    problems = validate_app_spec(spec)
    assert spec.model_dump(mode="json") == before
    return problems


def entity(data: dict[str, Any], entity_id: str) -> dict[str, Any]:
    return next(item for item in data["entities"] if item["id"] == entity_id)


def field(data: dict[str, Any], entity_id: str, field_id: str) -> dict[str, Any]:
    return next(item for item in entity(data, entity_id)["fields"] if item["id"] == field_id)


def new_field(field_id: str, name: str, type_: str = "text", **options: Any) -> dict[str, Any]:
    return {"id": field_id, "name": name, "label": name.replace("_", " "), "type": type_, **options}


def assert_problem(problems: list[SpecProblem], path: str, phrase: str) -> None:
    """Some problem has exactly ``path`` and a message containing ``phrase``."""
    at_path = [problem.message for problem in problems if problem.path == path]
    assert at_path, f"no problem at {path!r}; got: {[str(p) for p in problems]}"
    assert any(phrase in message for message in at_path), (
        f"no message at {path!r} contains {phrase!r}; got: {at_path}"
    )
