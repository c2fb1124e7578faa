"""Spec-editing tools: every call checked at once, precise errors, patches, destructive edits."""

from __future__ import annotations

import json

import pytest

from factory.agents.tools import (
    SPEC_TOOLS,
    TOOLSETS,
    SpecOperation,
    SpecPatchError,
    SpecWorkspace,
    spec_patch_apply,
    spec_tool_specs,
)
from factory.spec.models import AppSpec
from factory.spec.template import template_app_spec


def field(name: str, type_: str = "text", **options) -> dict:
    return {"id": f"company_{name}", "name": name, "label": name.title(), "type": type_, **options}


def applied(workspace: SpecWorkspace, tool: str, **arguments):
    outcome = workspace.call(tool, arguments)
    assert not outcome.is_error, outcome.content
    assert outcome.applied is not None, outcome.content
    return outcome


def refused(workspace: SpecWorkspace, tool: str, **arguments) -> str:
    before = workspace.spec
    operations = list(workspace.operations)
    outcome = workspace.call(tool, arguments)
    assert outcome.is_error, outcome.content
    assert outcome.applied is None
    assert workspace.spec is before  # nothing changed
    assert workspace.operations == operations
    return outcome.content


# Reading ----------------------------------------------------------------------------


def test_summary_lists_what_agents_plan_with(small_spec):
    workspace = SpecWorkspace(small_spec)

    outcome = workspace.call("spec_summary", {})

    assert outcome.content == (
        "App 'Small CRM' (language en).\n"
        "Entities:\n"
        "- company (Company): name:text*, budget:decimal\n"
        "Choice lists:\n"
        "- industry: software, retail\n"
        "Roles:\n"
        "- member: view on company"
    )


def test_read_one_entity_and_one_path(small_spec):
    workspace = SpecWorkspace(small_spec)

    entity = json.loads(workspace.call("spec_entity", {"entity": "company"}).content)
    budget = workspace.call("spec_read", {"path": "entities/company/fields/budget"}).content
    options = workspace.call("spec_read", {"path": "/choice_lists/industry/options/"}).content

    budget_field = {
        "id": "company_budget",
        "name": "budget",
        "label": "Budget",
        "type": "decimal",
        "max_digits": 12,
        "decimal_places": 2,
    }
    assert entity == {
        "id": "company",
        "name": "Company",
        "label": "company",
        "label_plural": "companies",
        "kind": "record",
        "fields": [
            {
                "id": "company_name",
                "name": "name",
                "label": "Name",
                "type": "text",
                "required": True,
                "max_length": 200,
            },
            budget_field,
        ],
        "display": ["name"],
    }
    assert json.loads(budget) == budget_field
    assert json.loads(options) == [
        {"value": "software", "label": "Software"},
        {"value": "retail", "label": "Retail"},
    ]


@pytest.mark.parametrize(
    ("tool", "arguments", "error"),
    [
        ("spec_entity", {"entity": "deal"}, "There is no entity 'deal'. Entity ids: company."),
        (
            "spec_read",
            {"path": "entities/company/fields/budgett"},
            "entities/company/fields has no item 'budgett'; it has: company_name, company_budget.",
        ),
        (
            "spec_read",
            {"path": "entities/company/colour"},
            "entities/company has no 'colour'; it has: admin, api, computed, description, "
            "display, fields, id, kind, label, label_plural, name, ordering, stage_field, "
            "stage_field_after, unique_together.",
        ),
        ("spec_read", {"path": "name/x"}, "name is a value, not a container: stop the path there."),
    ],
)
def test_reading_something_missing_says_what_exists(small_spec, tool, arguments, error):
    outcome = SpecWorkspace(small_spec).call(tool, arguments)

    assert outcome.is_error
    assert outcome.content == error


# Entities ---------------------------------------------------------------------------


def test_entity_add_rename_update(small_spec):
    workspace = SpecWorkspace(small_spec)
    applied(
        workspace,
        "entity_add",
        entity={
            "id": "candidate",
            "name": "Candidate",
            "label": "candidate",
            "label_plural": "candidates",
            "fields": [
                {
                    "id": "candidate_last_name",
                    "name": "last_name",
                    "label": "Last name",
                    "type": "text",
                }
            ],
        },
    )
    renamed = applied(
        workspace, "entity_rename", entity="candidate", new_name="Applicant", label="applicant"
    )
    applied(workspace, "entity_update", entity="candidate", description="A person we place.")

    entity = workspace.spec.entity("candidate")
    assert (entity.name, entity.label, entity.label_plural) == (
        "Applicant",
        "applicant",
        "candidates",
    )
    assert entity.description == "A person we place."
    assert renamed.content == "Renamed entity candidate from Candidate to Applicant (id kept)."
    assert [operation.tool for operation in workspace.operations] == [
        "entity_add",
        "entity_rename",
        "entity_update",
    ]


def test_entity_add_refuses_a_duplicate_id(small_spec):
    workspace = SpecWorkspace(small_spec)

    error = refused(
        workspace,
        "entity_add",
        entity={"id": "company", "name": "Firm", "label": "firm", "label_plural": "firms"},
    )

    assert error == "Not applied: The spec already has one with id 'company': pick another id."


def test_entity_update_with_nothing_to_change_is_an_error(small_spec):
    error = refused(SpecWorkspace(small_spec), "entity_update", entity="company")

    assert (
        error == "Not applied: Nothing to change on entity company: pass at least one value to set."
    )


def test_entity_remove_is_pending_until_confirmed(small_spec):
    workspace = SpecWorkspace(small_spec)

    outcome = workspace.call("entity_remove", {"entity": "company"})

    assert not outcome.is_error
    assert outcome.applied is None
    assert outcome.content == (
        "Not applied: this edit removes entity company and every one of its records. "
        "It is recorded as pending, for the builder to confirm. Repeat it with confirm=true "
        "only if the request explicitly asks for this loss."
    )
    assert workspace.spec == small_spec
    assert workspace.operations == []
    assert workspace.pending == [
        SpecOperation(
            tool="entity_remove",
            arguments={"entity": "company"},
            destructive="removes entity company and every one of its records",
        )
    ]


# Fields -----------------------------------------------------------------------------


def test_field_add_after_another_field(small_spec):
    workspace = SpecWorkspace(small_spec)

    outcome = applied(
        workspace, "field_add", entity="company", field=field("website", "url"), after="name"
    )

    assert [f.name for f in workspace.spec.entity("company").fields] == [
        "name",
        "website",
        "budget",
    ]
    assert outcome.content == "Added field website (url) to company."


def test_field_add_refuses_a_bad_name_with_a_suggestion(small_spec):
    error = refused(
        SpecWorkspace(small_spec),
        "field_add",
        entity="company",
        field={**field("web_site"), "name": "Web Site"},
    )

    assert error == (
        "Invalid arguments for field_add: field.name: 'Web Site' is not a valid name or id: use "
        "lowercase ASCII letters, digits and underscores, starting with a letter (at most 63 "
        "characters), for example 'web_site'."
    )


def test_field_add_refuses_an_unknown_type_and_extra_keys(small_spec):
    error = refused(
        SpecWorkspace(small_spec),
        "field_add",
        entity="company",
        field={**field("size", "number"), "colour": "red"},
    )

    assert error == (
        "Invalid arguments for field_add: field.type: Input should be 'text', 'long_text', "
        "'integer', 'decimal', 'money', 'boolean', 'date', 'datetime', 'email', 'phone', 'url', "
        "'choice', 'multi_choice', 'relation', 'relation_many' or 'file'; correct the value. "
        "field.colour: This key is not part of the spec; remove it or check its spelling."
    )


def test_field_add_refuses_a_reference_the_spec_lacks(small_spec):
    error = refused(
        SpecWorkspace(small_spec),
        "field_add",
        entity="company",
        field=field("sector", "choice", choice_list="sector"),
    )

    assert error == (
        "Not applied: the spec would become invalid: "
        "entities[company].fields[company_sector].choice_list: no choice list has the key "
        "'sector'; add it to choice_lists or use one of: industry."
    )


def test_field_rename_keeps_the_id_and_follows_references(small_spec):
    workspace = SpecWorkspace(small_spec)
    applied(workspace, "admin_options_update", entity="company", list_display=["name", "budget"])

    applied(workspace, "field_rename", entity="company", field="name", new_name="legal_name")

    entity = workspace.spec.entity("company")
    assert (entity.fields[0].id, entity.fields[0].name) == ("company_name", "legal_name")
    assert entity.display == ["legal_name"]
    assert entity.admin.list_display == ["legal_name", "budget"]


def test_widening_a_field_applies_at_once(small_spec):
    workspace = SpecWorkspace(small_spec)

    applied(workspace, "field_update", entity="company", field="name", type="long_text")
    applied(workspace, "field_update", entity="company", field="budget", max_digits=16)

    fields = workspace.spec.entity("company").fields
    assert (fields[0].type, fields[1].max_digits) == ("long_text", 16)
    assert workspace.pending == []
    assert [operation.destructive for operation in workspace.operations] == ["", ""]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        (
            {"type": "integer", "max_digits": None, "decimal_places": None},
            "changes the type of company.budget from decimal to integer",
        ),
        ({"decimal_places": 0}, "lowers decimal_places of company.budget from 2 to 0"),
    ],
)
def test_narrowing_a_field_waits_for_confirmation(small_spec, changes, reason):
    workspace = SpecWorkspace(small_spec)

    outcome = workspace.call("field_update", {"entity": "company", "field": "budget", **changes})

    assert outcome.applied is None
    assert workspace.spec == small_spec
    assert workspace.pending == [
        SpecOperation(
            tool="field_update",
            arguments={"entity": "company", "field": "budget", **changes},
            destructive=f"{reason}: stored values that do not fit are lost",
        )
    ]
    assert workspace.operations == []

    confirmed = applied(
        workspace, "field_update", entity="company", field="budget", confirm=True, **changes
    )

    assert confirmed.content == (
        f"Updated field company.budget: {', '.join(sorted(changes))}. "
        f"Destructive, confirmed: {reason}: stored values that do not fit are lost."
    )
    assert workspace.pending == []
    assert workspace.operations[0].arguments["confirm"] is True


def test_field_remove_confirmed_is_marked_destructive_in_the_patch(small_spec):
    workspace = SpecWorkspace(small_spec)

    applied(workspace, "field_remove", entity="company", field="budget", confirm=True)

    assert [f.name for f in workspace.spec.entity("company").fields] == ["name"]
    assert workspace.operations == [
        SpecOperation(
            tool="field_remove",
            arguments={"entity": "company", "field": "budget", "confirm": True},
            destructive="removes field company.budget and its stored values",
        )
    ]


# Choice lists -----------------------------------------------------------------------


def test_choice_list_rename_moves_the_fields_that_use_it(small_spec):
    workspace = SpecWorkspace(small_spec)
    applied(
        workspace,
        "field_add",
        entity="company",
        field=field("industry", "choice", choice_list="industry"),
    )

    outcome = applied(workspace, "choice_list_rename", choice_list="industry", new_key="sector")

    assert outcome.content == "Renamed choice list industry to sector; 1 fields follow it."
    assert workspace.spec.entity("company").fields[-1].choice_list == "sector"
    assert workspace.spec.choice_lists[0].id == "industry"


def test_choice_list_options_added_freely_dropped_only_when_confirmed(small_spec):
    workspace = SpecWorkspace(small_spec)
    options = [
        {"value": "software", "label": "Software"},
        {"value": "retail", "label": "Retail"},
        {"value": "health", "label": "Health"},
    ]
    applied(workspace, "choice_list_update", choice_list="industry", options=options)

    outcome = workspace.call(
        "choice_list_update", {"choice_list": "industry", "options": options[1:]}
    )

    assert outcome.applied is None
    assert outcome.pending.destructive == (
        "removes options software from choice list industry: records holding them lose their value"
    )
    assert [o.value for o in workspace.spec.choice_lists[0].options] == [
        "software",
        "retail",
        "health",
    ]


def test_choice_list_add_and_remove(small_spec):
    workspace = SpecWorkspace(small_spec)
    applied(
        workspace,
        "choice_list_add",
        choice_list={
            "id": "size",
            "key": "size",
            "name": "Size",
            "options": [{"value": "s", "label": "S"}],
        },
    )

    applied(workspace, "choice_list_remove", choice_list="size", confirm=True)

    assert [c.key for c in workspace.spec.choice_lists] == ["industry"]
    assert workspace.operations[-1] == SpecOperation(
        tool="choice_list_remove",
        arguments={"choice_list": "size", "confirm": True},
        destructive="removes choice list size and the values stored with its options",
    )


# Pipelines, stages, computed fields, automations ------------------------------------


def add_pipeline(workspace: SpecWorkspace) -> None:
    applied(
        workspace,
        "pipeline_add",
        pipeline={
            "id": "sales",
            "entity": "company",
            "name": "Sales",
            "is_default": True,
            "stages": [
                {"id": "sales_lead", "name": "Lead"},
                {"id": "sales_won", "name": "Won", "kind": "won", "probability": 100},
            ],
        },
    )


def test_first_pipeline_brings_the_stage_field(small_spec):
    workspace = SpecWorkspace(small_spec)

    add_pipeline(workspace)

    assert workspace.spec.entity("company").stage_field == "stage"
    assert workspace.operations[0].arguments["pipeline"]["id"] == "sales"


def test_stages_added_moved_renamed_removed(small_spec):
    workspace = SpecWorkspace(small_spec)
    add_pipeline(workspace)

    applied(
        workspace,
        "stage_add",
        pipeline="sales",
        stage={"id": "sales_lost", "name": "Lost", "kind": "lost"},
    )
    applied(
        workspace,
        "stage_add",
        pipeline="sales",
        stage={"id": "sales_demo", "name": "Demo"},
        before="sales_won",
    )
    applied(
        workspace,
        "stage_update",
        pipeline="sales",
        stage="sales_demo",
        name="Product demo",
        position=0,
    )
    pending = workspace.call("stage_remove", {"pipeline": "sales", "stage": "sales_lead"})

    stages = workspace.spec.pipelines[0].stages
    assert [(s.id, s.name) for s in stages] == [
        ("sales_demo", "Product demo"),
        ("sales_lead", "Lead"),
        ("sales_won", "Won"),
        ("sales_lost", "Lost"),
    ]
    assert pending.applied is None
    assert pending.pending.destructive == (
        "removes stage sales_lead from sales: records in it must move and its history entries "
        "lose their stage"
    )


def test_removing_the_last_stage_is_refused(small_spec):
    workspace = SpecWorkspace(
        small_spec,
    )
    applied(
        workspace,
        "pipeline_add",
        pipeline={
            "id": "p",
            "entity": "company",
            "name": "P",
            "stages": [{"id": "p_only", "name": "Only"}],
        },
    )

    error = refused(workspace, "stage_remove", pipeline="p", stage="p_only", confirm=True)

    assert error == (
        "Not applied: Stage p_only is the only stage of p: a pipeline needs one; add its "
        "replacement first, or remove the pipeline."
    )


def test_pipeline_remove_takes_the_stage_field_with_the_last_pipeline(small_spec):
    workspace = SpecWorkspace(small_spec)
    add_pipeline(workspace)

    applied(workspace, "pipeline_remove", pipeline="sales", confirm=True)

    assert workspace.spec.pipelines == []
    assert workspace.spec.entity("company").stage_field is None


def test_computed_field_lifecycle(small_spec):
    workspace = SpecWorkspace(small_spec)
    applied(
        workspace,
        "computed_add",
        entity="company",
        computed={
            "id": "company_fee",
            "name": "fee",
            "label": "Fee",
            "type": "decimal",
            "expression": "budget * 20%",
        },
    )
    applied(
        workspace, "computed_update", entity="company", computed="fee", expression="budget * 25%"
    )
    applied(workspace, "computed_rename", entity="company", computed="fee", new_name="agency_fee")

    (computed,) = workspace.spec.entity("company").computed
    assert (computed.id, computed.name, computed.expression) == (
        "company_fee",
        "agency_fee",
        "budget * 25%",
    )

    applied(workspace, "computed_remove", entity="company", computed="agency_fee")
    assert workspace.spec.entity("company").computed == []
    assert workspace.operations[-1].destructive == ""


def test_computed_field_with_a_bad_expression_is_refused(small_spec):
    error = refused(
        SpecWorkspace(small_spec),
        "computed_add",
        entity="company",
        computed={
            "id": "company_fee",
            "name": "fee",
            "label": "Fee",
            "type": "decimal",
            "expression": "budgett * 2",
        },
    )

    # The message quotes the misspelt 'budgett': a check for 'budget' in it proves nothing.
    assert error == (
        "Not applied: the spec would become invalid: "
        "entities[company].computed[company_fee].expression: unknown field 'budgett'; did you "
        "mean 'budget'? (at character 1)."
    )


def test_automation_lifecycle(small_spec):
    workspace = SpecWorkspace(small_spec)
    add_pipeline(workspace)
    applied(workspace, "field_add", entity="company", field=field("won_on", "date"))
    automation = {
        "id": "on_win",
        "name": "Date the win",
        "entity": "company",
        "trigger": {"kind": "stage_entered", "stage": "sales_won"},
        "actions": [{"kind": "set_field", "field": "won_on", "expression": "today()"}],
    }
    applied(workspace, "automation_add", automation=automation)
    applied(
        workspace,
        "automation_update",
        automation="on_win",
        actions=[{"kind": "create_task", "title": "Say thanks", "due_in_days": 2}],
    )

    assert workspace.spec.automations[0].actions[0].kind == "create_task"
    applied(workspace, "automation_remove", automation="on_win")
    assert workspace.spec.automations == []


def test_automation_on_an_unknown_stage_is_refused(small_spec):
    workspace = SpecWorkspace(small_spec)
    add_pipeline(workspace)

    error = refused(
        workspace,
        "automation_add",
        automation={
            "id": "on_win",
            "name": "Date the win",
            "entity": "company",
            "trigger": {"kind": "stage_entered", "stage": "sales_signed"},
            "actions": [{"kind": "create_task", "title": "Thanks"}],
        },
    )

    assert error == (
        "Not applied: the spec would become invalid: automations[on_win].trigger.stage: no "
        "pipeline of Company has a stage with the id 'sales_signed'; use one of: sales_lead, "
        "sales_won."
    )


# Admin, API, roles ------------------------------------------------------------------


def test_admin_and_api_options(small_spec):
    workspace = SpecWorkspace(small_spec)

    applied(
        workspace,
        "admin_options_update",
        entity="company",
        list_display=["name", "budget"],
        search_fields=["name"],
    )
    applied(
        workspace, "api_options_update", entity="company", read_only=True, ordering_fields=["name"]
    )

    entity = workspace.spec.entity("company")
    assert entity.admin.list_display == ["name", "budget"]
    assert entity.admin.search_fields == ["name"]
    assert (entity.api.read_only, entity.api.ordering_fields) == (True, ["name"])


def test_admin_options_naming_a_missing_field_are_refused(small_spec):
    error = refused(
        SpecWorkspace(small_spec),
        "admin_options_update",
        entity="company",
        list_display=["name", "revenue"],
    )

    assert error == (
        "Not applied: the spec would become invalid: entities[company].admin.list_display[1]: "
        "Company has no field 'revenue'; list_display can use: budget, created_at, created_by, "
        "name, owner, updated_at, updated_by."
    )


def test_roles_lifecycle(small_spec):
    workspace = SpecWorkspace(small_spec)
    applied(
        workspace,
        "role_add",
        role={"id": "recruiter", "name": "Recruiter", "permissions": {"company": ["view", "add"]}},
    )
    applied(workspace, "role_update", role="recruiter", own_records_only=True)

    error = refused(workspace, "role_update", role="recruiter", permissions={"deal": ["view"]})
    pending = workspace.call("role_remove", {"role": "recruiter"})

    assert error == "Not applied: There is no entity 'deal'. Entity ids: company."
    assert workspace.spec.roles[1].own_records_only is True
    assert (
        pending.pending.destructive
        == "removes role recruiter: users holding it lose its permissions"
    )


# Patches ----------------------------------------------------------------------------


def test_a_patch_reapplies_to_give_the_same_spec(small_spec):
    workspace = SpecWorkspace(small_spec)
    add_pipeline(workspace)
    applied(workspace, "field_add", entity="company", field=field("website", "url"))
    applied(workspace, "field_rename", entity="company", field="website", new_name="site")
    applied(workspace, "field_remove", entity="company", field="budget", confirm=True)
    workspace.call("entity_remove", {"entity": "company"})  # pending: not in the patch

    patch = [
        SpecOperation.model_validate(json.loads(op.model_dump_json()))
        for op in workspace.operations
    ]

    assert spec_patch_apply(small_spec, patch) == workspace.spec
    assert [operation.tool for operation in patch] == [
        "pipeline_add",
        "field_add",
        "field_rename",
        "field_remove",
    ]


def test_a_patch_that_no_longer_applies_says_which_edit(small_spec):
    patch = [
        SpecOperation(
            tool="field_rename",
            arguments={"entity": "company", "field": "budget", "new_name": "revenue"},
        ),
        SpecOperation(
            tool="field_update", arguments={"entity": "company", "field": "budget", "label": "X"}
        ),
    ]

    with pytest.raises(SpecPatchError) as raised:
        spec_patch_apply(small_spec, patch)

    assert str(raised.value) == (
        "Edit 2 of the patch (field_update) does not apply: Not applied: There is no field on "
        "company 'budget'. Known: company_name, company_budget."
    )


def test_unknown_tool_is_an_error(small_spec):
    outcome = SpecWorkspace(small_spec).call("shell", {"command": "ls"})

    assert outcome.is_error
    assert outcome.content == "There is no spec tool 'shell'."


# The catalogue ----------------------------------------------------------------------


def test_every_tool_has_a_json_schema_without_references():
    for name, tool in SPEC_TOOLS.items():
        spec = tool.spec()
        text = json.dumps(spec.parameters)
        assert spec.parameters["type"] == "object", name
        assert "$ref" not in text, name
        assert spec.description, name


def test_toolsets_give_each_specialist_only_its_tools():
    assert set(TOOLSETS["read"]) == {"spec_summary", "spec_entity", "spec_read"}
    read = list(TOOLSETS["read"])
    assert list(TOOLSETS["data_model"]) == [
        *read,
        "entity_add",
        "entity_update",
        "entity_rename",
        "entity_remove",
        "field_add",
        "field_update",
        "field_rename",
        "field_remove",
        "choice_list_add",
        "choice_list_update",
        "choice_list_rename",
        "choice_list_remove",
    ]
    assert list(TOOLSETS["api_roles"]) == [
        *read,
        "api_options_update",
        "role_add",
        "role_update",
        "role_remove",
    ]
    assert set(TOOLSETS["all"]) == set(SPEC_TOOLS)
    assert [tool.name for tool in spec_tool_specs(TOOLSETS["screens"])] == [
        "spec_summary",
        "spec_entity",
        "spec_read",
        "entity_update",
        "admin_options_update",
    ]


def test_the_automations_specialist_gets_read_computed_and_automation_tools_only():
    from factory.agents.roles import ROLES, run_tool_specs

    definition = ROLES["automations"]

    assert definition.prompt == "automations"
    assert definition.tool_names == (
        "spec_summary",
        "spec_entity",
        "spec_read",
        "computed_add",
        "computed_update",
        "computed_rename",
        "computed_remove",
        "automation_add",
        "automation_update",
        "automation_remove",
    )
    assert [spec.name for spec in run_tool_specs("automations", definition.tool_names)] == [
        *definition.tool_names,
        "finish",
    ]
    # The process specialist keeps its tools: existing plans give it automations too.
    assert set(definition.tool_names) < set(ROLES["process"].tool_names)


def test_tools_work_on_the_template_spec():
    template = template_app_spec()
    workspace = SpecWorkspace(template)

    applied(
        workspace,
        "field_add",
        entity="deal",
        field={"id": "deal_source", "name": "source", "label": "Source", "type": "text"},
    )
    applied(workspace, "stage_update", pipeline="sales", stage="sales_won", name="Signed")

    assert AppSpec.model_validate(workspace.spec.to_jsonable()) == workspace.spec
    assert workspace.spec.entity("deal").fields[-1].name == "source"
    assert [s.name for s in workspace.spec.pipelines[0].stages if s.id == "sales_won"] == ["Signed"]
    assert template == template_app_spec()  # the input is untouched
