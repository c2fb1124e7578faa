"""``python manage.py factory spec diff OLD NEW``: the plan in plain words, or JSON."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command

from crm.models import Company
from factory.spec.io import spec_dump
from factory.spec.template import template_app_spec


def _field(spec, entity_id, name):
    return next(f for f in spec.entity(entity_id).fields if f.name == name)


@pytest.fixture
def spec_files(tmp_path):
    old = template_app_spec()
    new = old.model_copy(deep=True)
    _field(new, "company", "description").name = "summary"
    company = new.entity("company")
    company.fields = [f for f in company.fields if f.name != "address"]
    old_path, new_path = tmp_path / "old.yaml", tmp_path / "new.yaml"
    old_path.write_text(spec_dump(old))
    new_path.write_text(spec_dump(new))
    return old_path, new_path


def _run(*args):
    stdout, stderr = StringIO(), StringIO()
    try:
        call_command("factory", "spec", "diff", *map(str, args), stdout=stdout, stderr=stderr)
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    return code, stdout.getvalue(), stderr.getvalue()


def test_plan_without_an_app_says_no_live_data_was_counted(spec_files):
    code, stdout, _stderr = _run(*spec_files)

    assert code == 0
    assert stdout == (
        "2 changes, overall: DESTRUCTIVE\n"
        "  safe             Renames field description to summary on Company — keeps all"
        " values\n"
        "  DESTRUCTIVE      Removes field address from Company\n"
        "No live data counted (name an installed app with --app to count values).\n"
        "1 destructive change: applying them needs an explicit confirmation, and the deploy"
        " backs up the tables first.\n"
    )


@pytest.mark.django_db
def test_plan_with_an_installed_app_counts_its_values(spec_files):
    Company.objects.create(name="Acme", description="Rockets", address="1 Main St")
    Company.objects.create(name="Globex", description="Everything", address="")

    code, stdout, _stderr = _run(*spec_files, "--app", "crm")

    assert code == 0
    assert stdout == (
        "2 changes, overall: DESTRUCTIVE\n"
        "  safe             Renames field description to summary on Company — keeps all values"
        " (2 values)\n"
        "  DESTRUCTIVE      Removes field address from Company: 1 value\n"
        "Values counted in the live data of app crm.\n"
        "1 destructive change: applying them needs an explicit confirmation, and the deploy"
        " backs up the tables first.\n"
    )
    assert sorted(Company.all_objects.values_list("name", "address")) == [
        ("Acme", "1 Main St"),
        ("Globex", ""),
    ]


@pytest.mark.django_db
def test_json_output_lists_each_change_with_its_class_and_count(spec_files):
    Company.objects.create(name="Acme", description="Rockets", address="1 Main St")

    code, stdout, _stderr = _run(*spec_files, "--app", "crm", "--json")

    assert code == 0
    plan = json.loads(stdout)
    assert (plan["classification"], plan["counted"]) == ("destructive", True)
    assert [(c["kind"], c["classification"], c["count"]) for c in plan["changes"]] == [
        ("field_renamed", "safe", 1),
        ("field_removed", "destructive", 1),
    ]


def test_unknown_app_is_refused_with_the_labels_to_choose_from(spec_files):
    code, stdout, stderr = _run(*spec_files, "--app", "nope")

    labels = ", ".join(sorted(config.label for config in apps.get_app_configs()))
    assert (code, stdout) == (2, "")
    assert stderr == (
        f"No installed app has the label 'nope'; name one of {labels}, or leave out --app.\n"
    )


def test_an_invalid_spec_file_is_reported(spec_files, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")

    code, stdout, stderr = _run(spec_files[0], broken)

    assert (code, stdout) == (1, "")
    assert stderr == (
        f"{broken}: The app spec has 1 problem:\n"
        '- (spec): This is not valid YAML: while parsing a flow sequence in "<unicode string>",'
        " line 1, column 7 did not find expected ',' or ']' in \"<unicode string>\", line 2,"
        " column 1. Fix the syntax.\n"
    )
