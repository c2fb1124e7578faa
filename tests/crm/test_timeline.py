"""The automatic timeline: one entry per event, per changed field, with the acting user."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType

from crm import models
from crm.factories import CompanyFactory, ContactFactory, DealFactory, TaskFactory, UserFactory
from crm.kit.current_user import acting_as
from crm.kit.services import records_archive, records_move_stage, records_restore, tasks_mark_done
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
