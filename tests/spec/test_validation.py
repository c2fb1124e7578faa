"""Spec validation: each refusal names the exact place and says what to do."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from factory.spec.models import AppSpec
from factory.spec.template import template_app_spec
from factory.spec.validation import SpecInvalid, SpecProblem
from tests.spec.support import (
    assert_problem,
    entity,
    field,
    load_problems,
    new_field,
    spec_problems,
    template_data,
)

Mutation = Callable[[dict[str, Any]], None]


def add_company_field(name: str, type_: str = "text", **options: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        entity(data, "company")["fields"].append(new_field("company_x", name, type_, **options))

    return mutate


def set_field(entity_id: str, field_id: str, **changes: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        field(data, entity_id, field_id).update(changes)

    return mutate


def set_entity(entity_id: str, **changes: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        entity(data, entity_id).update(changes)

    return mutate


def set_admin(entity_id: str, **changes: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        entity(data, entity_id)["admin"].update(changes)

    return mutate


def set_api(entity_id: str, **changes: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        entity(data, entity_id)["api"].update(changes)

    return mutate


def add_entity(entity_id: str, name: str, **extra: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        data["entities"].append(
            {"id": entity_id, "name": name, "label": "x", "label_plural": "xs", **extra}
        )

    return mutate


def add_automation(**automation: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        data["automations"].append({"id": "auto", "name": "Automation", **automation})

    return mutate


def add_computed(name: str, expression: str, type_: str = "money") -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        entity(data, "deal")["computed"].append(
            {
                "id": f"deal_{name}",
                "name": name,
                "label": name,
                "type": type_,
                "expression": expression,
            }
        )

    return mutate


def both(*mutations: Mutation) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        for mutation in mutations:
            mutation(data)

    return mutate


def mutate_pipeline(pipeline_id: str, **changes: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        next(p for p in data["pipelines"] if p["id"] == pipeline_id).update(changes)

    return mutate


def drop_pipelines(data: dict[str, Any]) -> None:
    data["pipelines"] = []


def duplicate_stage_id(data: dict[str, Any]) -> None:
    data["pipelines"][1]["stages"][0]["id"] = "sales_lead"


def drop_task_status(data: dict[str, Any]) -> None:
    data["choice_lists"] = [c for c in data["choice_lists"] if c["key"] != "task_status"]


def duplicate_option(data: dict[str, Any]) -> None:
    industry = next(c for c in data["choice_lists"] if c["key"] == "industry")
    industry["options"].append({"value": "software", "label": "Software again"})


def unknown_permission_entity(data: dict[str, Any]) -> None:
    data["roles"][0]["permissions"]["invoice"] = ["view"]


def duplicate_role_name(data: dict[str, Any]) -> None:
    data["roles"][1]["name"] = "admin"


F = "entities[company].fields[company_x]"

CASES: list[tuple[str, Mutation, str, str]] = [
    # reserved or invalid identifiers
    ("python keyword", add_company_field("class"), f"{F}.name", "Python keyword"),
    ("soft keyword", add_company_field("match"), f"{F}.name", "Python keyword"),
    ("id", add_company_field("id"), f"{F}.name", "primary key"),
    ("pk", add_company_field("pk"), f"{F}.name", "primary key"),
    ("objects", add_company_field("objects"), f"{F}.name", "Django models already use it"),
    ("all_objects", add_company_field("all_objects"), f"{F}.name", "every CRM record"),
    ("save", add_company_field("save"), f"{F}.name", "Django models already use it"),
    ("delete", add_company_field("delete"), f"{F}.name", "Django models already use it"),
    ("clean", add_company_field("clean"), f"{F}.name", "Django models already use it"),
    ("full_clean", add_company_field("full_clean"), f"{F}.name", "Django models"),
    ("created_at", add_company_field("created_at"), f"{F}.name", "every CRM record"),
    ("owner", add_company_field("owner"), f"{F}.name", "every CRM record"),
    ("deleted_at", add_company_field("deleted_at"), f"{F}.name", "every CRM record"),
    ("archive", add_company_field("archive"), f"{F}.name", "every CRM record"),
    ("notes", add_company_field("notes"), f"{F}.name", "every CRM record"),
    ("tagged_items", add_company_field("tagged_items"), f"{F}.name", "every CRM record"),
    ("sql select", add_company_field("select"), f"{F}.name", "SQL keyword"),
    ("sql order", add_company_field("order"), f"{F}.name", "SQL keyword"),
    ("sql user", add_company_field("user"), f"{F}.name", "SQL keyword"),
    ("expression word", add_company_field("none"), f"{F}.name", "value in expressions"),
    ("double underscore", add_company_field("a__b"), f"{F}.name", "__"),
    ("trailing underscore", add_company_field("name_"), f"{F}.name", "underscore"),
    ("generated code name", add_company_field("models"), f"{F}.name", "generated code"),
    ("display method", add_company_field("get_x_display"), f"{F}.name", "Django generates"),
    ("leading underscore", add_company_field("_secret"), f"{F}.name", "lowercase ASCII"),
    ("dunder import", add_company_field("__import__"), f"{F}.name", "lowercase ASCII"),
    ("non-ascii name", add_company_field("prénom"), f"{F}.name", "for example 'prenom'"),
    (
        "non-ascii class",
        add_entity("student", "Étudiant"),
        "entities[student].name",
        "for example 'Etudiant'",
    ),
    ("class Meta", add_entity("meta", "Meta"), "entities[meta].name", "generated code"),
    ("class keyword", add_entity("none", "None"), "entities[none].name", "Python keyword"),
    # class name collisions
    ("kit class Task", add_entity("todo", "Task"), "entities[todo].name", "kit already defines"),
    ("kit class case", add_entity("tag", "TAG"), "entities[tag].name", "kit already defines"),
    (
        "kit class Pipeline",
        add_entity("flow", "Pipeline"),
        "entities[flow].name",
        "kit already defines",
    ),
    ("class collision", add_entity("deal_2", "DEAL"), "entities[deal_2].name", "ignoring case"),
    (
        "generated class collision",
        add_entity("deal_admin", "DealAdmin"),
        "entities[deal_admin].name",
        "generates a class 'DealAdmin'",
    ),
    # duplicate ids and names
    ("duplicate entity id", add_entity("deal", "Offer"), "entities[deal].id", "already used"),
    (
        "duplicate field id",
        set_field("contact", "contact_phone", id="company_name"),
        "entities[contact].fields[company_name].id",
        "already used by entities[company].fields[company_name]",
    ),
    (
        "duplicate stage id",
        duplicate_stage_id,
        "pipelines[renewals].stages[sales_lead].id",
        "already used by pipelines[sales].stages[sales_lead]",
    ),
    (
        "duplicate field name",
        add_company_field("city"),
        f"{F}.name",
        "already used by entities[company].fields[company_city]",
    ),
    (
        "attname clash",
        set_field("contact", "contact_job_title", name="company_id"),
        "entities[contact].fields[contact_job_title].name",
        "database column of the relation 'company'",
    ),
    (
        "reverse accessor clash",
        set_field("contact", "contact_company", related_name="city"),
        "entities[contact].fields[contact_company].related_name",
        "clashes with entities[company].fields[company_city]",
    ),
    (
        "reverse accessor twice",
        set_field("deal", "deal_company", related_name="contacts"),
        "entities[deal].fields[deal_company].related_name",
        "already gives Company the reverse name 'contacts'",
    ),
    (
        "reserved related name",
        set_field("deal", "deal_company", related_name="notes"),
        "entities[deal].fields[deal_company].related_name",
        "every CRM record",
    ),
    # relations
    (
        "unknown relation target",
        set_field("contact", "contact_company", target="organisation"),
        "entities[contact].fields[contact_company].target",
        "no entity has the id 'organisation'",
    ),
    (
        "relation without target",
        add_company_field("parent", "relation", on_delete="cascade"),
        f"{F}.target",
        "say which entity",
    ),
    (
        "relation without on_delete",
        add_company_field("parent", "relation", target="company"),
        f"{F}.on_delete",
        "say what happens",
    ),
    (
        "set_null on required",
        set_field("contact", "contact_company", required=True),
        "entities[contact].fields[contact_company].on_delete",
        "make it optional",
    ),
    (
        "through not a link",
        set_field("deal", "deal_contacts", through="contact_email"),
        "entities[deal].fields[deal_contacts].through",
        "has no relation to 'deal'",
    ),
    (
        "through unknown",
        set_field("deal", "deal_contacts", through="nothing"),
        "entities[deal].fields[deal_contacts].through",
        "no entity has the id 'nothing'",
    ),
    (
        "on_delete on many",
        set_field("deal", "deal_contacts", on_delete="cascade"),
        "entities[deal].fields[deal_contacts].on_delete",
        "only applies to relation (to one) fields",
    ),
    # choices and defaults
    (
        "unknown choice list",
        set_field("company", "company_industry", choice_list="sector"),
        "entities[company].fields[company_industry].choice_list",
        "no choice list has the key 'sector'",
    ),
    (
        "missing choice list",
        add_company_field("size", "choice"),
        f"{F}.choice_list",
        "say which choice list",
    ),
    (
        "default outside choices",
        set_field("deal", "deal_currency", default="BTC"),
        "entities[deal].fields[deal_currency].default",
        "not an option of the choice list 'currency'",
    ),
    (
        "default wrong type integer",
        add_company_field("size", "integer", default="many"),
        f"{F}.default",
        "an integer field needs a whole number",
    ),
    (
        "default float for integer",
        add_company_field("size", "integer", default=2.5),
        f"{F}.default",
        "whole number",
    ),
    (
        "default huge",
        add_company_field("size", "integer", default=10**40),
        f"{F}.default",
        "too large",
    ),
    (
        "default wrong type boolean",
        add_company_field("active", "boolean", default="yes"),
        f"{F}.default",
        "use true or false",
    ),
    (
        "default bad date",
        add_company_field("since", "date", default="tomorrow"),
        f"{F}.default",
        "'today' or a value like",
    ),
    (
        "default impossible date",
        add_company_field("since", "date", default="2025-02-30"),
        f"{F}.default",
        "'today' or a value like",
    ),
    (
        "default text too long",
        add_company_field("code", "text", max_length=3, default="ABCD"),
        f"{F}.default",
        "longer than the field's max_length (3)",
    ),
    (
        "default text not text",
        add_company_field("code", "text", default=5),
        f"{F}.default",
        "needs text",
    ),
    (
        "default bad email",
        add_company_field("contact_mail", "email", default="nobody"),
        f"{F}.default",
        "not an email address",
    ),
    (
        "default on relation",
        set_field("contact", "contact_company", default="acme"),
        "entities[contact].fields[contact_company].default",
        "cannot have a default",
    ),
    (
        "default money digits",
        set_field("deal", "deal_amount", default=1.234),
        "entities[deal].fields[deal_amount].default",
        "more than 2 decimal places",
    ),
    (
        "default below minimum",
        set_field("deal", "deal_amount", default=-5),
        "entities[deal].fields[deal_amount].default",
        "below min_value (0)",
    ),
    (
        "default nan",
        set_field("deal", "deal_amount", default=float("nan")),
        "entities[deal].fields[deal_amount].default",
        "finite",
    ),
    # type options
    (
        "max_length on integer",
        add_company_field("size", "integer", max_length=5),
        f"{F}.max_length",
        "max_length only applies to text fields",
    ),
    (
        "max_digits on text",
        add_company_field("code", "text", max_digits=5),
        f"{F}.max_digits",
        "only applies to decimal and money fields",
    ),
    (
        "decimal places over digits",
        set_field("deal", "deal_amount", max_digits=4, decimal_places=5),
        "entities[deal].fields[deal_amount].decimal_places",
        "cannot exceed max_digits",
    ),
    (
        "min over max",
        set_field("deal", "deal_amount", max_value=-1),
        "entities[deal].fields[deal_amount].min_value",
        "larger than max_value",
    ),
    (
        "unique boolean",
        add_company_field("active", "boolean", unique=True),
        f"{F}.unique",
        "cannot be unique",
    ),
    (
        "index many",
        set_field("deal", "deal_contacts", index=True),
        "entities[deal].fields[deal_contacts].index",
        "cannot be indexed",
    ),
    # pipelines and stage fields
    (
        "pipeline of unknown entity",
        mutate_pipeline("renewals", entity="contract"),
        "pipelines[renewals].entity",
        "no entity has the id 'contract'",
    ),
    (
        "pipeline of entity without stage field",
        mutate_pipeline("renewals", entity="company"),
        "pipelines[renewals].entity",
        "entities[company] has no stage_field",
    ),
    (
        "two default pipelines",
        mutate_pipeline("renewals", is_default=True),
        "pipelines[renewals].is_default",
        "already the default pipeline",
    ),
    (
        "stage field without pipeline",
        drop_pipelines,
        "entities[deal].stage_field",
        "no pipeline",
    ),
    (
        "stage field is a declared field",
        set_entity("deal", stage_field="amount"),
        "entities[deal].fields[deal_amount].name",
        "already the stage field named by entities[deal].stage_field",
    ),
    (
        "field named pipeline",
        set_field("deal", "deal_name", name="pipeline"),
        "entities[deal].fields[deal_name].name",
        "already the pipeline field implied by entities[deal].stage_field",
    ),
    (
        "stage field named pipeline",
        set_entity("deal", stage_field="pipeline"),
        "entities[deal].stage_field",
        "call the stage field something else",
    ),
    (
        "stage field on detail",
        both(
            set_entity("deal_contact", stage_field="step"),
            mutate_pipeline("renewals", entity="deal_contact"),
        ),
        "entities[deal_contact].stage_field",
        "only record entities",
    ),
    (
        "stage field after unknown",
        set_entity("deal", stage_field_after="budget"),
        "entities[deal].stage_field_after",
        "has no field 'budget'",
    ),
    # automations
    (
        "automation unknown stage",
        add_automation(
            entity="deal",
            trigger={"kind": "stage_entered", "stage": "hired"},
            actions=[{"kind": "create_task", "title": "Bill"}],
        ),
        "automations[auto].trigger.stage",
        "no pipeline of Deal has a stage with the id 'hired'",
    ),
    (
        "automation stage of other entity",
        both(
            add_entity("lead", "Lead", stage_field="step"),
            lambda data: data["pipelines"].append(
                {
                    "id": "leads",
                    "entity": "lead",
                    "name": "Leads",
                    "stages": [{"id": "lead_new", "name": "New"}],
                }
            ),
            add_automation(
                entity="deal",
                trigger={"kind": "stage_entered", "stage": "lead_new"},
                actions=[{"kind": "create_task", "title": "Call"}],
            ),
        ),
        "automations[auto].trigger.stage",
        "no pipeline of Deal",
    ),
    (
        "automation unknown trigger field",
        add_automation(
            entity="deal",
            trigger={"kind": "field_changed", "field": "budget"},
            actions=[{"kind": "create_task", "title": "Check"}],
        ),
        "automations[auto].trigger.field",
        "Deal has no field 'budget'",
    ),
    (
        "automation unknown entity",
        add_automation(
            entity="invoice",
            trigger={"kind": "created"},
            actions=[{"kind": "create_task", "title": "x"}],
        ),
        "automations[auto].entity",
        "no entity has the id 'invoice'",
    ),
    (
        "automation sets unknown field",
        add_automation(
            entity="deal",
            trigger={"kind": "created"},
            actions=[{"kind": "set_field", "field": "billing_date", "expression": "today()"}],
        ),
        "automations[auto].actions[0].field",
        "Deal has no field 'billing_date'",
    ),
    (
        "automation sets wrong type",
        add_automation(
            entity="deal",
            trigger={"kind": "created"},
            actions=[{"kind": "set_field", "field": "expected_close", "expression": "amount * 2"}],
        ),
        "automations[auto].actions[0].expression",
        "gives a number, but a date field needs a date",
    ),
    (
        "automation condition unknown field",
        add_automation(
            entity="deal",
            trigger={"kind": "created"},
            condition="budget > 10",
            actions=[{"kind": "create_task", "title": "x"}],
        ),
        "automations[auto].condition",
        "unknown field 'budget'",
    ),
    (
        "automation condition not boolean",
        add_automation(
            entity="deal",
            trigger={"kind": "created"},
            condition="amount",
            actions=[{"kind": "create_task", "title": "x"}],
        ),
        "automations[auto].condition",
        "a condition needs a true/false value",
    ),
    (
        "task on detail entity",
        add_automation(
            entity="deal_contact",
            trigger={"kind": "created"},
            actions=[{"kind": "create_task", "title": "x"}],
        ),
        "automations[auto].actions[0]",
        "only be attached to record entities",
    ),
    # expressions
    (
        "expression unknown field",
        add_computed("fee", "budget * 20%"),
        "entities[deal].computed[deal_fee].expression",
        "unknown field 'budget'",
    ),
    (
        "expression close field",
        add_computed("fee", "amont * 20%"),
        "entities[deal].computed[deal_fee].expression",
        "did you mean 'amount'?",
    ),
    (
        "expression import",
        add_computed("fee", "__import__('os').system('x')"),
        "entities[deal].computed[deal_fee].expression",
        "cannot start with _",
    ),
    (
        "expression attribute",
        add_computed("fee", "amount.real"),
        "entities[deal].computed[deal_fee].expression",
        "attribute access is not part of the expression language",
    ),
    (
        "expression unknown function",
        add_computed("fee", "eval('1')"),
        "entities[deal].computed[deal_fee].expression",
        "unknown function 'eval'",
    ),
    (
        "expression relation field",
        add_computed("fee", "company * 2"),
        "entities[deal].computed[deal_fee].expression",
        "relation field, which expressions cannot read",
    ),
    (
        "expression stage",
        add_computed("fee", "stage == 'won'", "boolean"),
        "entities[deal].computed[deal_fee].expression",
        "use an automation with a stage_entered trigger",
    ),
    (
        "expression wrong result type",
        add_computed("close_soon", "expected_close + 30", "boolean"),
        "entities[deal].computed[deal_close_soon].expression",
        "gives a date, but a boolean field needs a true/false value",
    ),
    (
        "expression choice value",
        add_computed("in_euro", "currency == 'EURO'", "boolean"),
        "entities[deal].computed[deal_in_euro].expression",
        "'EURO' is not an option of the choice list 'currency'",
    ),
    (
        "computed cycle",
        both(add_computed("fee", "total * 2"), add_computed("total", "fee + 1")),
        "entities[deal].computed[deal_fee].expression",
        "circle (fee → total → fee)",
    ),
    (
        "computed name reserved",
        add_computed("save", "amount"),
        "entities[deal].computed[deal_save].name",
        "Django models already use it",
    ),
    # admin and API options
    (
        "admin unknown column",
        set_admin("company", list_display=["name", "revenue"]),
        "entities[company].admin.list_display[1]",
        "Company has no field 'revenue'",
    ),
    (
        "admin column twice",
        set_admin("company", list_display=["name", "name"]),
        "entities[company].admin.list_display[1]",
        "listed twice",
    ),
    (
        "admin many column",
        set_admin("deal", list_display=["name", "contacts"]),
        "entities[deal].admin.list_display[1]",
        "many-to-many relations cannot be columns",
    ),
    (
        "admin search number",
        set_admin("deal", search_fields=["amount"]),
        "entities[deal].admin.search_fields[0]",
        "search only looks in text",
    ),
    (
        "admin filter unknown",
        set_admin("deal", list_filter=["region"]),
        "entities[deal].admin.list_filter[0]",
        "Deal has no field 'region'",
    ),
    (
        "admin related search unknown",
        set_admin("contact", search_fields=["company.title"]),
        "entities[contact].admin.search_fields[0]",
        "has no field 'title'",
    ),
    (
        "admin related search not relation",
        set_admin("contact", search_fields=["email.domain"]),
        "entities[contact].admin.search_fields[0]",
        "'email' is not a relation",
    ),
    (
        "admin inline unknown",
        set_admin("contact", inlines=["address"]),
        "entities[contact].admin.inlines[0]",
        "no entity has the id 'address'",
    ),
    (
        "admin inline unrelated",
        set_admin("company", inlines=["contact_email"]),
        "entities[company].admin.inlines[0]",
        "with a relation (to one) to 'company'",
    ),
    (
        "board without stage",
        set_admin("company", board=True),
        "entities[company].admin.board",
        "has no stage_field",
    ),
    (
        "admin ordering unknown",
        set_admin("company", ordering=["-revenue"]),
        "entities[company].admin.ordering[0]",
        "'-revenue' does not name a stored field",
    ),
    (
        "entity ordering unknown",
        set_entity("company", ordering=["rank"]),
        "entities[company].ordering[0]",
        "'rank' does not name a stored field",
    ),
    (
        "unique together single",
        set_entity("company", unique_together=[["name", "name"]]),
        "entities[company].unique_together[0]",
        "at least two different fields",
    ),
    (
        "display unknown",
        set_entity("company", display=["title"]),
        "entities[company].display[0]",
        "Company has no field 'title'",
    ),
    (
        "api filter unknown",
        set_api("deal", filter_fields=["region"]),
        "entities[deal].api.filter_fields[0]",
        "Deal has no field 'region'",
    ),
    (
        "api search non text",
        set_api("deal", search_fields=["expected_close"]),
        "entities[deal].api.search_fields[0]",
        "search only looks in text",
    ),
    (
        "api ordering computed",
        both(add_computed("fee", "amount * 20%"), set_api("deal", ordering_fields=["fee"])),
        "entities[deal].api.ordering_fields[0]",
        "cannot be used in ordering",
    ),
    # roles, choice lists
    (
        "role on unknown entity",
        unknown_permission_entity,
        "roles[admin].permissions[invoice]",
        "no entity has the id 'invoice'",
    ),
    ("role names collide", duplicate_role_name, "roles[manager].name", "become group names"),
    (
        "kit choice list missing",
        drop_task_status,
        "choice_lists",
        "the kit's tasks need the choice list 'task_status'",
    ),
    (
        "duplicate option",
        duplicate_option,
        "choice_lists[industry].options[software].value",
        "appears twice",
    ),
]


# Cases whose one mistake is rightly reported in more places than one (a renamed or dropped
# field leaves the lists that named it pointing at nothing...). Every other case gives exactly
# one problem: a spurious second report is a defect too.
PROBLEM_COUNTS = {
    "kit class case": 2,
    "duplicate entity id": 27,
    "attname clash": 4,
    "unknown relation target": 5,
    "decimal places over digits": 3,
    "min over max": 2,
    "stage field is a declared field": 4,
    "field named pipeline": 6,
    "stage field named pipeline": 4,
    "computed cycle": 2,
    "unique together single": 2,
}


@pytest.mark.parametrize(
    ("name", "mutation", "path", "phrase"), CASES, ids=[case[0] for case in CASES]
)
def test_refusal_names_the_place_and_the_fix(
    name: str, mutation: Mutation, path: str, phrase: str
) -> None:
    data = template_data()
    mutation(data)
    problems = load_problems(data)
    assert_problem(problems, path, phrase)
    assert len(problems) == PROBLEM_COUNTS.get(name, 1), [str(problem) for problem in problems]


def test_the_problem_counts_name_existing_cases() -> None:
    assert set(PROBLEM_COUNTS) <= {case[0] for case in CASES}


def test_template_is_valid_and_validation_changes_nothing() -> None:
    assert spec_problems(template_app_spec()) == []


def test_refusals_of_a_spec_object_leave_it_unchanged() -> None:
    spec = template_app_spec()
    spec.entities[0].fields[7].name = "select"
    problems = spec_problems(spec)
    assert problems == [
        SpecProblem(
            "entities[company].fields[company_description].name",
            "'select' cannot be used as a name: it is an SQL keyword; rename it (for example "
            "'company_select').",
        )
    ]


def test_a_relation_to_many_with_a_link_entity_is_accepted_and_checked() -> None:
    data = template_data()
    field(data, "deal_contact", "deal_contact_deal")["target"] = "company"
    problems = load_problems(data)
    assert_problem(
        problems,
        "entities[deal].fields[deal_contacts].through",
        "entities[deal_contact] has no relation to 'deal'",
    )


def test_spec_invalid_reads_as_a_list_of_problems() -> None:
    error = SpecInvalid([SpecProblem("entities[deal].name", "rename it."), SpecProblem("", "x.")])
    assert str(error) == (
        "The app spec has 2 problems:\n- entities[deal].name: rename it.\n- (spec): x."
    )
    assert error.problems[0].path == "entities[deal].name"


def test_every_message_is_a_sentence() -> None:
    for _name, mutation, _path, _phrase in CASES:
        data = template_data()
        mutation(data)
        for problem in load_problems(data):
            assert problem.message.endswith("."), problem
            assert problem.message[:1].isalpha() or problem.message[:1] in "'\"", problem


def test_a_spec_made_in_python_is_checked_the_same_way() -> None:
    spec = AppSpec.model_validate(template_data())
    spec.entities[4].stage_field = None
    paths = {problem.path for problem in spec_problems(spec)}
    assert paths == {
        "entities[deal].admin.list_display[2]",
        "entities[deal].admin.list_display[3]",
        "entities[deal].admin.list_filter[0]",
        "entities[deal].admin.list_filter[1]",
        "entities[deal].admin.board",
        "entities[deal].api.filter_fields[1]",
        "entities[deal].api.filter_fields[2]",
        "entities[deal].stage_field_after",
        "pipelines[sales].entity",
        "pipelines[renewals].entity",
    }
