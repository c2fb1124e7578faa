"""Merging parallel patches: independent edits merge, overlapping edits are refused."""

from __future__ import annotations

from factory.agents.tools import SpecOperation
from factory.pipeline.merging import TaskPatch, patches_merge, spec_changed_paths
from factory.spec.template import template_app_spec


def op(tool, **arguments):
    return SpecOperation(tool=tool, arguments=arguments)


def field(entity, name):
    return {"id": f"{entity}_{name}", "name": name, "label": name.title(), "type": "text"}


def test_changed_paths_name_items_by_their_identity():
    before = template_app_spec().to_jsonable()
    after = template_app_spec()
    after.entity("company").fields[1].label = "Web domain"
    after.entity("deal").admin.list_display = ["name"]

    assert spec_changed_paths(before, after.to_jsonable()) == {
        ("entities", "id=company", "fields", "id=company_domain", "label"),
        ("entities", "id=deal", "admin", "list_display"),
    }


def test_edits_of_different_things_merge_in_plan_order():
    base = template_app_spec()
    outcome = patches_merge(
        base,
        [
            TaskPatch("a", (op("field_add", entity="company", field=field("company", "vat")),)),
            TaskPatch("b", (op("field_add", entity="company", field=field("company", "iban")),)),
        ],
    )

    assert (outcome.merged, outcome.conflicts) == (["a", "b"], {})
    names = [item.name for item in outcome.spec.entity("company").fields]
    assert names[-2:] == ["vat", "iban"]


def test_edits_of_the_same_thing_conflict_and_the_later_one_is_left_out():
    base = template_app_spec()
    outcome = patches_merge(
        base,
        [
            TaskPatch("a", (op("admin_options_update", entity="deal", list_display=["name"]),)),
            TaskPatch("b", (op("admin_options_update", entity="deal", list_display=["amount"]),)),
        ],
    )

    assert outcome.merged == ["a"]
    assert outcome.conflicts == {"b": "task a changed entities/deal/admin/list_display too"}
    assert outcome.spec.entity("deal").admin.list_display == ["name"]


def test_a_patch_that_no_longer_applies_is_a_conflict():
    base = template_app_spec()
    outcome = patches_merge(
        base, [TaskPatch("a", (op("field_add", entity="nowhere", field=field("nowhere", "x")),))]
    )

    assert outcome.merged == []
    assert outcome.conflicts["a"].startswith("its edits no longer apply to the spec")
    assert outcome.spec == base
