"""Loading and dumping specs: strict YAML/JSON reading, paths with ids, deterministic output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from factory.spec.io import (
    spec_as_data,
    spec_dump,
    spec_load,
    suggest_class_name,
    suggest_identifier,
)
from factory.spec.template import template_app_spec
from factory.spec.validation import SpecInvalid, SpecProblem
from tests.spec.support import assert_problem, entity, load_problems, template_data


def problems_of_text(text: str) -> list[SpecProblem]:
    with pytest.raises(SpecInvalid) as caught:
        spec_load(text=text)
    return caught.value.problems


def test_load_from_a_yaml_and_a_json_file(tmp_path: Path) -> None:
    spec = template_app_spec()
    (tmp_path / "crm.yaml").write_text(spec_dump(spec), encoding="utf-8")
    (tmp_path / "crm.json").write_text(spec_dump(spec, fmt="json"), encoding="utf-8")
    assert spec_load(path=tmp_path / "crm.yaml") == spec
    assert spec_load(path=tmp_path / "crm.json") == spec


def test_load_needs_exactly_one_source() -> None:
    message = r"^spec_load needs exactly one of text= or path=\.$"
    with pytest.raises(TypeError, match=message):
        spec_load()
    with pytest.raises(TypeError, match=message):
        spec_load(text="name: x", path=Path("x.yaml"))


def test_missing_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    with pytest.raises(SpecInvalid) as caught:
        spec_load(path=missing)
    assert caught.value.problems == [
        SpecProblem("", f"Cannot read {missing}: No such file or directory. Check the path.")
    ]


def test_not_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: Café".encode("latin-1"))
    with pytest.raises(SpecInvalid) as caught:
        spec_load(path=path)
    assert caught.value.problems == [
        SpecProblem("", "The file is not UTF-8 text; save it as UTF-8.")
    ]


def test_yaml_syntax_error() -> None:
    [problem] = problems_of_text("name: [unclosed")
    assert problem.path == ""
    assert problem.message.startswith("This is not valid YAML:")


def test_json_syntax_error_in_json_file(tmp_path: Path) -> None:
    path = tmp_path / "spec.json"
    path.write_text('{"name": }', encoding="utf-8")
    with pytest.raises(SpecInvalid, match="This is not valid JSON"):
        spec_load(path=path)


def test_a_spec_must_be_a_mapping() -> None:
    [problem] = problems_of_text("- a\n- b\n")
    assert problem == SpecProblem(
        "",
        "A spec must be a mapping with keys such as name, entities and choice_lists; start "
        "from `python manage.py factory spec export-template`.",
    )


def test_yaml_aliases_are_refused() -> None:
    [problem] = problems_of_text("name: &n CRM\ndescription: *n\n")
    assert problem == SpecProblem(
        "",
        "YAML anchors and aliases (&name, *name) are not allowed in a spec (the value from "
        "line 1 is reused); write the value out in full.",
    )


def test_duplicate_keys_are_refused_in_yaml_and_json() -> None:
    [problem] = problems_of_text("name: A\nname: B\n")
    assert problem.message == "The key 'name' appears twice in one mapping; keep only one."
    [problem] = problems_of_text('{"name": "A", "name": "B"}')
    assert problem == SpecProblem("", "The key 'name' appears twice in one mapping; keep only one.")


def test_yaml_words_and_dates_stay_text() -> None:
    text = spec_dump(template_app_spec())
    text = text.replace("name: CRM", "name: on")
    assert spec_load(text=text).name == "on"
    text = text.replace("name: on", "name: 2025-01-31")
    assert spec_load(text=text).name == "2025-01-31"
    text = text.replace("name: 2025-01-31", "name: =")
    assert spec_load(text=text).name == "="


def test_shape_errors_get_paths_with_ids() -> None:
    data = template_data()
    entity(data, "deal")["fields"][2]["max_length"] = "long"
    entity(data, "contact")["colour"] = "red"
    del data["name"]
    problems = load_problems(data)
    assert_problem(problems, "entities[deal].fields[deal_amount].max_length", "valid integer")
    assert_problem(problems, "entities[contact].colour", "not part of the spec")
    assert_problem(problems, "name", "This key is required; add it.")


def test_shape_errors_inside_triggers_and_role_permissions() -> None:
    data = template_data()
    data["automations"] = [
        {
            "id": "bill",
            "name": "Bill",
            "entity": "deal",
            "trigger": {"kind": "stage_entered", "stage": "Won!"},
            "actions": [{"kind": "create_task", "title": ""}],
        }
    ]
    data["roles"][0]["permissions"]["deal"] = ["fly"]
    problems = load_problems(data)
    assert_problem(problems, "automations[bill].trigger.stage", "for example 'won'")
    assert_problem(problems, "automations[bill].actions[0].title", "at least 1 character")
    assert_problem(problems, "roles[admin].permissions[deal][0]", "'view', 'add'")


def test_unknown_trigger_kind() -> None:
    data = template_data()
    data["automations"] = [
        {
            "id": "bill",
            "name": "Bill",
            "entity": "deal",
            "trigger": {"kind": "every_day"},
            "actions": [{"kind": "create_task", "title": "x"}],
        }
    ]
    assert_problem(load_problems(data), "automations[bill].trigger", "does not match any")


def test_hostile_ids_fall_back_to_indexes_in_paths() -> None:
    data = template_data()
    data["entities"][0]["id"] = "bad]id"
    problems = load_problems(data)
    assert_problem(problems, "entities[0].id", "not a valid name or id")


@pytest.mark.parametrize(
    ("text", "identifier", "class_name"),
    [
        ("Prénom du client", "prenom_du_client", "PrenomDuClient"),
        ("étudiant", "etudiant", "Etudiant"),
        ("NumberOfSeats", "number_of_seats", "NumberOfSeats"),
        ("2nd phone", "f_2nd_phone", "F2ndPhone"),
        ("日本", "field_1", "Field1"),
    ],
)
def test_suggestions_for_bad_names(text: str, identifier: str, class_name: str) -> None:
    assert suggest_identifier(text) == identifier
    assert suggest_class_name(text) == class_name


def test_dump_leaves_defaults_out_but_keeps_kinds() -> None:
    data = spec_as_data(template_app_spec())
    company = data["entities"][0]
    assert "computed" not in company
    assert company["kind"] == "record"
    assert company["fields"][0] == {
        "id": "company_name",
        "name": "name",
        "label": "name",
        "type": "text",
        "required": True,
        "index": True,
        "max_length": 200,
    }
    assert list(data)[:3] == ["spec_version", "name", "description"]


def test_dump_keeps_trigger_and_action_kinds() -> None:
    data = template_data()
    data["automations"] = [
        {
            "id": "welcome",
            "name": "Welcome",
            "entity": "contact",
            "trigger": {"kind": "created"},
            "actions": [{"kind": "create_task", "title": "Call them"}],
        }
    ]
    spec = spec_load(text=json.dumps(data))
    text = spec_dump(spec)
    assert "kind: created" in text
    assert "kind: create_task" in text
    assert spec_load(text=text) == spec


def test_dump_rejects_unknown_format() -> None:
    with pytest.raises(ValueError, match="use 'yaml' or 'json'"):
        spec_dump(template_app_spec(), fmt="toml")


def test_unicode_labels_survive_a_round_trip() -> None:
    data = template_data()
    entity(data, "company")["label"] = "société ✓"
    spec = spec_load(text=json.dumps(data))
    for fmt in ("yaml", "json"):
        assert "société ✓" in spec_dump(spec, fmt=fmt)
        assert spec_load(text=spec_dump(spec, fmt=fmt)) == spec
