"""The base CRM's admin: every list page, constant query counts, bulk actions, archive
filter, the record page (timeline, inlines) and role-based denials."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm import models
from crm.admin import crm_site
from crm.factories import (
    CompanyFactory,
    ContactEmailFactory,
    ContactFactory,
    DealContactFactory,
    DealFactory,
    NoteFactory,
    TagFactory,
    TaskFactory,
    UserFactory,
)
from crm.kit.current_user import acting_as
from crm.kit.models import TimelineAction
from crm.kit.roles import ROLE_MEMBER, ROLE_READ_ONLY, role_groups_install

pytestmark = pytest.mark.django_db


def changelist_url(model: type) -> str:
    return reverse(f"crm:crm_{model._meta.model_name}_changelist")


def change_url(record) -> str:
    return reverse(f"crm:crm_{record._meta.model_name}_change", args=[record.pk])


def action_post(client, model, action: str, records, **extra):
    data = {"action": action, "_selected_action": [r.pk for r in records], "index": 0, **extra}
    return client.post(changelist_url(model), data)


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def roles(db):
    return role_groups_install(app_label="crm", own_records_only={ROLE_MEMBER})


def role_user(roles, role: str, username: str):
    user = UserFactory(username=username, is_staff=True)
    user.groups.add(roles[role])
    return user


def some_of_everything(owner=None) -> None:
    with acting_as(owner):
        deal = DealFactory()
        contact = ContactFactory(company=deal.company)
        ContactEmailFactory(contact=contact)
        DealContactFactory(deal=deal, contact=contact)
        TaskFactory(target=deal)
        NoteFactory(target=contact)
        tag = TagFactory()
        models.TaggedItem.objects.create(tag=tag, target=deal)
        deal.stage = deal.pipeline.stages.order_by("order")[1]
        deal.save()


@pytest.mark.parametrize("model", list(crm_site._registry), ids=lambda m: m.__name__)
def test_every_list_page_answers_200_for_a_superuser(admin_client, superuser, model):
    some_of_everything(owner=superuser)

    response = admin_client.get(changelist_url(model))

    assert response.status_code == 200


@pytest.mark.parametrize(
    "factory", [CompanyFactory, ContactFactory, DealFactory], ids=lambda f: f.__name__
)
def test_record_add_and_change_pages_render_with_inlines_and_timeline(admin_client, factory):
    record = factory()

    add_page = admin_client.get(reverse(f"crm:crm_{record._meta.model_name}_add"))
    change_page = admin_client.get(change_url(record))

    assert add_page.status_code == 200
    assert change_page.status_code == 200
    html = change_page.content.decode()
    assert 'id="record-timeline"' in html
    assert "crm-note-content_type-object_id" not in html  # generic prefixes use target_*
    assert "crm-note-target_type-target_id-TOTAL_FORMS" in html
    assert "crm-task-target_type-target_id-TOTAL_FORMS" in html
    assert change_page.context["record_timeline"][0].action == TimelineAction.CREATED


def test_contact_page_has_email_and_phone_inlines(admin_client):
    contact = ContactFactory()

    html = admin_client.get(change_url(contact)).content.decode()

    assert 'name="emails-TOTAL_FORMS"' in html
    assert 'name="phones-TOTAL_FORMS"' in html


def test_deal_page_has_contacts_inline_with_role(admin_client):
    deal = DealFactory()

    html = admin_client.get(change_url(deal)).content.decode()

    assert 'name="deal_contacts-TOTAL_FORMS"' in html
    assert 'name="deal_contacts-__prefix__-role"' in html


def test_adding_a_note_through_the_record_page_stamps_the_author(admin_client, superuser):
    contact = ContactFactory(email="ann@example.com", last_name="Lee")
    prefix = "crm-note-target_type-target_id"
    empty = {"TOTAL_FORMS": 0, "INITIAL_FORMS": 0}
    data = {
        "first_name": "Ann",
        "last_name": "Lee",
        "email": "ann@example.com",
        "phone": "",
        "job_title": "",
        "company": "",
        "owner": "",
        **{f"emails-{k}": v for k, v in empty.items()},
        **{f"phones-{k}": v for k, v in empty.items()},
        **{f"crm-task-target_type-target_id-{k}": v for k, v in empty.items()},
        **{f"crm-taggeditem-target_type-target_id-{k}": v for k, v in empty.items()},
        **{f"crm-attachment-target_type-target_id-{k}": v for k, v in empty.items()},
        f"{prefix}-TOTAL_FORMS": 1,
        f"{prefix}-INITIAL_FORMS": 0,
        f"{prefix}-0-body": "Called, wants a demo.",
    }

    response = admin_client.post(change_url(contact), data)

    assert response.status_code == 302, response.context["errors"] if response.context else ""
    note = models.Note.objects.get()
    assert (note.body, note.target, note.created_by) == (
        "Called, wants a demo.",
        contact,
        superuser,
    )


# --- Query counts -------------------------------------------------------------------


def list_queries(client, model) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(changelist_url(model))
    assert response.status_code == 200
    return len(queries)


def make_rows(model, count: int, owner) -> None:
    with acting_as(owner):
        for _ in range(count):
            if model is models.Company:
                CompanyFactory()
            elif model is models.Contact:
                ContactFactory()
            elif model is models.Deal:
                DealFactory()
            elif model is models.Task:
                TaskFactory(target=ContactFactory(), assignee=owner)
            elif model is models.Note:
                NoteFactory(target=DealFactory())
            elif model is models.Tag:
                TagFactory()
            elif model in {models.TimelineEntry, models.StageChange}:
                deal = DealFactory()
                deal.stage = deal.pipeline.stages.order_by("order")[2]
                deal.save()


@pytest.mark.parametrize(
    "model",
    [
        models.Company,
        models.Contact,
        models.Deal,
        models.Task,
        models.Note,
        models.Tag,
        models.TimelineEntry,
        models.StageChange,
    ],
    ids=lambda m: m.__name__,
)
def test_list_page_query_count_does_not_grow_with_rows(admin_client, superuser, model):
    make_rows(model, 3, superuser)
    list_queries(admin_client, model)  # warms the content-type cache
    with_3 = list_queries(admin_client, model)
    make_rows(model, 27, superuser)

    with_30 = list_queries(admin_client, model)

    assert model.objects.count() >= 30  # a deal's stage move writes more than one entry
    assert with_30 == with_3


# --- Bulk actions -------------------------------------------------------------------


def timeline_actions(record) -> list[str]:
    return list(
        models.TimelineEntry.objects.filter(
            record_type=ContentType.objects.get_for_model(type(record)), record_id=record.pk
        )
        .order_by("pk")
        .values_list("action", flat=True)
    )


def test_archive_action_archives_exactly_the_selected_records(admin_client):
    chosen, other = ContactFactory(), ContactFactory()

    response = action_post(admin_client, models.Contact, "archive_selected", [chosen])

    assert response.status_code == 302
    chosen.refresh_from_db()
    other.refresh_from_db()
    assert chosen.deleted_at is not None
    assert other.deleted_at is None
    assert timeline_actions(chosen) == [TimelineAction.CREATED, TimelineAction.ARCHIVED]
    assert timeline_actions(other) == [TimelineAction.CREATED]


def test_archived_filter_hides_archived_by_default_and_shows_them_on_demand(admin_client):
    alive, archived = ContactFactory(last_name="Alive"), ContactFactory(last_name="Gone")
    archived.archive()

    default = admin_client.get(changelist_url(models.Contact))
    only_archived = admin_client.get(changelist_url(models.Contact) + "?archived=yes")
    both = admin_client.get(changelist_url(models.Contact) + "?archived=all")

    assert [c.pk for c in default.context["cl"].result_list] == [alive.pk]
    assert [c.pk for c in only_archived.context["cl"].result_list] == [archived.pk]
    assert {c.pk for c in both.context["cl"].result_list} == {alive.pk, archived.pk}


def test_restore_action_restores_archived_records(admin_client):
    contact = ContactFactory()
    contact.archive()

    response = admin_client.post(
        changelist_url(models.Contact) + "?archived=yes",
        {"action": "restore_selected", "_selected_action": [contact.pk], "index": 0},
    )

    assert response.status_code == 302
    contact = models.Contact.all_objects.get(pk=contact.pk)
    assert contact.deleted_at is None
    assert timeline_actions(contact)[-1] == TimelineAction.RESTORED


def test_mark_done_action_completes_only_the_selected_tasks(admin_client):
    chosen, other = TaskFactory(status="todo"), TaskFactory(status="todo")

    action_post(admin_client, models.Task, "mark_done", [chosen])

    chosen.refresh_from_db()
    other.refresh_from_db()
    assert (chosen.status, other.status) == ("done", "todo")
    assert chosen.completed_at is not None
    entry = models.TimelineEntry.objects.get(record_id=chosen.pk, field="status")
    assert (entry.old_value, entry.new_value) == ("todo", "done")


def test_move_stage_action_asks_for_the_stage_then_moves_the_selected_deals(admin_client):
    first, second, untouched = DealFactory(), DealFactory(), DealFactory()
    renewals = models.Pipeline.objects.get(name="Renewals")
    target = renewals.stages.get(name="Renewed")

    page = action_post(admin_client, models.Deal, "move_stage", [first, second])
    assert page.status_code == 200
    assert "Move to stage" in page.content.decode()
    assert models.StageChange.objects.filter(to_stage=target).count() == 0

    done = admin_client.post(
        changelist_url(models.Deal),
        {
            "action": "move_stage",
            "_selected_action": [first.pk, second.pk],
            "apply": "Move",
            "stage": target.pk,
        },
    )

    assert done.status_code == 302
    for deal in (first, second):
        deal.refresh_from_db()
        assert (deal.pipeline, deal.stage) == (renewals, target)
    untouched_stage = untouched.stage
    untouched.refresh_from_db()
    assert untouched.stage == untouched_stage
    assert models.StageChange.objects.filter(to_stage=target).count() == 2


def test_export_action_writes_the_selected_rows_as_csv(admin_client):
    chosen = ContactFactory(
        email="ann@example.com",
        first_name="Ann",
        last_name="Lee",
        phone="+44 20 7946 0000",
        job_title="CTO",
        company=CompanyFactory(name="Acme"),
    )
    ContactFactory(email="bob@example.com")

    response = action_post(admin_client, models.Contact, "export_csv", [chosen])

    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert text.splitlines() == [
        "Email,First name,Last name,Phone,Job title,Company",
        # The phone is stored normalised; a leading + is quoted so no spreadsheet runs it.
        "ann@example.com,Ann,Lee,'+442079460000,CTO,Acme",
    ]


def test_export_link_exports_the_filtered_list(admin_client):
    ContactFactory(email="ann@example.com", last_name="Lee")
    ContactFactory(
        email="bob@example.com",
        first_name="Bob",
        last_name="Stone",
        phone="",
        job_title="",
        company=None,
    )

    response = admin_client.get(reverse("crm:crm_contact_export") + "?q=stone")

    lines = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
    assert lines == [
        "Email,First name,Last name,Phone,Job title,Company",
        "bob@example.com,Bob,Stone,,,",
    ]


def test_autocomplete_offers_active_records_only(admin_client):
    CompanyFactory(name="Acme active")
    CompanyFactory(name="Acme archived").archive()

    response = admin_client.get(
        reverse("crm:autocomplete"),
        {"term": "Acme", "app_label": "crm", "model_name": "contact", "field_name": "company"},
    )

    assert [item["text"] for item in response.json()["results"]] == ["Acme active"]


def test_dashboard_and_board_are_linked_from_the_navigation(admin_client):
    html = admin_client.get(changelist_url(models.Contact)).content.decode()

    assert f'href="{reverse("crm:dashboard")}"' in html
    assert f'href="{reverse("crm:board")}?entity=deal"' in html


# --- Role-based denials -------------------------------------------------------------


def test_read_only_user_cannot_run_an_action(client, roles):
    reader = role_user(roles, ROLE_READ_ONLY, "reader")
    contact = ContactFactory()
    client.force_login(reader)

    page = client.get(changelist_url(models.Contact))
    response = action_post(client, models.Contact, "archive_selected", [contact])

    assert page.status_code == 200
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.deleted_at is None
    assert timeline_actions(contact) == [TimelineAction.CREATED]


def test_read_only_user_cannot_change_a_record(client, roles):
    reader = role_user(roles, ROLE_READ_ONLY, "reader")
    contact = ContactFactory(last_name="Before")
    client.force_login(reader)

    before = models.Contact.all_objects.filter(pk=contact.pk).values().get()

    response = client.post(change_url(contact), {"last_name": "After"})

    assert response.status_code == 403
    assert models.Contact.all_objects.filter(pk=contact.pk).values().get() == before
    assert before["last_name"] == "Before"
    assert timeline_actions(contact) == [TimelineAction.CREATED]


def test_member_limited_to_own_records_sees_only_their_records(client, roles):
    member = role_user(roles, ROLE_MEMBER, "member")
    other = UserFactory(username="other")
    mine, theirs = ContactFactory(owner=member), ContactFactory(owner=other)
    client.force_login(member)

    listing = client.get(changelist_url(models.Contact))
    page = client.get(change_url(theirs))
    own_page = client.get(change_url(mine))

    assert [c.pk for c in listing.context["cl"].result_list] == [mine.pk]
    assert page.status_code == 302
    assert page.url == reverse("crm:index")
    assert own_page.status_code == 200


def test_member_limited_to_own_records_cannot_change_or_archive_anothers(client, roles):
    member = role_user(roles, ROLE_MEMBER, "member")
    other = UserFactory(username="other")
    theirs = ContactFactory(owner=other, last_name="Theirs")
    client.force_login(member)

    change = client.post(change_url(theirs), {"last_name": "Mine now"})
    archive = action_post(client, models.Contact, "archive_selected", [theirs])

    assert change.status_code == 302
    assert archive.status_code == 302
    theirs.refresh_from_db()
    assert (theirs.last_name, theirs.deleted_at) == ("Theirs", None)
    assert timeline_actions(theirs) == [TimelineAction.CREATED]


def test_member_sees_only_the_timeline_of_their_records(client, roles):
    member = role_user(roles, ROLE_MEMBER, "member")
    other = UserFactory(username="other")
    mine = ContactFactory(owner=member, last_name="Mine")
    ContactFactory(owner=other, last_name="Theirs")
    client.force_login(member)

    response = client.get(changelist_url(models.TimelineEntry))

    assert [e.record_id for e in response.context["cl"].result_list] == [mine.pk]


def test_tasks_filter_by_status_label(admin_client):
    TaskFactory(status="todo", title="Open one", due_date=timezone.localdate())
    TaskFactory(status="done", title="Closed one", due_date=datetime.date(2020, 1, 1))

    response = admin_client.get(changelist_url(models.Task) + "?status__exact=done")
    html = response.content.decode()

    assert [t.title for t in response.context["cl"].result_list] == ["Closed one"]
    assert ">Done</span>" in html  # the label, as a badge, not the stored value


@pytest.mark.parametrize("model", [models.Task, models.Contact, models.Deal, models.Company])
def test_list_pages_render_with_filter_counts(admin_client, model):
    some_of_everything()

    response = admin_client.get(changelist_url(model) + "?_facets=True")

    assert response.status_code == 200


def test_read_only_user_sees_a_record_page_without_save_buttons(client, roles):
    reader = role_user(roles, ROLE_READ_ONLY, "reader")
    deal = DealFactory()
    client.force_login(reader)

    response = client.get(change_url(deal))

    assert response.status_code == 200
    assert 'name="_save"' not in response.content.decode()
    assert 'id="record-timeline"' in response.content.decode()
