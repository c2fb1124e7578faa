"""The committed JSON Schema of app specs matches the models."""

from __future__ import annotations

import json

from factory.spec.io import SCHEMA_PATH, app_spec_schema_text


def test_committed_schema_is_current() -> None:
    committed = SCHEMA_PATH.read_text(encoding="utf-8") if SCHEMA_PATH.exists() else ""
    assert committed == app_spec_schema_text(), (
        "factory/spec/app_spec.schema.json is out of date with factory/spec/models.py; "
        "regenerate it with `python manage.py factory spec schema --write` and commit it."
    )


def test_schema_is_deterministic_json_with_sorted_keys() -> None:
    text = app_spec_schema_text()
    assert text == app_spec_schema_text()
    assert text.endswith("}\n")
    assert json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n" == text
