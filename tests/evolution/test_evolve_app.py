"""An evolving compiled app keeps its data: renames, conversions, refusals, removals.

Each test creates the small recruiting app in a scratch project with rows, evolves its spec
through ``app_evolve`` (compile → makemigrations with the spec-diff questioner → migrate, in
subprocesses) and reads the values back from the database.
"""

from __future__ import annotations

import shutil
from decimal import Decimal

import pytest

from factory.evolution.plan import EvolutionRefused, MigrationPlan
from factory.evolution.services import (
    EvolutionFailed,
    app_code_write,
    app_evolve,
    app_step_run,
)
from tests.evolution.conftest import EVOLVING_APP, uses_postgres
from tests.evolution.specs import field_of, recruiting_spec

CANDIDATES = [
    {"full_name": "Ada Lovelace", "salary": 5000, "title": "CTO", "level": "Lead developer"},
    {"full_name": "Alan Turing", "salary": 4200, "title": "ML engineer", "level": "senior"},
    {"full_name": "Grace Hopper", "salary": None, "title": "", "level": " Junior "},
]
CLIENTS = [
    {"company_name": "Acme", "budget": "1200.50", "seniority": "senior"},
    {"company_name": "Globex", "budget": None, "seniority": ""},
    {"company_name": "Initech", "budget": "99.99", "seniority": "lead"},
]


def _recruiting_app_create(app_dir, database_url):
    report = app_evolve(
        old=None,
        new=recruiting_spec(),
        app_label=EVOLVING_APP,
        app_dir=app_dir,
        database_url=database_url,
        rows={"Candidate": CANDIDATES, "Client": CLIENTS},
        dump=True,
    )
    assert report.step.loaded == 6
    return report.step.values


@pytest.fixture(scope="module")
def recruiting_sqlite_original(tmp_path_factory):
    """On SQLite the app is created once; each test works on a copy of its folder and file."""
    if uses_postgres():
        return None
    root = tmp_path_factory.mktemp("recruiting")
    database = root / "db.sqlite3"
    values = _recruiting_app_create(root / EVOLVING_APP, f"sqlite:///{database}")
    return root / EVOLVING_APP, database, values


@pytest.fixture
def recruiting_app(recruiting_sqlite_original, app_dir, evolution_database_url):
    """The recruiting app, created and filled with three candidates and three clients."""
    if recruiting_sqlite_original is None:
        values = _recruiting_app_create(app_dir, evolution_database_url)
    else:
        original_dir, original_database, values = recruiting_sqlite_original
        shutil.copytree(original_dir, app_dir)
        shutil.copyfile(original_database, evolution_database_url.removeprefix("sqlite:///"))
    return recruiting_spec(), values


def _values(values, model, field):
    return [row[field] for _pk, row in sorted(values[model].items(), key=lambda i: int(i[0]))]


def _migration_files(app_dir):
    return sorted(path.name for path in (app_dir / "migrations").glob("0*.py"))


def _evolve(old, new, app_dir, database_url, **options):
    return app_evolve(
        old=old,
        new=new,
        app_label=EVOLVING_APP,
        app_dir=app_dir,
        database_url=database_url,
        dump=True,
        **options,
    )


def _current_values(app_dir, database_url):
    step = app_step_run(
        app_dir=app_dir,
        plan=MigrationPlan(app_label=EVOLVING_APP),
        database_url=database_url,
        dump=True,
    )
    assert step.migrations == []  # the models and their migrations agree
    return step.values


def test_renaming_a_field_and_its_entity_keeps_the_data(
    recruiting_app, app_dir, evolution_database_url
):
    old, _values_before = recruiting_app
    new = old.model_copy(deep=True)
    new.entity("candidate").name = "Applicant"
    new.entity("candidate").label = "applicant"
    salary = field_of(new, "candidate", "candidate_salary")
    salary.name = "expected_salary"
    salary.label = "expected salary"  # a label change too: Django alone would not ask

    report = _evolve(old, new, app_dir, evolution_database_url)

    operations = [
        (op["type"], op.get("old_name"), op.get("new_name")) for op in report.step.operations()
    ]
    assert ("RenameModel", "Candidate", "Applicant") in operations
    assert ("RenameField", "salary", "expected_salary") in operations
    kinds = {op["type"] for op in report.step.operations()}
    assert kinds.isdisjoint({"RemoveField", "AddField", "DeleteModel", "CreateModel"})
    values = report.step.values
    assert "Candidate" not in values
    assert _values(values, "Applicant", "expected_salary") == ["5000", "4200", None]
    assert _values(values, "Applicant", "full_name") == [c["full_name"] for c in CANDIDATES]


def test_integer_to_decimal_keeps_the_values(recruiting_app, app_dir, evolution_database_url):
    old, _values_before = recruiting_app
    new = old.model_copy(deep=True)
    salary = field_of(new, "candidate", "candidate_salary")
    salary.type = "decimal"
    salary.max_digits = 12
    salary.decimal_places = 2

    report = _evolve(old, new, app_dir, evolution_database_url)

    assert [op["type"] for op in report.step.operations()] == ["AlterField"]
    salaries = _values(report.step.values, "Candidate", "salary")
    assert [None if s is None else Decimal(s) for s in salaries] == [
        Decimal(5000),
        Decimal(4200),
        None,
    ]


def test_text_to_choice_maps_each_value_to_its_option(
    recruiting_app, app_dir, evolution_database_url
):
    old, _values_before = recruiting_app
    new = old.model_copy(deep=True)
    level = field_of(new, "candidate", "candidate_level")
    level.type = "choice"
    level.choice_list = "seniority"
    level.max_length = None

    report = _evolve(old, new, app_dir, evolution_database_url)

    assert [m["name"] for m in report.step.migrations] == [
        "0002_evolution_data",
        "0003_alter_candidate_level",
    ]
    assert _values(report.step.values, "Candidate", "level") == ["lead", "senior", "junior"]


def test_text_matching_no_option_is_refused_and_nothing_changes(
    recruiting_app, app_dir, evolution_database_url
):
    old, values_before = recruiting_app
    files_before = _migration_files(app_dir)
    models_before = (app_dir / "models.py").read_text()
    new = old.model_copy(deep=True)
    title = field_of(new, "candidate", "candidate_title")  # CTO, ML engineer: no such option
    title.type = "choice"
    title.choice_list = "seniority"
    title.max_length = None

    with pytest.raises(EvolutionRefused) as refused:
        _evolve(old, new, app_dir, evolution_database_url)

    assert refused.value.problems == [
        "Converts field title on Candidate (text → choice from list seniority) — each value is"
        " matched to an option by value or label; a value that matches none stops the change:"
        " 2 values match no option. Add options (or labels) matching those values, or give the"
        " field a default for values that match none."
    ]
    assert _migration_files(app_dir) == files_before
    assert (app_dir / "models.py").read_text() == models_before
    assert _current_values(app_dir, evolution_database_url) == values_before

    title.default = "junior"  # values that match no option now become junior: destructive
    report = _evolve(old, new, app_dir, evolution_database_url, confirm_destructive=True)

    assert _values(report.step.values, "Candidate", "title") == ["junior", "junior", ""]


def test_removing_a_field_is_destructive_with_the_exact_count(
    recruiting_app, app_dir, evolution_database_url
):
    old, values_before = recruiting_app
    files_before = _migration_files(app_dir)
    new = old.model_copy(deep=True)
    client = new.entity("client")
    client.fields = [f for f in client.fields if f.name != "budget"]

    with pytest.raises(EvolutionRefused) as refused:
        _evolve(old, new, app_dir, evolution_database_url)

    assert refused.value.problems == [
        "These changes can lose data and need an explicit confirmation: Removes field budget"
        " from Client: 2 values."
    ]
    assert _migration_files(app_dir) == files_before
    assert _current_values(app_dir, evolution_database_url) == values_before

    report = _evolve(old, new, app_dir, evolution_database_url, confirm_destructive=True)

    assert [op["type"] for op in report.step.operations()] == ["RemoveField"]
    assert report.step.values["Client"] == {
        pk: {name: value for name, value in row.items() if name != "budget"}
        for pk, row in values_before["Client"].items()
    }
    assert report.step.values["Candidate"] == values_before["Candidate"]
    assert [(item.count, item.sentence) for item in report.impact.impacts] == [
        (2, "Removes field budget from Client: 2 values")
    ]


def test_a_new_required_field_needs_a_value_for_existing_rows(
    recruiting_app, app_dir, evolution_database_url
):
    old, values_before = recruiting_app
    new = old.model_copy(deep=True)
    new.entity("client").fields.append(
        field_of(new, "client", "client_company_name").model_copy(
            update={"id": "client_city", "name": "city", "label": "city", "max_length": 80}
        )
    )

    with pytest.raises(EvolutionRefused) as refused:
        _evolve(old, new, app_dir, evolution_database_url)

    assert refused.value.problems == [
        "Adds required field city (text) to Client, with no default — existing rows need a"
        " value. Give field city a default in the spec, or a value for the existing rows, or"
        " make it optional."
    ]
    assert _current_values(app_dir, evolution_database_url) == values_before

    report = _evolve(
        old, new, app_dir, evolution_database_url, fill_values={"client_city": "Paris"}
    )

    assert _values(report.step.values, "Client", "city") == ["Paris", "Paris", "Paris"]
    assert report.step.answers == [
        {"question": "Value for existing rows of new field client.city?", "answer": "'Paris'"}
    ]


def test_an_incompatible_type_change_replaces_the_field_and_discards_only_its_values(
    recruiting_app, app_dir, evolution_database_url
):
    old, values_before = recruiting_app
    new = old.model_copy(deep=True)
    title = field_of(new, "candidate", "candidate_title")
    title.name, title.type, title.max_length = "title_code", "integer", None

    report = _evolve(old, new, app_dir, evolution_database_url, confirm_destructive=True)

    assert [item.sentence for item in report.impact.impacts] == [
        "Renames field title to title_code on Candidate — keeps all values (2 values)",
        "Changes field title_code on Candidate (text → integer) — the values cannot convert"
        " and are discarded: 2 values",
    ]
    operations = [(op["type"], op.get("name")) for op in report.step.operations()]
    assert operations == [("RemoveField", "title"), ("AddField", "title_code")]
    values = report.step.values["Candidate"]
    assert [row["title_code"] for row in values.values()] == [None, None, None]
    for pk, row in values.items():
        kept = {k: v for k, v in values_before["Candidate"][pk].items() if k != "title"}
        assert {k: v for k, v in row.items() if k != "title_code"} == kept


def test_a_failing_migrate_moves_the_database_back(recruiting_app, app_dir, evolution_database_url):
    old, _values_before = recruiting_app
    plan = MigrationPlan(app_label=EVOLVING_APP)
    duplicate = {"Client": [{"company_name": "Acme", "budget": "1.00", "seniority": ""}]}
    values_before = app_step_run(
        app_dir=app_dir, plan=plan, database_url=evolution_database_url, rows=duplicate, dump=True
    ).values
    new = old.model_copy(deep=True)
    field_of(new, "client", "client_company_name").unique = True
    app_code_write(spec=new, app_label=EVOLVING_APP, app_dir=app_dir)

    with pytest.raises(EvolutionFailed) as failed:
        app_step_run(app_dir=app_dir, plan=plan, database_url=evolution_database_url)

    assert failed.value.stage == "migrate"
    assert str(failed.value).endswith("The database was moved back to migration 0001_initial.")
    (app_dir / "migrations" / "0002_alter_client_company_name.py").unlink()
    app_code_write(spec=old, app_label=EVOLVING_APP, app_dir=app_dir)
    assert _current_values(app_dir, evolution_database_url) == values_before
