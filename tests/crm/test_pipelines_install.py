"""Pipelines and stages are synced by key: the spec's ids, shared with the database.

``pipelines_install`` finds each pipeline and stage by its key (adopting a row without key
of the same name), creates what is missing, updates names, kinds, probabilities and order,
and never deletes a stage: unlisted ones stay, after the listed ones, and are reported.
Automations recognise a stage by its key, so renaming it does not silence them. Values an
admin edited stay: an install changes a value only when the definitions changed it and the
row still holds the value installed before (the same rule serves choice lists).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django.db import IntegrityError, transaction

from crm import models
from crm.defaults import CHOICE_LISTS, PIPELINES
from crm.factories import DealFactory
from crm.kit.automations import stage_entered
from crm.kit.services import choice_lists_install, pipelines_install

pytestmark = pytest.mark.django_db


def definitions() -> list[dict[str, Any]]:
    return copy.deepcopy(PIPELINES)


def stages_of(pipeline_key: str) -> list[tuple[str, str, str, int, int]]:
    return list(
        models.Stage.objects.filter(pipeline__key=pipeline_key)
        .order_by("order", "pk")
        .values_list("key", "name", "kind", "probability", "order")
    )


def sales_stage(key: str) -> models.Stage:
    return models.Stage.objects.get(pipeline__key="sales", key=key)


def test_the_default_pipelines_and_stages_carry_the_keys_of_the_defaults():
    pipelines = models.Pipeline.objects.order_by("order")

    assert list(pipelines.values_list("key", "entity", "name")) == [
        ("sales", "deal", "Sales"),
        ("renewals", "deal", "Renewals"),
    ]
    for definition in PIPELINES:
        assert [row[:4] for row in stages_of(definition["key"])] == [
            tuple(stage) for stage in definition["stages"]
        ]


def test_installing_the_same_definitions_again_changes_nothing():
    before = list(models.Stage.objects.order_by("pk").values())

    installed = pipelines_install(app_label="crm", pipelines=definitions())

    assert (installed.created, installed.updated, installed.unlisted) == ([], [], [])
    assert list(models.Stage.objects.order_by("pk").values()) == before
    assert models.Pipeline.objects.count() == 2


def test_a_stage_added_to_an_existing_pipeline_is_created_in_its_place():
    pks = {stage.key: stage.pk for stage in models.Stage.objects.filter(pipeline__key="sales")}
    changed = definitions()
    changed[0]["stages"].insert(2, ("sales_demo", "Demo", "open", 40))

    installed = pipelines_install(app_label="crm", pipelines=changed)

    assert installed.created == ["Sales: Demo"]
    assert [row[:2] for row in stages_of("sales")] == [
        ("sales_lead", "Lead"),
        ("sales_qualified", "Qualified"),
        ("sales_demo", "Demo"),
        ("sales_proposal", "Proposal"),
        ("sales_negotiation", "Negotiation"),
        ("sales_won", "Won"),
        ("sales_lost", "Lost"),
    ]
    assert [row[4] for row in stages_of("sales")] == list(range(7))
    for key, pk in pks.items():
        assert sales_stage(key).pk == pk


def test_a_renamed_stage_keeps_its_row_and_its_deals():
    qualified = sales_stage("sales_qualified")
    deals = DealFactory.create_batch(2, stage=qualified)
    changed = definitions()
    changed[0]["stages"][1] = ("sales_qualified", "Discovery done", "open", 30)

    installed = pipelines_install(app_label="crm", pipelines=changed)

    renamed = sales_stage("sales_qualified")
    assert (renamed.pk, renamed.name, renamed.probability) == (qualified.pk, "Discovery done", 30)
    assert installed.updated == ["Sales: Discovery done"]
    assert installed.created == []
    assert sorted(models.Deal.objects.filter(stage=renamed).values_list("pk", flat=True)) == sorted(
        deal.pk for deal in deals
    )
    assert models.Stage.objects.filter(pipeline__key="sales").count() == 6


def test_a_renamed_pipeline_is_renamed_not_duplicated():
    changed = definitions()
    changed[1]["name"] = "Contract renewals"

    pipelines_install(app_label="crm", pipelines=changed)

    assert list(models.Pipeline.objects.order_by("order").values_list("key", "name")) == [
        ("sales", "Sales"),
        ("renewals", "Contract renewals"),
    ]
    assert len(stages_of("renewals")) == 4


def test_a_stage_the_definitions_no_longer_list_stays_with_its_deals_after_the_others():
    lost = sales_stage("sales_lost")
    deal = DealFactory(stage=lost)
    changed = definitions()
    changed[0]["stages"] = [stage for stage in changed[0]["stages"] if stage[0] != "sales_lost"]
    changed[0]["stages"].insert(0, ("sales_new", "New", "open", 5))

    installed = pipelines_install(app_label="crm", pipelines=changed)

    assert installed.unlisted == ["Sales: Lost"]
    assert stages_of("sales")[-1] == ("sales_lost", "Lost", "lost", 0, 6)
    deal.refresh_from_db()
    assert deal.stage_id == lost.pk


def test_a_stage_made_by_hand_with_the_same_name_is_adopted_not_duplicated():
    sales = models.Pipeline.objects.get(key="sales")
    hand_made = models.Stage.objects.create(pipeline=sales, name="Demo", order=9)
    changed = definitions()
    changed[0]["stages"].insert(2, ("sales_demo", "Demo", "open", 40))

    installed = pipelines_install(app_label="crm", pipelines=changed)

    adopted = sales_stage("sales_demo")
    assert adopted.pk == hand_made.pk
    assert (adopted.order, adopted.probability) == (2, 40)
    assert installed.created == []
    assert models.Stage.objects.filter(pipeline=sales, name="Demo").count() == 1


def test_a_stage_made_by_hand_with_another_name_is_left_alone_after_the_listed_ones():
    sales = models.Pipeline.objects.get(key="sales")
    hand_made = models.Stage.objects.create(pipeline=sales, name="On hold", order=1)

    installed = pipelines_install(app_label="crm", pipelines=definitions())

    hand_made.refresh_from_db()
    assert (hand_made.key, hand_made.name, hand_made.order) == ("", "On hold", 6)
    assert installed.unlisted == ["Sales: On hold"]


def test_definitions_without_keys_from_older_apps_match_by_name():
    legacy = [
        {
            "entity": "deal",
            "name": "Sales",
            "is_default": True,
            "stages": [
                (name, kind, probability)
                for _key, name, kind, probability in PIPELINES[0]["stages"]
            ],
        }
    ]
    before = list(models.Stage.objects.order_by("pk").values())

    installed = pipelines_install(app_label="crm", pipelines=legacy)

    assert (installed.created, installed.updated) == ([], [])
    assert list(models.Stage.objects.order_by("pk").values()) == before
    assert models.Pipeline.objects.count() == 2


def test_keys_are_unique_per_pipeline_and_blank_keys_may_repeat():
    sales = models.Pipeline.objects.get(key="sales")
    models.Stage.objects.create(pipeline=sales, name="Hand one")
    models.Stage.objects.create(pipeline=sales, name="Hand two")
    renewals = models.Pipeline.objects.get(key="renewals")
    models.Stage.objects.create(pipeline=renewals, key="sales_won", name="Same key elsewhere")
    count = models.Stage.objects.count()

    with pytest.raises(IntegrityError), transaction.atomic():
        models.Stage.objects.create(pipeline=sales, key="sales_won", name="Twice")
    with pytest.raises(IntegrityError), transaction.atomic():
        models.Pipeline.objects.create(key="sales", entity="deal", name="Other sales")

    assert models.Stage.objects.count() == count
    assert models.Pipeline.objects.count() == 2


def test_the_stage_trigger_matches_the_stage_key_after_a_rename():
    deal = DealFactory(stage=sales_stage("sales_lead"))
    previous = {"stage_id": deal.stage_id}
    won = sales_stage("sales_won")
    won.name = "Closed and signed"
    won.save()
    deal.stage = won

    assert stage_entered(deal, previous, field_name="stage", pipeline="sales", stage="sales_won")
    assert not stage_entered(
        deal, previous, field_name="stage", pipeline="sales", stage="sales_lost"
    )
    assert not stage_entered(
        deal, previous, field_name="stage", pipeline="renewals", stage="sales_won"
    )
    assert not stage_entered(
        deal, {"stage_id": won.pk}, field_name="stage", pipeline="sales", stage="sales_won"
    )


def test_a_stage_made_by_hand_fires_no_stage_trigger():
    sales = models.Pipeline.objects.get(key="sales")
    hand_made = models.Stage.objects.create(pipeline=sales, name="Won")
    deal = DealFactory(stage=sales_stage("sales_lead"))
    previous = {"stage_id": deal.stage_id}
    deal.stage = hand_made

    assert not stage_entered(deal, previous, field_name="stage", pipeline="sales", stage="")
    assert not stage_entered(
        deal, previous, field_name="stage", pipeline="sales", stage="sales_won"
    )


# --- What admins edited stays ---------------------------------------------------------


def admin_edits(row, **values) -> None:
    """Change a row the way the admin's form does: a plain save of the edited fields."""
    for name, value in values.items():
        setattr(row, name, value)
    row.save()


def test_the_default_rows_remember_the_values_their_migrations_installed():
    assert sales_stage("sales_qualified").installed_values == {
        "name": "Qualified",
        "kind": "open",
        "probability": 25,
        "order": 1,
    }
    assert models.Pipeline.objects.get(key="sales").installed_values == {
        "entity": "deal",
        "name": "Sales",
        "order": 0,
        "is_default": True,
    }
    software = models.ChoiceOption.objects.get(choice_list__key="industry", value="software")
    assert software.installed_values == {"label": "Software", "colour": "#0d6efd", "order": 0}
    assert models.ChoiceList.objects.get(key="industry").installed_values == {"name": "Industry"}


def test_a_stage_an_admin_edited_keeps_its_values_when_the_same_spec_is_installed_again():
    admin_edits(sales_stage("sales_qualified"), name="Discovery", probability=30, order=4)

    installed = pipelines_install(app_label="crm", pipelines=definitions())

    edited = sales_stage("sales_qualified")
    assert (edited.name, edited.kind, edited.probability, edited.order) == (
        "Discovery",
        "open",
        30,
        4,
    )
    assert (installed.created, installed.updated, installed.kept) == ([], [], [])


def test_a_spec_change_reaches_the_stages_the_admin_left_alone_only():
    admin_edits(sales_stage("sales_qualified"), name="Discovery")
    changed = definitions()
    changed[0]["stages"][1] = ("sales_qualified", "Qualified lead", "open", 30)
    changed[0]["stages"][2] = ("sales_proposal", "Offer", "open", 55)

    installed = pipelines_install(app_label="crm", pipelines=changed)

    assert [row[:4] for row in stages_of("sales")][1:3] == [
        ("sales_qualified", "Discovery", "open", 30),
        ("sales_proposal", "Offer", "open", 55),
    ]
    assert installed.updated == ["Sales: Discovery", "Sales: Offer"]
    assert installed.kept == ["Sales: Discovery: name"]
    assert sales_stage("sales_qualified").installed_values == {
        "name": "Qualified lead",
        "kind": "open",
        "probability": 30,
        "order": 1,
    }


def test_an_edited_value_stays_through_later_spec_changes_until_the_admin_restores_it():
    admin_edits(sales_stage("sales_lead"), name="Prospect")
    changed = definitions()
    changed[0]["stages"][0] = ("sales_lead", "New lead", "open", 10)
    pipelines_install(app_label="crm", pipelines=changed)
    changed[0]["stages"][0] = ("sales_lead", "Incoming lead", "open", 10)

    pipelines_install(app_label="crm", pipelines=changed)

    assert sales_stage("sales_lead").name == "Prospect"
    admin_edits(sales_stage("sales_lead"), name="Incoming lead")
    changed[0]["stages"][0] = ("sales_lead", "Lead in", "open", 10)

    installed = pipelines_install(app_label="crm", pipelines=changed)

    assert sales_stage("sales_lead").name == "Lead in"
    assert (installed.updated, installed.kept) == (["Sales: Lead in"], [])


def test_a_pipeline_an_admin_renamed_keeps_its_name_and_gets_its_new_stage():
    admin_edits(models.Pipeline.objects.get(key="renewals"), name="Contract renewals")
    changed = definitions()
    changed[1]["name"] = "Renewal deals"
    changed[1]["stages"].append(("renewals_paused", "Paused", "open", 20))

    installed = pipelines_install(app_label="crm", pipelines=changed)

    renewals = models.Pipeline.objects.get(key="renewals")
    assert (renewals.name, renewals.installed_values["name"]) == (
        "Contract renewals",
        "Renewal deals",
    )
    assert installed.kept == ["Contract renewals: name"]
    assert installed.created == ["Contract renewals: Paused"]
    paused = models.Stage.objects.get(pipeline=renewals, key="renewals_paused")
    assert (paused.name, paused.probability, paused.order, paused.installed_values) == (
        "Paused",
        20,
        4,
        {"name": "Paused", "kind": "open", "probability": 20, "order": 4},
    )


def test_a_row_adopted_without_memory_takes_the_spec_values_and_remembers_them():
    sales = models.Pipeline.objects.get(key="sales")
    hand_made = models.Stage.objects.create(pipeline=sales, name="Demo", probability=5, order=9)
    changed = definitions()
    changed[0]["stages"].insert(2, ("sales_demo", "Demo", "open", 40))

    pipelines_install(app_label="crm", pipelines=changed)

    hand_made.refresh_from_db()
    assert (hand_made.key, hand_made.probability, hand_made.order) == ("sales_demo", 40, 2)
    assert hand_made.installed_values == {
        "name": "Demo",
        "kind": "open",
        "probability": 40,
        "order": 2,
    }


def industry_options() -> list[tuple[str, str, str, int]]:
    return list(
        models.ChoiceOption.objects.filter(choice_list__key="industry")
        .order_by("order", "pk")
        .values_list("value", "label", "colour", "order")
    )


def test_choice_options_keep_what_the_admin_edited_and_follow_the_spec_elsewhere():
    software = models.ChoiceOption.objects.get(choice_list__key="industry", value="software")
    admin_edits(software, label="Software & SaaS", colour="#000000")
    admin_edits(models.ChoiceList.objects.get(key="industry"), name="Sector")
    lists = copy.deepcopy(CHOICE_LISTS)
    lists["industry"]["name"] = "Industries"
    lists["industry"]["options"][0] = ("software", "Software vendors", "#0d6efd")
    lists["industry"]["options"][1] = ("services", "Consulting", "#111111")
    lists["industry"]["options"].append(("energy", "Energy", "#ffc107"))

    choice_lists_install(app_label="crm", choice_lists=lists)
    choice_lists_install(app_label="crm", choice_lists=lists)

    assert models.ChoiceList.objects.get(key="industry").name == "Sector"
    assert industry_options() == [
        ("software", "Software & SaaS", "#000000", 0),
        ("services", "Consulting", "#111111", 1),
        ("retail", "Retail", "#20c997", 2),
        ("manufacturing", "Manufacturing", "#fd7e14", 3),
        ("health", "Health", "#dc3545", 4),
        ("education", "Education", "#198754", 5),
        ("other", "Other", "#6c757d", 6),
        ("energy", "Energy", "#ffc107", 7),
    ]
    software.refresh_from_db()
    assert software.installed_values == {
        "label": "Software vendors",
        "colour": "#0d6efd",
        "order": 0,
    }
