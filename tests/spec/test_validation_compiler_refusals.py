"""Validation catches what the compiler would refuse, so only validation errors come out.

Required relations in a circle, entity endpoints that clash with the kit's or with each
other, filters on fields that cannot filter, and decimal defaults longer than Python writes
exactly: each is a ``SpecProblem`` naming the place, never a ``CompileError`` or a crash.
"""

from __future__ import annotations

from typing import Any

import pytest

from factory.spec.models import AppSpec
from tests.spec.support import (
    assert_problem,
    entity,
    field,
    new_field,
    spec_problems,
    template_data,
)

CYCLE_MESSAGE_END = "make one of these relations optional (required: false)."


def problems_of(data: dict[str, Any]) -> list:
    return spec_problems(AppSpec.model_validate(data))


def require(data: dict[str, Any], entity_id: str, field_id: str) -> None:
    field(data, entity_id, field_id).update(required=True, on_delete="protect")


def add_relation(data: dict[str, Any], entity_id: str, name: str, target: str) -> None:
    entity(data, entity_id)["fields"].append(
        new_field(
            f"{entity_id}_{name}",
            name,
            "relation",
            target=target,
            required=True,
            on_delete="protect",
            related_name=f"{name}_of",
        )
    )


# --- required relations in a circle ----------------------------------------------------------


def test_two_entities_requiring_each_other_are_refused_with_the_cycle_named():
    data = template_data()
    require(data, "contact", "contact_company")
    add_relation(data, "company", "main_contact", "contact")

    problems = problems_of(data)

    assert [str(problem) for problem in problems] == [
        "entities[company].fields[company_main_contact].required: the required relations"
        " Company.main_contact → Contact.company → Company form a cycle, so no record of them"
        " could ever be created first; " + CYCLE_MESSAGE_END
    ]


def test_a_required_relation_to_its_own_entity_is_refused():
    data = template_data()
    add_relation(data, "contact", "manager", "contact")

    problems = problems_of(data)

    assert [str(problem) for problem in problems] == [
        "entities[contact].fields[contact_manager].required: the required relation"
        " Contact.manager points back to Contact, so the first contact could never be created;"
        " make it optional (required: false)."
    ]


def test_a_longer_cycle_is_reported_once_and_entities_behind_it_are_not():
    data = template_data()
    require(data, "contact", "contact_company")
    add_relation(data, "company", "main_deal", "deal")
    add_relation(data, "deal", "main_contact", "contact")

    problems = problems_of(data)

    # deal_contact and contact_email require deal and contact: behind the circle, not in it.
    assert len(problems) == 1
    assert_problem(
        problems,
        "entities[company].fields[company_main_deal].required",
        "Company.main_deal → Deal.main_contact → Contact.company → Company form a cycle",
    )


def test_two_separate_cycles_are_both_reported():
    data = template_data()
    add_relation(data, "contact", "manager", "contact")
    add_relation(data, "deal", "parent_deal", "deal")

    paths = [problem.path for problem in problems_of(data)]

    assert paths == [
        "entities[contact].fields[contact_manager].required",
        "entities[deal].fields[deal_parent_deal].required",
    ]


def test_one_optional_relation_opens_the_cycle():
    data = template_data()
    require(data, "contact", "contact_company")
    add_relation(data, "company", "main_contact", "contact")
    field(data, "company", "company_main_contact").update(required=False, on_delete="set_null")

    assert problems_of(data) == []


# --- API endpoints ---------------------------------------------------------------------------


def add_entity(data: dict[str, Any], entity_id: str, name: str, **options: Any) -> None:
    data["entities"].append(
        {"id": entity_id, "name": name, "label": name.lower(), "label_plural": "items", **options}
    )


@pytest.mark.parametrize(
    ("entity_id", "clash", "owner"),
    [
        ("task", "tasks", "the kit's own 'tasks' endpoint"),
        ("note", "notes", "the kit's own 'notes' endpoint"),
        ("tag", "tags", "the kit's own 'tags' endpoint"),
        ("choice_list", "choice-lists", "the kit's own 'choice-lists' endpoint"),
        ("pipeline", "pipelines", "the kit's own 'pipelines' endpoint"),
        ("timeline", "timeline", "the kit's own 'timeline' endpoint"),
        ("timeline_entry", "timeline-entry", "the kit's own 'timeline' endpoint"),
        ("stage_change", "stage-changes", "the kit's own 'stage-changes' endpoint"),
        ("deals", "deals", "entities[deal]"),
    ],
)
def test_an_entity_whose_endpoint_clashes_is_refused(entity_id, clash, owner):
    data = template_data()
    add_entity(data, entity_id, "Item")

    problems = problems_of(data)

    assert len(problems) == 1
    assert_problem(problems, f"entities[{entity_id}].id", f"{clash!r} is already used by {owner}")
    assert problems[0].message.endswith(
        "give the entity another id, or turn its API off (api.enabled: false)."
    )


def test_endpoints_of_two_new_entities_clash_with_each_other():
    data = template_data()
    add_entity(data, "box", "Box")
    add_entity(data, "boxe", "Boxe")  # both would be at 'boxes'

    problems = problems_of(data)

    assert [problem.path for problem in problems] == ["entities[boxe].id"]
    assert_problem(
        problems,
        "entities[boxe].id",
        "would be at 'boxes' with the route name 'boxe', but 'boxes' is already used by "
        "entities[box]",
    )


def test_an_entity_without_api_may_use_a_kit_name():
    data = template_data()
    add_entity(data, "task", "Job", api={"enabled": False})

    assert problems_of(data) == []


# --- filters ---------------------------------------------------------------------------------


def unfilterable_fields(data: dict[str, Any]) -> None:
    entity(data, "company")["fields"] += [
        new_field("company_sectors", "sectors", "multi_choice", choice_list="industry"),
        new_field("company_logo", "logo", "file"),
    ]


@pytest.mark.parametrize(
    ("entity_id", "section", "key", "names"),
    [
        ("company", "admin", "list_filter", ["sectors", "logo"]),
        ("company", "api", "filter_fields", ["sectors", "logo"]),
        ("contact", "admin", "list_filter", ["company.sectors", "company.logo"]),
        ("contact", "api", "filter_fields", ["company.sectors", "company.logo"]),
    ],
)
def test_filters_on_multiple_choice_and_file_fields_are_refused(entity_id, section, key, names):
    data = template_data()
    unfilterable_fields(data)
    entity(data, entity_id)[section][key] = names

    problems = problems_of(data)

    assert len(problems) == 2
    for index, kind in enumerate(("multi choice", "file")):
        assert_problem(
            problems,
            f"entities[{entity_id}].{section}.{key}[{index}]",
            f"({kind}) cannot be used in filters",
        )


# --- decimal defaults ------------------------------------------------------------------------


def test_a_decimal_default_longer_than_python_writes_exactly_is_refused_not_a_crash():
    data = template_data()
    options = {"max_digits": 30, "decimal_places": 10}
    entity(data, "deal")["fields"] += [
        new_field(
            "deal_rate", "rate", "decimal", default="12345678901234567890.1234567890", **options
        ),
        new_field(
            "deal_ratio", "ratio", "decimal", default="1234567890123456789.12345678901", **options
        ),
        new_field("deal_share", "share", "decimal", default="123456789012345678.12", **options),
    ]

    problems = problems_of(data)

    assert [problem.path for problem in problems] == [
        "entities[deal].fields[deal_rate].default",
        "entities[deal].fields[deal_ratio].default",
    ]
    assert all(
        "more digits than can be written exactly (28 at most, counting 10 decimal places)"
        in problem.message
        for problem in problems
    )
