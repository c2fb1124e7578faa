"""REST API of the base CRM: CRUD of every endpoint, filters, search, ordering, pagination,
token authentication, query counts of list pages, schema and docs page.

Permission rules by role are in test_api_permissions.py.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from crm import models
from crm.factories import (
    CompanyFactory,
    ContactEmailFactory,
    ContactFactory,
    ContactPhoneFactory,
    DealContactFactory,
    DealFactory,
    NoteFactory,
    TagFactory,
    TaskFactory,
    UserFactory,
)
from crm.kit.current_user import acting_as
from crm.kit.roles import ROLE_ADMIN, role_groups_install
from crm.kit.services import record_tags_set, records_move_stage

pytestmark = pytest.mark.django_db

API = "/api/crm"


def iso(value: datetime.datetime | None) -> str | None:
    return serializers.DateTimeField().to_representation(value) if value else None


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def stage(pipeline_name: str, stage_name: str) -> models.Stage:
    return models.Stage.objects.get(pipeline__name=pipeline_name, name=stage_name)


def record_stamps(record, user) -> dict:
    return {
        "owner": user.pk,
        "created_at": iso(record.created_at),
        "created_by": user.pk,
        "updated_at": iso(record.updated_at),
        "updated_by": user.pk,
        "archived_at": iso(record.deleted_at),
    }


@pytest.fixture
def admin_user(db):
    """A user with the app's Admin role (not a superuser: permissions come from the role)."""
    groups = role_groups_install(app_label="crm")
    user = UserFactory(username="ada")
    user.groups.add(groups[ROLE_ADMIN])
    return user


@pytest.fixture
def api(admin_user) -> APIClient:
    return token_client(admin_user)


@pytest.fixture
def vip(db):
    return TagFactory(name="VIP", colour="#dc3545")


# -- Companies -----------------------------------------------------------------------------


class TestCompanies:
    def test_create_normalises_stamps_and_tags(self, api, admin_user, vip):
        response = api.post(
            f"{API}/companies/",
            {
                "name": "Acme",
                "domain": "https://www.Acme.COM/about",
                "industry": "software",
                "phone": "+33 (0)6 12",
                "city": "Lyon",
                "country": "France",
                "tags": ["VIP"],
            },
            format="json",
        )

        assert response.status_code == 201, response.data
        company = models.Company.objects.get()
        assert response.json() == {
            "id": company.pk,
            "name": "Acme",
            "domain": "acme.com",
            "industry": "software",
            "phone": "+330612",
            "address": "",
            "city": "Lyon",
            "country": "France",
            "description": "",
            "tags": ["VIP"],
            **record_stamps(company, admin_user),
        }
        assert (company.domain, company.owner, company.created_by) == (
            "acme.com",
            admin_user,
            admin_user,
        )
        entries = models.TimelineEntry.objects.order_by("pk")
        assert list(entries.values_list("action", "field", "new_value", "record_id", "actor")) == [
            ("created", "", "", company.pk, admin_user.pk),
            ("tagged", "tags", "VIP", company.pk, admin_user.pk),
        ]

    def test_owner_can_be_given(self, api, admin_user):
        other = UserFactory(username="olga")

        response = api.post(f"{API}/companies/", {"name": "Acme", "owner": other.pk})

        assert response.status_code == 201
        company = models.Company.objects.get()
        assert (company.owner, company.created_by) == (other, admin_user)

    def test_unknown_industry_is_refused_and_nothing_is_created(self, api):
        response = api.post(f"{API}/companies/", {"name": "Acme", "industry": "mining"})

        assert response.status_code == 400
        assert response.json() == {
            "industry": [
                "'mining' is not an active option of the list 'industry'; use one of: "
                "software, services, retail, manufacturing, health, education, other."
            ]
        }
        assert models.Company.all_objects.count() == 0

    def test_unknown_tag_is_refused_and_nothing_is_created(self, api, vip):
        response = api.post(
            f"{API}/companies/", {"name": "Acme", "tags": ["VIP", "Gold"]}, format="json"
        )

        assert response.status_code == 400
        assert response.json() == {
            "tags": ["No tag is named 'Gold'; create the tag first or use an existing name."]
        }
        assert models.Company.all_objects.count() == 0
        assert models.TaggedItem.objects.count() == 0

    def test_domain_uniqueness_is_checked_after_normalisation_and_counts_archived(self, api):
        CompanyFactory(domain="acme.com").archive()

        response = api.post(f"{API}/companies/", {"name": "Acme 2", "domain": "WWW.ACME.COM"})

        assert response.status_code == 400
        assert response.json() == {
            "domain": [
                "Another company (perhaps archived) already has this domain; "
                "use that one or change the value."
            ]
        }
        assert models.Company.all_objects.count() == 1

    def test_retrieve(self, api, admin_user, vip):
        with acting_as(admin_user):
            company = CompanyFactory(name="Acme", domain="acme.com", industry="retail")
        record_tags_set(record=company, tags=[vip])

        response = api.get(f"{API}/companies/{company.pk}/")

        assert response.status_code == 200
        assert response.json()["tags"] == ["VIP"]
        assert response.json()["domain"] == "acme.com"
        assert response.json()["owner"] == admin_user.pk

    def test_patch_changes_only_the_fields_sent_and_records_them(self, api, admin_user, vip):
        company = CompanyFactory(name="Acme", city="Lyon")
        record_tags_set(record=company, tags=[vip])
        partner = TagFactory(name="Partner")

        response = api.patch(
            f"{API}/companies/{company.pk}/",
            {"name": "Acme Corp", "tags": ["Partner"]},
            format="json",
        )

        assert response.status_code == 200
        assert (response.json()["name"], response.json()["tags"]) == ("Acme Corp", ["Partner"])
        company.refresh_from_db()
        assert (company.name, company.city, company.updated_by) == ("Acme Corp", "Lyon", admin_user)
        assert list(company.tagged_items.values_list("tag", flat=True)) == [partner.pk]
        changed = models.TimelineEntry.objects.get(action="changed")
        assert (changed.field, changed.old_value, changed.new_value, changed.actor) == (
            "name",
            "Acme",
            "Acme Corp",
            admin_user,
        )

    def test_put_replaces_the_record(self, api):
        company = CompanyFactory(name="Acme", city="Lyon")

        response = api.put(f"{API}/companies/{company.pk}/", {"name": "Globex"}, format="json")

        assert response.status_code == 200
        company.refresh_from_db()
        assert (company.name, company.city) == ("Globex", "Lyon")

    def test_delete_archives_and_restore_brings_back(self, api, admin_user):
        company = CompanyFactory(name="Acme")

        response = api.delete(f"{API}/companies/{company.pk}/")

        assert response.status_code == 204
        archived = models.Company.all_objects.get(pk=company.pk)
        assert archived.deleted_at is not None
        assert api.get(f"{API}/companies/{company.pk}/").status_code == 404
        assert api.get(f"{API}/companies/").json()["count"] == 0
        listed = api.get(f"{API}/companies/", {"archived": "true"}).json()["results"]
        assert [row["id"] for row in listed] == [company.pk]
        assert listed[0]["archived_at"] == iso(archived.deleted_at)

        response = api.post(f"{API}/companies/{company.pk}/restore/")

        assert response.status_code == 200
        assert response.json()["archived_at"] is None
        assert models.Company.objects.filter(pk=company.pk).exists()
        actions = list(
            models.TimelineEntry.objects.filter(record_id=company.pk)
            .order_by("pk")
            .values_list("action", "actor")
        )
        assert actions == [
            ("created", None),
            ("archived", admin_user.pk),
            ("restored", admin_user.pk),
        ]

    def test_unknown_id_is_404(self, api):
        assert api.get(f"{API}/companies/999/").status_code == 404


# -- Contacts ------------------------------------------------------------------------------


class TestContacts:
    def test_create_with_inline_emails_and_phones(self, api, admin_user):
        company = CompanyFactory()

        response = api.post(
            f"{API}/contacts/",
            {
                "first_name": "Ann",
                "last_name": "Lee",
                "email": " Ann.Lee@Example.COM",
                "phone": "06 12 34 56 78",
                "job_title": "CTO",
                "company": company.pk,
                "emails": [{"email": "ANN@home.example.org", "label": "personal"}],
                "phones": [{"number": "+33 6 00 00 00 01", "label": "mobile"}],
            },
            format="json",
        )

        assert response.status_code == 201, response.data
        contact = models.Contact.objects.get()
        assert response.json() == {
            "id": contact.pk,
            "first_name": "Ann",
            "last_name": "Lee",
            "email": "ann.lee@example.com",
            "phone": "0612345678",
            "job_title": "CTO",
            "company": company.pk,
            "emails": [{"email": "ann@home.example.org", "label": "personal"}],
            "phones": [{"number": "+33600000001", "label": "mobile"}],
            "tags": [],
            **record_stamps(contact, admin_user),
        }
        assert list(contact.emails.values_list("email", "label")) == [
            ("ann@home.example.org", "personal")
        ]
        assert list(contact.phones.values_list("number", "label")) == [("+33600000001", "mobile")]

    def test_patch_replaces_the_listed_inline_rows_and_keeps_the_others(self, api):
        contact = ContactFactory()
        kept = ContactEmailFactory(contact=contact, email="kept@example.org", label="work")
        ContactEmailFactory(contact=contact, email="gone@example.org")
        phone = ContactPhoneFactory(contact=contact, number="+33600000001")

        response = api.patch(
            f"{API}/contacts/{contact.pk}/",
            {
                "emails": [
                    {"email": "KEPT@example.org", "label": "other"},
                    {"email": "new@example.org", "label": "work"},
                ]
            },
            format="json",
        )

        assert response.status_code == 200, response.data
        assert sorted(contact.emails.values_list("email", "label")) == [
            ("kept@example.org", "other"),
            ("new@example.org", "work"),
        ]
        assert contact.emails.get(email="kept@example.org").pk == kept.pk
        assert list(contact.phones.all()) == [phone]
        assert sorted(row["email"] for row in response.json()["emails"]) == [
            "kept@example.org",
            "new@example.org",
        ]

    def test_an_email_listed_twice_is_refused_and_nothing_changes(self, api):
        contact = ContactFactory()
        ContactEmailFactory(contact=contact, email="a@example.org")

        response = api.patch(
            f"{API}/contacts/{contact.pk}/",
            {"emails": [{"email": "b@example.org"}, {"email": "B@Example.org "}]},
            format="json",
        )

        assert response.status_code == 400
        assert response.json() == {
            "emails": ["The email b@example.org is listed more than once; list each once."]
        }
        assert list(contact.emails.values_list("email", flat=True)) == ["a@example.org"]

    def test_an_unknown_label_is_refused(self, api):
        response = api.post(
            f"{API}/contacts/",
            {"last_name": "Lee", "phones": [{"number": "0600000000", "label": "fax"}]},
            format="json",
        )

        assert response.status_code == 400
        assert response.json() == {
            "phones": {
                "0": {
                    "label": [
                        "'fax' is not an active option of the list 'contact_point_label'; "
                        "use one of: work, personal, mobile, other."
                    ]
                }
            }
        }
        assert models.Contact.all_objects.count() == 0

    def test_main_email_is_unique_case_insensitively(self, api):
        ContactFactory(email="ann@example.com")

        response = api.post(f"{API}/contacts/", {"last_name": "Lee", "email": "ANN@example.com"})

        assert response.status_code == 400
        assert list(response.json()) == ["email"]
        assert models.Contact.all_objects.count() == 1


# -- Deals ---------------------------------------------------------------------------------


class TestDeals:
    def test_create_in_a_pipeline_stage(self, api, admin_user):
        company = CompanyFactory()
        renewals = models.Pipeline.objects.get(name="Renewals")
        discussion = stage("Renewals", "In discussion")

        response = api.post(
            f"{API}/deals/",
            {
                "name": "Renewal 2027",
                "company": company.pk,
                "pipeline": renewals.pk,
                "stage": discussion.pk,
                "amount": "12000.50",
                "currency": "USD",
                "expected_close": "2027-01-31",
            },
            format="json",
        )

        assert response.status_code == 201, response.data
        deal = models.Deal.objects.get()
        assert response.json() == {
            "id": deal.pk,
            "name": "Renewal 2027",
            "company": company.pk,
            "pipeline": renewals.pk,
            "stage": discussion.pk,
            "amount": "12000.50",
            "currency": "USD",
            "expected_close": "2027-01-31",
            "contacts": [],
            "tags": [],
            **record_stamps(deal, admin_user),
        }
        assert deal.amount == Decimal("12000.50")
        change = models.StageChange.objects.get()
        assert (change.from_stage, change.to_stage, change.changed_by) == (
            None,
            discussion,
            admin_user,
        )

    def test_a_stage_of_another_pipeline_is_refused_and_nothing_is_created(self, api):
        response = api.post(
            f"{API}/deals/",
            {
                "name": "Mixed up",
                "pipeline": models.Pipeline.objects.get(name="Sales").pk,
                "stage": stage("Renewals", "Renewed").pk,
            },
        )

        assert response.status_code == 400
        assert response.json() == {
            "stage": [
                "The stage Renewed belongs to the pipeline Renewals, not Sales; "
                "pick a stage of Sales."
            ]
        }
        assert models.Deal.all_objects.count() == 0

    def test_without_pipeline_nor_stage_the_default_pipeline_and_first_stage_are_used(self, api):
        response = api.post(f"{API}/deals/", {"name": "New"})

        assert response.status_code == 201
        deal = models.Deal.objects.get()
        assert (deal.pipeline.name, deal.stage.name) == ("Sales", "Lead")

    def test_a_stage_alone_brings_its_pipeline(self, api):
        response = api.post(
            f"{API}/deals/", {"name": "New", "stage": stage("Renewals", "Renewed").pk}
        )

        assert response.status_code == 201
        deal = models.Deal.objects.get()
        assert (deal.pipeline.name, deal.stage.name) == ("Renewals", "Renewed")

    def test_patch_stage_moves_the_deal_with_history(self, api, admin_user):
        deal = DealFactory(pipeline=models.Pipeline.objects.get(name="Sales"))
        proposal = stage("Sales", "Proposal")

        response = api.patch(f"{API}/deals/{deal.pk}/", {"stage": proposal.pk})

        assert response.status_code == 200
        deal.refresh_from_db()
        assert deal.stage == proposal
        moved = models.TimelineEntry.objects.get(action="moved")
        assert (moved.old_value, moved.new_value, moved.actor) == ("Lead", "Proposal", admin_user)
        assert (
            models.StageChange.objects.filter(to_stage=proposal, changed_by=admin_user).count() == 1
        )

    def test_patch_pipeline_alone_starts_at_its_first_stage(self, api):
        deal = DealFactory(pipeline=models.Pipeline.objects.get(name="Sales"))

        response = api.patch(
            f"{API}/deals/{deal.pk}/", {"pipeline": models.Pipeline.objects.get(name="Renewals").pk}
        )

        assert response.status_code == 200
        deal.refresh_from_db()
        assert (deal.pipeline.name, deal.stage.name) == ("Renewals", "Upcoming")

    def test_patch_other_fields_keeps_pipeline_and_stage(self, api):
        deal = DealFactory(pipeline=models.Pipeline.objects.get(name="Sales"))
        records_move_stage(records=[deal], stage=stage("Sales", "Won"))

        response = api.patch(f"{API}/deals/{deal.pk}/", {"amount": "10.00"})

        assert response.status_code == 200
        deal.refresh_from_db()
        assert (deal.stage.name, deal.amount) == ("Won", Decimal("10.00"))

    def test_deal_contacts_endpoint_and_nested_read(self, api):
        deal = DealFactory()
        ann = ContactFactory(first_name="Ann")

        response = api.post(
            f"{API}/deal-contacts/", {"deal": deal.pk, "contact": ann.pk, "role": "champion"}
        )

        assert response.status_code == 201, response.data
        link = models.DealContact.objects.get()
        assert response.json() == {
            "id": link.pk,
            "deal": deal.pk,
            "contact": ann.pk,
            "role": "champion",
        }
        assert api.get(f"{API}/deals/{deal.pk}/").json()["contacts"] == [
            {"id": link.pk, "contact": ann.pk, "role": "champion"}
        ]

        again = api.post(f"{API}/deal-contacts/", {"deal": deal.pk, "contact": ann.pk})
        assert again.status_code == 400
        assert models.DealContact.objects.count() == 1

        changed = api.patch(f"{API}/deal-contacts/{link.pk}/", {"role": "user"})
        assert changed.status_code == 200
        link.refresh_from_db()
        assert link.role == "user"

        assert api.delete(f"{API}/deal-contacts/{link.pk}/").status_code == 204
        assert models.DealContact.objects.count() == 0


# -- Tasks and notes -----------------------------------------------------------------------


class TestTasks:
    def test_create_attached_to_a_deal(self, api, admin_user):
        deal = DealFactory()

        response = api.post(
            f"{API}/tasks/",
            {
                "title": "Call back",
                "due_date": "2026-12-01",
                "priority": "high",
                "assignee": admin_user.pk,
                "target_type": "deal",
                "target_id": deal.pk,
            },
            format="json",
        )

        assert response.status_code == 201, response.data
        task = models.Task.objects.get()
        assert response.json() == {
            "id": task.pk,
            "title": "Call back",
            "description": "",
            "assignee": admin_user.pk,
            "due_date": "2026-12-01",
            "status": "todo",
            "priority": "high",
            "reminder_at": None,
            "completed_at": None,
            "target_type": "deal",
            "target_id": deal.pk,
            **record_stamps(task, admin_user),
        }
        assert task.target == deal

    def test_target_type_without_id_is_refused(self, api):
        response = api.post(f"{API}/tasks/", {"title": "x", "target_type": "deal"})

        assert response.status_code == 400
        assert response.json() == {
            "target_id": ["Send target_type and target_id together, or neither."]
        }
        assert models.Task.all_objects.count() == 0

    def test_a_missing_target_is_refused(self, api):
        response = api.post(f"{API}/tasks/", {"title": "x", "target_type": "deal", "target_id": 42})

        assert response.status_code == 400
        assert response.json() == {
            "target_id": ["No deal with id 42 is visible to you; check target_type and target_id."]
        }

    def test_notes_and_tasks_cannot_be_targets(self, api):
        note = NoteFactory()

        response = api.post(
            f"{API}/tasks/", {"title": "x", "target_type": "note", "target_id": note.pk}
        )

        assert response.status_code == 400
        assert response.json() == {"target_type": ['"note" is not a valid choice.']}

    def test_mark_done_sets_status_and_completion_time(self, api, admin_user):
        task = TaskFactory(status="in_progress")

        response = api.post(f"{API}/tasks/{task.pk}/mark-done/")

        assert response.status_code == 200
        task.refresh_from_db()
        assert task.status == "done"
        assert response.json()["status"] == "done"
        assert response.json()["completed_at"] == iso(task.completed_at)
        assert task.updated_by == admin_user

    def test_status_done_by_patch_sets_completion_and_reopening_clears_it(self, api):
        task = TaskFactory(status="todo")

        done = api.patch(f"{API}/tasks/{task.pk}/", {"status": "done"})
        task.refresh_from_db()
        assert done.status_code == 200
        assert task.completed_at is not None

        reopened = api.patch(f"{API}/tasks/{task.pk}/", {"status": "todo"})
        task.refresh_from_db()
        assert reopened.status_code == 200
        assert (task.status, task.completed_at) == ("todo", None)

    def test_completed_at_cannot_be_written(self, api):
        task = TaskFactory(status="todo")

        api.patch(f"{API}/tasks/{task.pk}/", {"completed_at": "2020-01-01T00:00:00Z"})

        task.refresh_from_db()
        assert task.completed_at is None

    def test_filters(self, api):
        deal = DealFactory()
        today = datetime.date(2026, 6, 15)
        on_deal = TaskFactory(title="On deal", target=deal, due_date=today, status="todo")
        TaskFactory(title="Later", due_date=today + datetime.timedelta(days=10), status="todo")
        TaskFactory(title="Done", due_date=today, status="done")

        def titles(**params) -> list[str]:
            response = api.get(f"{API}/tasks/", params)
            assert response.status_code == 200, response.data
            return sorted(row["title"] for row in response.json()["results"])

        assert titles(target_type="deal", target_id=deal.pk) == ["On deal"]
        assert titles(status="todo", due_before="2026-06-20") == ["On deal"]
        assert titles(due_after="2026-06-16") == ["Later"]
        assert titles(search="deal") == ["On deal"]
        assert on_deal.pk in [row["id"] for row in api.get(f"{API}/tasks/").json()["results"]]


class TestNotes:
    def test_crud(self, api, admin_user):
        contact = ContactFactory()

        created = api.post(
            f"{API}/notes/",
            {"body": "Met at the fair.", "target_type": "contact", "target_id": contact.pk},
        )

        assert created.status_code == 201, created.data
        note = models.Note.objects.get()
        assert created.json() == {
            "id": note.pk,
            "body": "Met at the fair.",
            "target_type": "contact",
            "target_id": contact.pk,
            **record_stamps(note, admin_user),
        }
        listed = api.get(f"{API}/notes/", {"target_type": "contact", "target_id": contact.pk})
        assert [row["id"] for row in listed.json()["results"]] == [note.pk]
        assert api.get(f"{API}/notes/", {"target_type": "deal"}).json()["count"] == 0

        assert api.patch(f"{API}/notes/{note.pk}/", {"body": "Edited."}).status_code == 200
        note.refresh_from_db()
        assert note.body == "Edited."

        assert api.delete(f"{API}/notes/{note.pk}/").status_code == 204
        assert models.Note.objects.count() == 0
        assert models.Note.all_objects.count() == 1


# -- Tags, choice lists, pipelines ---------------------------------------------------------


class TestTags:
    def test_crud(self, api):
        created = api.post(f"{API}/tags/", {"name": "VIP", "colour": "#112233"})
        assert created.status_code == 201
        tag = models.Tag.objects.get()
        assert created.json() == {"id": tag.pk, "name": "VIP", "colour": "#112233"}

        bad = api.post(f"{API}/tags/", {"name": "Bad", "colour": "red"})
        assert bad.status_code == 400
        assert bad.json() == {
            "colour": ["Enter a colour as # followed by six hex digits, for example #1f77b4."]
        }

        assert api.patch(f"{API}/tags/{tag.pk}/", {"name": "Gold"}).status_code == 200
        assert api.get(f"{API}/tags/", {"name": "gol"}).json()["results"] == [
            {"id": tag.pk, "name": "Gold", "colour": "#112233"}
        ]
        assert api.delete(f"{API}/tags/{tag.pk}/").status_code == 204
        assert models.Tag.objects.count() == 0

    def test_records_filter_by_tag(self, api, vip):
        tagged, _plain = CompanyFactory(name="Tagged"), CompanyFactory(name="Plain")
        record_tags_set(record=tagged, tags=[vip])

        rows = api.get(f"{API}/companies/", {"tag": "VIP"}).json()["results"]

        assert [row["name"] for row in rows] == ["Tagged"]


class TestChoiceLists:
    def test_list_shows_options_in_order(self, api):
        response = api.get(f"{API}/choice-lists/", {"key": "task_status"})

        assert response.status_code == 200
        [task_status] = response.json()["results"]
        assert [
            (o["value"], o["label"], o["order"], o["is_active"]) for o in task_status["options"]
        ] == [
            ("todo", "To do", 0, True),
            ("in_progress", "In progress", 1, True),
            ("waiting", "Waiting", 2, True),
            ("done", "Done", 3, True),
        ]

    def test_sending_options_reorders_adds_and_deactivates(self, api):
        task_status = models.ChoiceList.objects.get(key="task_status")

        response = api.patch(
            f"{API}/choice-lists/{task_status.pk}/",
            {
                "options": [
                    {"value": "done", "label": "Finished"},
                    {"value": "todo", "label": "To do"},
                    {"value": "blocked", "label": "Blocked", "colour": "#000000"},
                ]
            },
            format="json",
        )

        assert response.status_code == 200, response.data
        options = list(
            task_status.options.order_by("order").values_list(
                "value", "label", "order", "is_active"
            )
        )
        assert options == [
            ("done", "Finished", 0, True),
            ("todo", "To do", 1, True),
            ("blocked", "Blocked", 2, True),
            ("in_progress", "In progress", 3, False),
            ("waiting", "Waiting", 4, False),
        ]
        assert [(o["value"], o["is_active"]) for o in response.json()["options"]] == [
            ("done", True),
            ("todo", True),
            ("blocked", True),
            ("in_progress", False),
            ("waiting", False),
        ]

    def test_a_value_listed_twice_is_refused(self, api):
        task_status = models.ChoiceList.objects.get(key="task_status")

        response = api.patch(
            f"{API}/choice-lists/{task_status.pk}/",
            {"options": [{"value": "a", "label": "A"}, {"value": "a", "label": "B"}]},
            format="json",
        )

        assert response.status_code == 400
        assert response.json() == {
            "options": ["The values a are listed more than once; list each once."]
        }
        assert task_status.options.count() == 4

    def test_create_a_list_with_options(self, api):
        response = api.post(
            f"{API}/choice-lists/",
            {"key": "source", "name": "Lead source", "options": [{"value": "web", "label": "Web"}]},
            format="json",
        )

        assert response.status_code == 201, response.data
        created = models.ChoiceList.objects.get(key="source")
        assert list(created.options.values_list("value", "label", "order")) == [("web", "Web", 0)]


class TestPipelines:
    def test_list_shows_stages_in_order(self, api):
        rows = api.get(f"{API}/pipelines/", {"entity": "deal"}).json()["results"]

        assert [(row["name"], [s["name"] for s in row["stages"]]) for row in rows] == [
            ("Sales", ["Lead", "Qualified", "Proposal", "Negotiation", "Won", "Lost"]),
            ("Renewals", ["Upcoming", "In discussion", "Renewed", "Churned"]),
        ]

    def test_create_with_stages(self, api):
        response = api.post(
            f"{API}/pipelines/",
            {
                "entity": "deal",
                "name": "Partners",
                "stages": [
                    {"name": "Talk", "kind": "open", "probability": 20},
                    {"name": "Signed", "kind": "won", "probability": 100},
                ],
            },
            format="json",
        )

        assert response.status_code == 201, response.data
        pipeline = models.Pipeline.objects.get(name="Partners")
        assert list(pipeline.stages.values_list("name", "kind", "probability", "order")) == [
            ("Talk", "open", 20, 0),
            ("Signed", "won", 100, 1),
        ]

    def test_an_unknown_entity_is_refused(self, api):
        response = api.post(f"{API}/pipelines/", {"entity": "contact", "name": "X"}, format="json")

        assert response.status_code == 400
        assert response.json() == {"entity": ['"contact" is not a valid choice.']}

    def test_removing_a_stage_in_use_is_refused_and_nothing_changes(self, api):
        sales = models.Pipeline.objects.get(name="Sales")
        DealFactory(pipeline=sales)  # stands in Lead
        kept = [{"id": s.pk, "name": s.name} for s in sales.stages.exclude(name="Lead")]

        response = api.patch(f"{API}/pipelines/{sales.pk}/", {"stages": kept}, format="json")

        assert response.status_code == 400
        assert response.json() == {
            "stages": [
                "The stage Lead still holds 1 record(s); "
                "move them to another stage before removing it."
            ]
        }
        assert sales.stages.count() == 6

    def test_stages_are_renamed_reordered_added_and_removed(self, api):
        renewals = models.Pipeline.objects.get(name="Renewals")
        upcoming, discussion = stage("Renewals", "Upcoming"), stage("Renewals", "In discussion")

        response = api.patch(
            f"{API}/pipelines/{renewals.pk}/",
            {
                "stages": [
                    {"id": discussion.pk, "name": "Talking"},
                    {"id": upcoming.pk, "name": "Upcoming"},
                    {"name": "Renewed", "kind": "won", "probability": 100},
                ]
            },
            format="json",
        )

        assert response.status_code == 200, response.data
        assert list(renewals.stages.order_by("order").values_list("pk", "name", "order")) == [
            (discussion.pk, "Talking", 0),
            (upcoming.pk, "Upcoming", 1),
            (models.Stage.objects.get(pipeline=renewals, name="Renewed").pk, "Renewed", 2),
        ]

    def test_deleting_a_pipeline_in_use_is_a_conflict(self, api):
        sales = models.Pipeline.objects.get(name="Sales")
        DealFactory(pipeline=sales)

        response = api.delete(f"{API}/pipelines/{sales.pk}/")

        assert response.status_code == 409
        assert response.json() == {
            "detail": "This pipeline is still used by 1 record(s); move or remove them first."
        }
        assert models.Pipeline.objects.filter(pk=sales.pk).exists()


# -- Timeline and stage history ------------------------------------------------------------


class TestTimeline:
    def test_filter_by_record(self, api, admin_user):
        with acting_as(admin_user):
            deal = DealFactory(
                name="Big deal", company=None, pipeline=models.Pipeline.objects.get(name="Sales")
            )
            records_move_stage(records=[deal], stage=stage("Sales", "Won"))
        CompanyFactory()

        response = api.get(f"{API}/timeline/", {"record_type": "deal", "record_id": deal.pk})

        assert response.status_code == 200
        entries = models.TimelineEntry.objects.filter(record_id=deal.pk, action="moved")
        moved = entries.get()
        assert response.json()["results"][0] == {
            "id": moved.pk,
            "record_type": "deal",
            "record_id": deal.pk,
            "record_repr": "Big deal",
            "action": "moved",
            "field": "stage",
            "old_value": "Lead",
            "new_value": "Won",
            "actor": admin_user.pk,
            "actor_name": admin_user.get_full_name(),
            "at": iso(moved.at),
        }
        assert [row["action"] for row in response.json()["results"]] == ["moved", "created"]
        assert api.get(f"{API}/timeline/", {"record_type": "company"}).json()["count"] == 1
        assert api.get(f"{API}/timeline/", {"action": "moved"}).json()["count"] == 1

    def test_unknown_record_type_is_a_400(self, api):
        response = api.get(f"{API}/timeline/", {"record_type": "planet"})

        assert response.status_code == 400
        assert list(response.json()) == ["record_type"]

    def test_timeline_is_read_only(self, api, superuser):
        company = CompanyFactory()
        entry = models.TimelineEntry.objects.get()
        root = token_client(superuser)

        # Nobody has the add/delete permissions of history tables; even a superuser, who
        # has every permission, finds no such method.
        posted = api.post(f"{API}/timeline/", {"record_type": "company", "record_id": company.pk})
        deleted = api.delete(f"{API}/timeline/{entry.pk}/")
        root_posted = root.post(f"{API}/timeline/", {"record_id": company.pk})
        root_deleted = root.delete(f"{API}/timeline/{entry.pk}/")

        assert (posted.status_code, deleted.status_code) == (403, 403)
        assert (root_posted.status_code, root_deleted.status_code) == (405, 405)
        assert list(models.TimelineEntry.objects.all()) == [entry]

    def test_stage_changes_filter_by_record(self, api, admin_user):
        deal = DealFactory(pipeline=models.Pipeline.objects.get(name="Sales"))
        DealFactory()
        with acting_as(admin_user):
            records_move_stage(records=[deal], stage=stage("Sales", "Lost"))

        rows = api.get(
            f"{API}/stage-changes/", {"record_type": "deal", "record_id": deal.pk}
        ).json()["results"]

        assert [(r["from_stage"], r["to_stage"], r["changed_by"]) for r in rows] == [
            (stage("Sales", "Lead").pk, stage("Sales", "Lost").pk, admin_user.pk),
            (None, stage("Sales", "Lead").pk, None),
        ]


# -- Filters, search, ordering, pagination -------------------------------------------------


class TestListing:
    def test_company_filters_search_and_ordering(self, api):
        CompanyFactory(name="Acme", city="Lyon", industry="software", domain="acme.com")
        CompanyFactory(name="Globex", city="Paris", industry="retail", domain="globex.com")
        CompanyFactory(name="Initech", city="lyon", industry="software", domain="initech.com")

        def names(**params) -> list[str]:
            response = api.get(f"{API}/companies/", params)
            assert response.status_code == 200, response.data
            return [row["name"] for row in response.json()["results"]]

        assert names() == ["Acme", "Globex", "Initech"]
        assert names(ordering="-name") == ["Initech", "Globex", "Acme"]
        assert names(industry="software") == ["Acme", "Initech"]
        assert names(city="LYON") == ["Acme", "Initech"]
        assert names(search="glob") == ["Globex"]
        assert names(search="initech.com") == ["Initech"]
        assert names(name="ni") == ["Initech"]

    def test_unknown_ordering_field_is_ignored(self, api):
        CompanyFactory(name="B")
        CompanyFactory(name="A")

        rows = api.get(f"{API}/companies/", {"ordering": "description"}).json()["results"]

        assert [row["name"] for row in rows] == ["A", "B"]

    def test_contact_filters(self, api):
        acme = CompanyFactory(name="Acme")
        ann = ContactFactory(first_name="Ann", last_name="Lee", company=acme, email="ann@acme.com")
        ContactFactory(first_name="Bob", last_name="Stone")
        deal = DealFactory()
        DealContactFactory(deal=deal, contact=ann)

        def names(**params) -> list[str]:
            response = api.get(f"{API}/contacts/", params)
            assert response.status_code == 200, response.data
            return [row["last_name"] for row in response.json()["results"]]

        assert names() == ["Lee", "Stone"]
        assert names(company=acme.pk) == ["Lee"]
        assert names(email="ANN@acme.com") == ["Lee"]
        assert names(search="acme") == ["Lee"]
        assert names(deal=deal.pk) == ["Lee"]
        assert names(ordering="-last_name") == ["Stone", "Lee"]

    def test_deal_filters(self, api):
        sales = models.Pipeline.objects.get(name="Sales")
        won = DealFactory(name="Won one", pipeline=sales, amount=Decimal("5000"))
        records_move_stage(records=[won], stage=stage("Sales", "Won"))
        DealFactory(name="Open one", pipeline=sales, amount=Decimal("100"))
        DealFactory(
            name="Renewal",
            pipeline=models.Pipeline.objects.get(name="Renewals"),
            amount=Decimal("900"),
        )

        def names(**params) -> list[str]:
            response = api.get(f"{API}/deals/", params)
            assert response.status_code == 200, response.data
            return sorted(row["name"] for row in response.json()["results"])

        assert names(stage_kind="won") == ["Won one"]
        assert names(pipeline=sales.pk) == ["Open one", "Won one"]
        assert names(amount_min="500", amount_max="1000") == ["Renewal"]
        rows = api.get(f"{API}/deals/", {"ordering": "-amount"}).json()["results"]
        assert [row["name"] for row in rows] == ["Won one", "Renewal", "Open one"]

    def test_pagination_by_fifty(self, api):
        CompanyFactory.create_batch(51)

        first = api.get(f"{API}/companies/").json()
        second = api.get(f"{API}/companies/", {"page": 2}).json()

        assert (first["count"], len(first["results"]), first["previous"]) == (51, 50, None)
        assert first["next"] == "http://testserver/api/crm/companies/?page=2"
        assert (len(second["results"]), second["next"]) == (1, None)
        ids = [row["id"] for row in first["results"] + second["results"]]
        assert sorted(ids) == sorted(models.Company.objects.values_list("pk", flat=True))
        assert api.get(f"{API}/companies/", {"page": 3}).status_code == 404


# -- Authentication -------------------------------------------------------------------------


class TestTokenAuthentication:
    def test_without_credentials_the_api_answers_401(self, admin_user):
        response = APIClient().get(f"{API}/companies/")

        assert response.status_code == 401

    def test_a_wrong_token_is_refused_and_nothing_is_created(self, admin_user):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

        response = client.post(f"{API}/companies/", {"name": "Acme"})

        assert response.status_code == 401
        assert response.json() == {"detail": "Invalid token."}
        assert models.Company.all_objects.count() == 0

    def test_a_valid_token_authenticates_and_stamps_the_token_user(self, admin_user):
        response = token_client(admin_user).post(f"{API}/companies/", {"name": "Acme"})

        assert response.status_code == 201
        assert models.Company.objects.get().created_by == admin_user

    def test_a_session_works_too(self, admin_user):
        client = APIClient()
        client.force_login(admin_user)

        assert client.get(f"{API}/companies/").status_code == 200


# -- Query counts ----------------------------------------------------------------------------


def _make_rows(kind: str, count: int) -> None:
    vip = TagFactory(name="VIP")
    for _ in range(count):
        if kind == "companies":
            record_tags_set(record=CompanyFactory(), tags=[vip])
        elif kind == "contacts":
            contact = ContactFactory()
            ContactEmailFactory(contact=contact)
            ContactPhoneFactory(contact=contact)
            record_tags_set(record=contact, tags=[vip])
        elif kind == "deals":
            deal = DealContactFactory().deal
            record_tags_set(record=deal, tags=[vip])
        elif kind == "deal-contacts":
            DealContactFactory()
        elif kind == "tasks":
            TaskFactory(target=CompanyFactory())
        elif kind == "notes":
            NoteFactory(target=ContactFactory(company=None))
        elif kind == "tags":
            TagFactory()
        elif kind == "choice-lists":
            list_ = models.ChoiceList.objects.create(
                key=f"list{models.ChoiceList.objects.count()}", name="L"
            )
            models.ChoiceOption.objects.create(choice_list=list_, value="a", label="A")
        elif kind == "pipelines":
            pipeline = models.Pipeline.objects.create(entity="deal", name="P")
            models.Stage.objects.create(pipeline=pipeline, name="S")
        elif kind in {"timeline", "stage-changes"}:
            user = UserFactory()
            with acting_as(user):
                DealFactory(company=None)


LISTS = [
    "companies",
    "contacts",
    "deals",
    "deal-contacts",
    "tasks",
    "notes",
    "tags",
    "choice-lists",
    "pipelines",
    "timeline",
    "stage-changes",
]


def _queries_for_list(api: APIClient, endpoint: str) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as captured:
        response = api.get(f"{API}/{endpoint}/")
    assert response.status_code == 200
    return len(captured), len(response.json()["results"])


@pytest.mark.parametrize("endpoint", LISTS)
def test_list_pages_cost_the_same_number_of_queries_at_3_and_30_rows(api, endpoint):
    _make_rows(endpoint, 3)
    few, few_rows = _queries_for_list(api, endpoint)
    _make_rows(endpoint, 27)
    many, many_rows = _queries_for_list(api, endpoint)

    assert many_rows > few_rows >= 3
    assert few == many


def test_contact_list_query_count_is_exact(api):
    _make_rows("contacts", 30)

    queries, rows = _queries_for_list(api, "contacts")

    # token, role policy, the user's permissions (2), count, page, then one query each for
    # emails, phones, and tag links with their tags
    assert (queries, rows) == (9, 30)


# -- Schema and docs ---------------------------------------------------------------------------


def test_schema_is_served_to_signed_in_users(api):
    response = api.get(f"{API}/schema/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    body = response.content.decode()
    assert "/api/crm/contacts/{id}/restore/:" in body
    assert "/api/crm/tasks/{id}/mark-done/:" in body
    paths = re.findall(r"^  (/\S*):$", body, re.MULTILINE)
    assert len(paths) == 28
    assert [p for p in paths if not p.startswith("/api/crm/")] == []


def test_schema_and_docs_need_a_signed_in_user(db):
    assert APIClient().get(f"{API}/schema/").status_code == 401
    assert APIClient().get(f"{API}/docs/").status_code == 401


def test_docs_page_loads_swagger_ui_from_our_own_static_files(admin_user):
    client = APIClient()
    client.force_login(admin_user)

    response = client.get(f"{API}/docs/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()
    assert "/api/crm/schema/" in page


def test_api_root_lists_the_endpoints(api):
    response = api.get(f"{API}/")

    assert response.status_code == 200
    assert sorted(response.json()) == sorted(LISTS)


def test_tag_names_read_a_regular_prefetch_without_extra_queries(db):
    """Querysets prefetching ``tagged_items__tag`` the usual way cost no query per row."""
    from crm.api.serializers import CompanySerializer

    vip = TagFactory(name="VIP")
    for _ in range(5):
        record_tags_set(record=CompanyFactory(), tags=[vip])
    queryset = models.Company.objects.prefetch_related("tagged_items__tag")

    with CaptureQueriesContext(connection) as captured:
        data = CompanySerializer(queryset, many=True).data

    assert [row["tags"] for row in data] == [["VIP"]] * 5
    assert len(captured) == 3  # companies, links, tags


def test_page_size_can_be_asked_for_up_to_the_maximum(api):
    ContactFactory.create_batch(3)

    two = api.get("/api/crm/contacts/?page_size=2").json()
    capped = api.get("/api/crm/contacts/?page_size=5000").json()

    assert (two["count"], len(two["results"]), two["next"] is not None) == (3, 2, True)
    assert (capped["count"], len(capped["results"]), capped["next"]) == (3, 3, None)
