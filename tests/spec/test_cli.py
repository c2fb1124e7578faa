"""``manage.py factory spec ...``: validate (exit codes, JSON), export-template, schema."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

import factory.cli.spec as spec_cli
from factory.spec.io import app_spec_schema_text, spec_dump, spec_load
from factory.spec.template import template_app_spec
from tests.spec.support import entity, template_data


def factory_command(*args: str) -> tuple[int, str, str]:
    stdout, stderr = StringIO(), StringIO()
    try:
        call_command("factory", *args, stdout=stdout, stderr=stderr)
    except SystemExit as exit_:
        return int(exit_.code or 0), stdout.getvalue(), stderr.getvalue()
    return 0, stdout.getvalue(), stderr.getvalue()


@pytest.fixture
def valid_file(tmp_path: Path) -> Path:
    path = tmp_path / "crm.yaml"
    path.write_text(spec_dump(template_app_spec()), encoding="utf-8")
    return path


@pytest.fixture
def invalid_file(tmp_path: Path) -> Path:
    data = template_data()
    entity(data, "company")["fields"][0]["name"] = "select"
    entity(data, "deal")["fields"][1]["target"] = "organisation"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_validate_a_valid_spec(valid_file: Path) -> None:
    code, out, err = factory_command("spec", "validate", str(valid_file))
    assert code == 0
    assert out == (
        f"{valid_file}: valid (6 entities, 6 choice lists, 2 pipelines, 0 automations, 4 roles)\n"
    )
    assert err == ""


def test_validate_lists_each_problem_and_exits_1(invalid_file: Path) -> None:
    code, out, err = factory_command("spec", "validate", str(invalid_file))
    assert code == 1
    assert out == ""
    lines = err.splitlines()
    assert lines[0] == f"{invalid_file}: {len(lines) - 1} problems"
    assert (
        "entities[company].fields[company_name].name: 'select' cannot be used as a name: it is "
        "an SQL keyword; rename it (for example 'company_select')."
    ) in lines
    assert (
        "entities[deal].fields[deal_company].target: no entity has the id 'organisation'; use "
        "one of: company, contact, contact_email, contact_phone, deal, deal_contact."
    ) in lines


def test_validate_json_output(valid_file: Path, invalid_file: Path) -> None:
    code, out, _err = factory_command("spec", "validate", str(valid_file), "--json")
    assert code == 0
    assert json.loads(out) == {"valid": True, "problems": []}
    code, out, _err = factory_command("spec", "validate", str(invalid_file), "--json")
    assert code == 1
    result = json.loads(out)
    assert result["valid"] is False
    assert {
        "path": "entities[deal].fields[deal_company].target",
        "message": "no entity has the id 'organisation'; use one of: company, contact, "
        "contact_email, contact_phone, deal, deal_contact.",
    } in result["problems"]
    assert all(set(problem) == {"path", "message"} for problem in result["problems"])


def test_validate_a_missing_file(tmp_path: Path) -> None:
    code, out, _err = factory_command("spec", "validate", str(tmp_path / "nope.yaml"), "--json")
    assert code == 1
    [problem] = json.loads(out)["problems"]
    assert problem["path"] == ""
    assert problem["message"].startswith("Cannot read")


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_export_template_prints_the_spec(fmt: str) -> None:
    code, out, _err = factory_command("spec", "export-template", "--format", fmt)
    assert code == 0
    assert out == spec_dump(template_app_spec(), fmt=fmt)
    assert spec_load(text=out) == template_app_spec()


def test_export_template_to_a_file(tmp_path: Path) -> None:
    out_path = tmp_path / "template.yaml"
    code, out, _err = factory_command("spec", "export-template", "--out", str(out_path))
    assert code == 0
    assert out == f"Wrote the template spec to {out_path}.\n"
    assert out_path.read_text(encoding="utf-8") == spec_dump(template_app_spec())


def test_schema_prints_the_json_schema() -> None:
    code, out, _err = factory_command("spec", "schema")
    assert code == 0
    assert out == app_spec_schema_text()
    assert json.loads(out)["title"] == "AppSpec"


def test_schema_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "app_spec.schema.json"
    monkeypatch.setattr(spec_cli, "SCHEMA_PATH", target)
    code, out, _err = factory_command("spec", "schema", "--write")
    assert code == 0
    assert out == "Wrote app_spec.schema.json.\n"
    assert target.read_text(encoding="utf-8") == app_spec_schema_text()
