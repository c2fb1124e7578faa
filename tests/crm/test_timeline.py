"""The automatic timeline: one entry per event, per changed field, per tag added or removed,
with the acting user."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from crm import models
from crm.factories import (
    CompanyFactory,
    ContactFactory,
    DealFactory,
    TagFactory,
    TaskFactory,
    UserFactory,
)
from crm.kit.current_user import acting_as
from crm.kit.services import (
    record_tags_set,
    records_archive,
    records_move_stage,
    records_restore,
    tasks_mark_done,
)
from crm.kit.timeline import timeline_for

pytestmark = pytest.mark.django_db


def entries(record) -> list[tuple]:
    """(action, field, old, new, actor username) oldest first."""
    return [
        (
            entry.action,
            entry.field,
            entry.old_value,
            entry.new_value,
            getattr(entry.actor, "username", None),
        )
        for entry in reversed(list(timeline_for(record)))
    ]


def stage(pipeline_name: str, stage_name: str) -> models.Stage:
    return models.Stage.objects.get(pipeline__name=pipeline_name, name=stage_name)


@pytest.fixture
def ann(db):
    return UserFactory(username="ann")


def test_creation_is_recorded_with_the_acting_user_and_stamps(ann):
    with acting_as(ann):
        company = CompanyFactory(name="Acme")

    assert entries(company) == [("created", "", "", "", "ann")]
    entry = models.TimelineEntry.objects.get()
    assert entry.record_type == ContentType.objects.get_for_model(models.Company)
    assert entry.record_id == company.pk
    assert entry.record_repr == "Acme"
    assert (company.created_by, company.updated_by, company.owner) == (ann, ann, ann)


def test_each_changed_field_gets_an_entry_with_old_and_new_values(ann):
    company = CompanyFactory(name="Acme", city="Lyon", industry="software")
    contact = ContactFactory(company=company, job_title="CTO")

    with acting_as(ann):
        contact.job_title = "CEO"
        contact.company = CompanyFactory(name="Globex")
        contact.save()

    assert entries(contact)[1:] == [
        ("changed", "job_title", "CTO", "CEO", "ann"),
        ("changed", "company", "Acme", "Globex", "ann"),
    ]


def test_an_unchanged_save_writes_nothing_and_bookkeeping_fields_are_ignored(ann):
    company = CompanyFactory()
    before = models.TimelineEntry.objects.count()

    with acting_as(ann):
        company.save()

    assert models.TimelineEntry.objects.count() == before


def test_decimal_values_read_with_their_decimal_places(ann):
    deal = DealFactory(amount=Decimal("1000"))

    with acting_as(ann):
        deal.amount = Decimal("2500.5")
        deal.save(update_fields=["amount"])

    assert entries(deal)[-1] == ("changed", "amount", "1000.00", "2500.50", "ann")


def test_a_stage_move_is_a_moved_entry_and_a_stage_change(ann):
    deal = DealFactory(pipeline=models.Pipeline.objects.get(name="Sales"))
    lead, proposal = stage("Sales", "Lead"), stage("Sales", "Proposal")

    with acting_as(ann):
        records_move_stage(records=[deal], stage=proposal)

    assert entries(deal)[-1] == ("moved", "stage", "Lead", "Proposal", "ann")
    changes = list(
        models.StageChange.objects.filter(record_id=deal.pk)
        .order_by("pk")
        .values_list("from_stage", "to_stage", "changed_by")
    )
    assert changes == [(None, lead.pk, None), (lead.pk, proposal.pk, ann.pk)]


def test_moving_to_another_pipeline_records_both_fields(ann):
    deal = DealFactory(pipeline=models.Pipeline.objects.get(name="Sales"))

    with acting_as(ann):
        records_move_stage(records=[deal], stage=stage("Renewals", "Upcoming"))

    assert entries(deal)[1:] == [
        ("changed", "pipeline", "Sales", "Renewals", "ann"),
        ("moved", "stage", "Lead", "Upcoming", "ann"),
    ]


def test_archive_and_restore_are_recorded(ann):
    company = CompanyFactory()

    with acting_as(ann):
        records_archive(records=[company])
        records_restore(records=[company])

    assert entries(company)[1:] == [
        ("archived", "", "", "", "ann"),
        ("restored", "", "", "", "ann"),
    ]


def test_a_hard_delete_is_recorded_and_the_entry_outlives_the_record(ann):
    company = CompanyFactory(name="Gone Ltd")
    company_id = company.pk

    with acting_as(ann):
        company.delete()

    entry = models.TimelineEntry.objects.get(action="deleted")
    assert (entry.record_id, entry.record_repr, entry.actor) == (company_id, "Gone Ltd", ann)


def test_marking_a_task_done_records_the_status_change(ann):
    task = TaskFactory(status="todo")

    with acting_as(ann):
        assert tasks_mark_done(tasks=[task]) == 1

    task.refresh_from_db()
    assert task.status == "done"
    assert task.completed_at is not None
    assert entries(task)[1:] == [
        ("changed", "status", "todo", "done", "ann"),
        ("changed", "completed_at", "", str(task.completed_at), "ann"),
    ]


def test_without_an_acting_user_entries_have_no_actor():
    company = CompanyFactory()

    assert entries(company) == [("created", "", "", "", None)]
    assert company.created_by is None


# --- Tags ---------------------------------------------------------------------------


TAGS_PREFIX = "crm-taggeditem-target_type-target_id"


@pytest.fixture
def tags(db) -> dict[str, models.Tag]:
    return {name: TagFactory(name=name) for name in ("VIP", "Gold", "Partner")}


def tag_names(record) -> list[str]:
    return sorted(record.tagged_items.values_list("tag__name", flat=True))


def test_adding_a_tag_is_recorded_with_the_acting_user(ann, tags):
    company = CompanyFactory(name="Acme")

    with acting_as(ann):
        record_tags_set(record=company, tags=[tags["VIP"]])

    assert entries(company)[1:] == [("tagged", "tags", "", "VIP", "ann")]
    entry = timeline_for(company).first()
    assert (entry.tag_summary, str(entry)) == ("Tag added: VIP", "Acme: Tag added: VIP")


def test_removing_a_tag_is_recorded_with_the_acting_user(ann, tags):
    company = CompanyFactory(name="Acme")
    record_tags_set(record=company, tags=[tags["VIP"], tags["Gold"]])

    with acting_as(ann):
        record_tags_set(record=company, tags=[tags["Gold"]])

    assert tag_names(company) == ["Gold"]
    assert entries(company)[1:] == [
        ("tagged", "tags", "", "Gold", None),
        ("tagged", "tags", "", "VIP", None),
        ("untagged", "tags", "VIP", "", "ann"),
    ]
    assert str(timeline_for(company).first()) == "Acme: Tag removed: VIP"


def test_setting_several_tags_at_once_records_each_once_and_resetting_them_records_nothing(
    ann, tags
):
    company = CompanyFactory(name="Acme")

    with acting_as(ann):
        record_tags_set(record=company, tags=[tags["VIP"], tags["Partner"], tags["Gold"]])
        record_tags_set(record=company, tags=[tags["Gold"], tags["VIP"], tags["Partner"]])

    assert tag_names(company) == ["Gold", "Partner", "VIP"]
    assert entries(company)[1:] == [
        ("tagged", "tags", "", "Gold", "ann"),
        ("tagged", "tags", "", "Partner", "ann"),
        ("tagged", "tags", "", "VIP", "ann"),
    ]


def test_replacing_tags_records_the_removed_then_the_added_ones(ann, tags):
    deal = DealFactory(name="Big deal")
    record_tags_set(record=deal, tags=[tags["VIP"], tags["Gold"]])
    before = models.TimelineEntry.objects.count()

    with acting_as(ann):
        record_tags_set(record=deal, tags=[tags["Gold"], tags["Partner"]])

    assert models.TimelineEntry.objects.count() == before + 2
    assert entries(deal)[-2:] == [
        ("untagged", "tags", "VIP", "", "ann"),
        ("tagged", "tags", "", "Partner", "ann"),
    ]


def test_deleting_a_tag_records_its_removal_on_every_record_that_carried_it(ann, tags):
    acme, globex = CompanyFactory(name="Acme"), CompanyFactory(name="Globex")
    record_tags_set(record=acme, tags=[tags["VIP"]])
    record_tags_set(record=globex, tags=[tags["VIP"], tags["Gold"]])

    with acting_as(ann):
        tags["VIP"].delete()

    assert entries(acme)[-1] == ("untagged", "tags", "VIP", "", "ann")
    assert entries(globex)[-1] == ("untagged", "tags", "VIP", "", "ann")
    assert models.TimelineEntry.objects.filter(action="untagged").count() == 2


def test_deleting_a_tagged_record_records_the_deletion_only(ann, tags):
    company = CompanyFactory(name="Gone Ltd")
    record_tags_set(record=company, tags=[tags["VIP"], tags["Gold"]])
    company_id = company.pk

    with acting_as(ann):
        company.delete()

    assert models.TaggedItem.objects.count() == 0
    assert list(
        models.TimelineEntry.objects.filter(record_id=company_id)
        .order_by("pk")
        .values_list("action", "field", "old_value", "new_value")
    ) == [
        ("created", "", "", ""),
        ("tagged", "tags", "", "Gold"),
        ("tagged", "tags", "", "VIP"),
        ("deleted", "", "", ""),
    ]


def contact_form(contact, tag_rows: list[dict], initial: int) -> dict:
    """The POST of a contact's admin page with only the tags inline filled."""
    empty = {"TOTAL_FORMS": 0, "INITIAL_FORMS": 0}
    data = {
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "email": contact.email,
        "phone": "",
        "job_title": "",
        "company": "",
        "owner": "",
        **{f"emails-{k}": v for k, v in empty.items()},
        **{f"phones-{k}": v for k, v in empty.items()},
        **{f"crm-note-target_type-target_id-{k}": v for k, v in empty.items()},
        **{f"crm-task-target_type-target_id-{k}": v for k, v in empty.items()},
        **{f"crm-attachment-target_type-target_id-{k}": v for k, v in empty.items()},
        f"{TAGS_PREFIX}-TOTAL_FORMS": len(tag_rows),
        f"{TAGS_PREFIX}-INITIAL_FORMS": initial,
    }
    for index, row in enumerate(tag_rows):
        data.update({f"{TAGS_PREFIX}-{index}-{name}": value for name, value in row.items()})
    return data


def test_tags_added_changed_and_removed_in_the_admin_inline_are_recorded(client, superuser, tags):
    contact = ContactFactory(
        first_name="Ann",
        last_name="Lee",
        email="ann@example.com",
        phone="",
        job_title="",
        company=None,
    )
    client.force_login(superuser)
    url = reverse("crm:crm_contact_change", args=[contact.pk])

    added = client.post(url, contact_form(contact, [{"tag": tags["VIP"].pk}], initial=0))
    link = models.TaggedItem.objects.get()
    swapped = client.post(
        url, contact_form(contact, [{"id": link.pk, "tag": tags["Gold"].pk}], initial=1)
    )
    removed = client.post(
        url,
        contact_form(contact, [{"id": link.pk, "tag": tags["Gold"].pk, "DELETE": "on"}], initial=1),
    )

    assert (added.status_code, swapped.status_code, removed.status_code) == (302, 302, 302)
    assert tag_names(contact) == []
    assert entries(contact)[1:] == [
        ("tagged", "tags", "", "VIP", "root"),
        ("untagged", "tags", "VIP", "", "root"),
        ("tagged", "tags", "", "Gold", "root"),
        ("untagged", "tags", "Gold", "", "root"),
    ]
    page = client.get(url).content.decode()
    assert page.count("Tag added: VIP") == 1
    assert page.count("Tag removed: Gold") == 1


def test_tags_sent_to_the_api_are_recorded_with_the_requesting_user(tags):
    from rest_framework.test import APIClient

    user = UserFactory(username="root", is_superuser=True, is_staff=True)
    api = APIClient()
    api.force_authenticate(user)
    company = CompanyFactory(name="Acme")
    url = reverse("crm_api:company-detail", args=[company.pk])

    first = api.patch(url, {"tags": ["VIP", "Gold"]}, format="json")
    second = api.patch(url, {"tags": ["Gold"]}, format="json")

    assert (first.status_code, second.status_code) == (200, 200)
    assert entries(company)[1:] == [
        ("tagged", "tags", "", "Gold", "root"),
        ("tagged", "tags", "", "VIP", "root"),
        ("untagged", "tags", "VIP", "", "root"),
    ]
