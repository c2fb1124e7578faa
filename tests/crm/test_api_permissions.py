"""Who may do what through the API: roles, users without a role, own-records-only roles.

Every refusal also checks that nothing changed in the database.
"""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from crm import models
from crm.factories import (
    CompanyFactory,
    ContactFactory,
    DealContactFactory,
    DealFactory,
    NoteFactory,
    TagFactory,
    TaskFactory,
    UserFactory,
)
from crm.kit.current_user import acting_as
from crm.kit.roles import (
    ROLE_MANAGER,
    ROLE_MEMBER,
    ROLE_READ_ONLY,
    role_groups_install,
)
from crm.kit.services import records_archive

pytestmark = pytest.mark.django_db

API = "/api/crm"

LIST_ENDPOINTS = (
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
)


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def user_with_role(username: str, role: str | None):
    user = UserFactory(username=username)
    if role is not None:
        user.groups.add(role_groups_install(app_label="crm")[role])
    return user


def row_counts() -> dict[str, int]:
    tables = (
        models.Company.all_objects,
        models.Contact.all_objects,
        models.Deal.all_objects,
        models.DealContact.objects,
        models.Task.all_objects,
        models.Note.all_objects,
        models.Tag.objects,
        models.TaggedItem.objects,
        models.ChoiceList.objects,
        models.ChoiceOption.objects,
        models.Pipeline.objects,
        models.Stage.objects,
        models.TimelineEntry.objects,
        models.StageChange.objects,
    )
    return {manager.model._meta.label: manager.count() for manager in tables}


def snapshot(record) -> dict:
    """Every column of a record as stored now."""
    return type(record)._base_manager.filter(pk=record.pk).values().get()


@pytest.fixture
def data(db):
    """One record of each kind, owned by someone else than the users under test."""
    owner = UserFactory(username="olga")
    with acting_as(owner):
        company = CompanyFactory(name="Acme", owner=owner)
        contact = ContactFactory(company=company, owner=owner)
        deal = DealFactory(company=company, owner=owner)
        link = DealContactFactory(deal=deal, contact=contact)
        task = TaskFactory(target=deal, owner=owner, status="todo")
        note = NoteFactory(target=deal, owner=owner)
        archived = CompanyFactory(name="Old Co", owner=owner)
        records_archive(records=[archived])
    tag = TagFactory(name="VIP")
    return {
        "owner": owner,
        "company": company,
        "contact": contact,
        "deal": deal,
        "link": link,
        "task": task,
        "note": note,
        "archived": archived,
        "tag": tag,
        "pipeline": models.Pipeline.objects.get(name="Sales"),
        "choice_list": models.ChoiceList.objects.get(key="industry"),
    }


def creations(data) -> dict[str, dict]:
    return {
        "companies": {"name": "New Co"},
        "contacts": {"last_name": "New"},
        "deals": {"name": "New deal"},
        "deal-contacts": {"deal": data["deal"].pk, "contact": ContactFactory(company=None).pk},
        "tasks": {"title": "New task"},
        "notes": {"body": "New note"},
        "tags": {"name": "New tag"},
        "choice-lists": {"key": "new_list", "name": "New list"},
        "pipelines": {"entity": "deal", "name": "New pipeline"},
    }


def changes(data) -> list[tuple[str, object, dict]]:
    """(endpoint, record, PATCH body) for each writable endpoint."""
    return [
        ("companies", data["company"], {"name": "Changed"}),
        ("contacts", data["contact"], {"last_name": "Changed"}),
        ("deals", data["deal"], {"name": "Changed"}),
        ("deal-contacts", data["link"], {"role": "user"}),
        ("tasks", data["task"], {"title": "Changed"}),
        ("notes", data["note"], {"body": "Changed"}),
        ("tags", data["tag"], {"name": "Changed"}),
        ("choice-lists", data["choice_list"], {"name": "Changed"}),
        ("pipelines", data["pipeline"], {"name": "Changed"}),
    ]


# -- Read-only -------------------------------------------------------------------------------


class TestReadOnly:
    @pytest.fixture
    def client(self, db):
        return token_client(user_with_role("rita", ROLE_READ_ONLY))

    @pytest.mark.parametrize("endpoint", LIST_ENDPOINTS)
    def test_can_read_every_list(self, client, data, endpoint):
        assert client.get(f"{API}/{endpoint}/").status_code == 200

    def test_can_read_a_record(self, client, data):
        response = client.get(f"{API}/companies/{data['company'].pk}/")

        assert response.status_code == 200
        assert response.json()["name"] == "Acme"

    def test_every_creation_is_refused_and_nothing_is_created(self, client, data):
        bodies = creations(data)
        before = row_counts()

        statuses = {
            endpoint: client.post(f"{API}/{endpoint}/", body, format="json").status_code
            for endpoint, body in bodies.items()
        }

        assert statuses == dict.fromkeys(bodies, 403)
        assert row_counts() == before

    def test_every_change_is_refused_and_nothing_changes(self, client, data):
        for endpoint, record, body in changes(data):
            before = snapshot(record)

            response = client.patch(f"{API}/{endpoint}/{record.pk}/", body, format="json")
            put = client.put(f"{API}/{endpoint}/{record.pk}/", body, format="json")

            assert (endpoint, response.status_code, put.status_code) == (endpoint, 403, 403)
            assert snapshot(record) == before

    def test_every_delete_is_refused_and_nothing_is_archived_or_deleted(self, client, data):
        before = row_counts()
        company_before = snapshot(data["company"])

        statuses = [
            client.delete(f"{API}/{endpoint}/{record.pk}/").status_code
            for endpoint, record, _body in changes(data)
        ]

        assert statuses == [403] * len(statuses)
        assert row_counts() == before
        assert snapshot(data["company"]) == company_before
        assert models.Company.objects.filter(pk=data["company"].pk).exists()

    def test_restore_and_mark_done_are_refused(self, client, data):
        archived, task = data["archived"], data["task"]
        archived_before, task_before = snapshot(archived), snapshot(task)

        restore = client.post(f"{API}/companies/{archived.pk}/restore/")
        done = client.post(f"{API}/tasks/{task.pk}/mark-done/")

        assert (restore.status_code, done.status_code) == (403, 403)
        assert snapshot(archived) == archived_before
        assert snapshot(task) == task_before
        assert snapshot(task)["status"] == "todo"


# -- No role ---------------------------------------------------------------------------------


class TestUserWithoutRole:
    @pytest.fixture
    def client(self, db):
        return token_client(user_with_role("nobody", None))

    @pytest.mark.parametrize("endpoint", LIST_ENDPOINTS)
    def test_every_list_is_refused(self, client, data, endpoint):
        response = client.get(f"{API}/{endpoint}/")

        assert response.status_code == 403
        assert response.json() == {"detail": "You do not have permission to perform this action."}

    def test_a_record_is_refused(self, client, data):
        assert client.get(f"{API}/companies/{data['company'].pk}/").status_code == 403

    def test_writes_are_refused_and_nothing_changes(self, client, data):
        bodies = creations(data)
        before = row_counts()
        company_before = snapshot(data["company"])

        created = [
            client.post(f"{API}/{e}/", b, format="json").status_code for e, b in bodies.items()
        ]
        patched = client.patch(f"{API}/companies/{data['company'].pk}/", {"name": "X"})
        deleted = client.delete(f"{API}/companies/{data['company'].pk}/")

        assert created == [403] * len(bodies)
        assert (patched.status_code, deleted.status_code) == (403, 403)
        assert row_counts() == before
        assert snapshot(data["company"]) == company_before


class TestAnonymous:
    def test_reads_and_writes_are_refused_and_nothing_is_created(self, data):
        client = APIClient()
        before = row_counts()

        assert client.get(f"{API}/companies/").status_code == 401
        assert client.post(f"{API}/companies/", {"name": "X"}).status_code == 401
        assert row_counts() == before


# -- Member and Manager ------------------------------------------------------------------------


class TestMember:
    @pytest.fixture
    def member(self, db):
        return user_with_role("mia", ROLE_MEMBER)

    @pytest.fixture
    def client(self, member):
        return token_client(member)

    def test_sees_everyone_s_records_and_can_add_and_change_them(self, client, member, data):
        listed = client.get(f"{API}/companies/").json()["results"]
        created = client.post(f"{API}/companies/", {"name": "Mine"})
        changed = client.patch(f"{API}/companies/{data['company'].pk}/", {"city": "Oslo"})

        assert [row["name"] for row in listed] == ["Acme"]
        assert (created.status_code, changed.status_code) == (201, 200)
        assert models.Company.objects.get(name="Mine").owner == member
        data["company"].refresh_from_db()
        assert data["company"].city == "Oslo"

    def test_cannot_archive_or_restore(self, client, data):
        company, archived = data["company"], data["archived"]
        company_before, archived_before = snapshot(company), snapshot(archived)

        deleted = client.delete(f"{API}/companies/{company.pk}/")
        restored = client.post(f"{API}/companies/{archived.pk}/restore/")

        assert (deleted.status_code, restored.status_code) == (403, 403)
        assert snapshot(company) == company_before
        assert snapshot(archived) == archived_before

    def test_can_mark_a_task_done(self, client, data):
        response = client.post(f"{API}/tasks/{data['task'].pk}/mark-done/")

        assert response.status_code == 200
        data["task"].refresh_from_db()
        assert data["task"].status == "done"

    def test_cannot_change_configuration(self, client, data):
        pipeline, choice_list = data["pipeline"], data["choice_list"]
        before = row_counts()
        pipeline_before, list_before = snapshot(pipeline), snapshot(choice_list)

        patched = client.patch(f"{API}/pipelines/{pipeline.pk}/", {"name": "X"})
        created = client.post(f"{API}/choice-lists/", {"key": "x", "name": "X"})

        assert (patched.status_code, created.status_code) == (403, 403)
        assert row_counts() == before
        assert (snapshot(pipeline), snapshot(choice_list)) == (pipeline_before, list_before)


class TestManager:
    @pytest.fixture
    def client(self, db):
        return token_client(user_with_role("max", ROLE_MANAGER))

    def test_can_archive_and_restore_records(self, client, data):
        company = data["company"]

        assert client.delete(f"{API}/companies/{company.pk}/").status_code == 204
        assert models.Company.all_objects.get(pk=company.pk).deleted_at is not None
        assert client.post(f"{API}/companies/{company.pk}/restore/").status_code == 200
        assert models.Company.all_objects.get(pk=company.pk).deleted_at is None

    def test_can_edit_but_not_delete_configuration(self, client, data):
        pipeline = models.Pipeline.objects.get(name="Renewals")

        patched = client.patch(f"{API}/pipelines/{pipeline.pk}/", {"name": "Renewal deals"})
        deleted = client.delete(f"{API}/pipelines/{pipeline.pk}/")

        assert (patched.status_code, deleted.status_code) == (200, 403)
        pipeline.refresh_from_db()
        assert pipeline.name == "Renewal deals"
        assert pipeline.stages.count() == 4


# -- Own records only ----------------------------------------------------------------------------


class TestOwnRecordsOnly:
    @pytest.fixture
    def member(self, db):
        groups = role_groups_install(app_label="crm", own_records_only={ROLE_MEMBER})
        user = UserFactory(username="mo")
        user.groups.add(groups[ROLE_MEMBER])
        return user

    @pytest.fixture
    def client(self, member):
        return token_client(member)

    @pytest.fixture
    def own(self, member, data):
        with acting_as(member):
            company = CompanyFactory(name="Mine Ltd")
            deal = DealFactory(company=company, name="My deal")
            contact = ContactFactory(company=company, last_name="Mine")
            link = DealContactFactory(deal=deal, contact=contact)
            task = TaskFactory(target=deal, title="My task")
        return {"company": company, "deal": deal, "contact": contact, "link": link, "task": task}

    def test_lists_show_only_their_records(self, client, own, data):
        def ids(endpoint: str) -> list[int]:
            return [row["id"] for row in client.get(f"{API}/{endpoint}/").json()["results"]]

        assert ids("companies") == [own["company"].pk]
        assert ids("contacts") == [own["contact"].pk]
        assert ids("deals") == [own["deal"].pk]
        assert ids("deal-contacts") == [own["link"].pk]
        assert ids("tasks") == [own["task"].pk]
        assert ids("notes") == []

    def test_a_filter_never_widens_the_list(self, client, own, data):
        response = client.get(f"{API}/companies/", {"owner": data["owner"].pk})

        assert response.json()["count"] == 0

    def test_others_records_are_404_for_every_method_and_stay_unchanged(self, client, own, data):
        for endpoint, key in (
            ("companies", "company"),
            ("contacts", "contact"),
            ("deals", "deal"),
            ("deal-contacts", "link"),
            ("tasks", "task"),
            ("notes", "note"),
        ):
            record = data[key]
            before = snapshot(record)

            statuses = (
                client.get(f"{API}/{endpoint}/{record.pk}/").status_code,
                client.patch(f"{API}/{endpoint}/{record.pk}/", {}, format="json").status_code,
                client.put(f"{API}/{endpoint}/{record.pk}/", {}, format="json").status_code,
            )

            assert (endpoint, statuses) == (endpoint, (404, 404, 404))
            assert snapshot(record) == before
        task_before = snapshot(data["task"])
        assert client.post(f"{API}/tasks/{data['task'].pk}/mark-done/").status_code == 404
        assert snapshot(data["task"]) == task_before

    def test_cannot_link_their_records_to_others(self, client, own, data):
        before = row_counts()

        contact = client.post(
            f"{API}/contacts/", {"last_name": "New", "company": data["company"].pk}
        )
        note = client.post(
            f"{API}/notes/", {"body": "x", "target_type": "deal", "target_id": data["deal"].pk}
        )
        link = client.post(
            f"{API}/deal-contacts/", {"deal": data["deal"].pk, "contact": own["contact"].pk}
        )

        assert contact.status_code == 400
        assert contact.json() == {
            "company": [f'Invalid pk "{data["company"].pk}" - object does not exist.']
        }
        assert note.status_code == 400
        assert note.json() == {
            "target_id": [
                f"No deal with id {data['deal'].pk} is visible to you; "
                "check target_type and target_id."
            ]
        }
        assert link.status_code == 400
        assert list(link.json()) == ["deal"]
        assert row_counts() == before

    def test_new_records_are_theirs_and_visible(self, client, member, own):
        response = client.post(f"{API}/companies/", {"name": "Fresh"})

        assert response.status_code == 201
        assert response.json()["owner"] == member.pk
        assert client.get(f"{API}/companies/{response.json()['id']}/").status_code == 200

    def test_history_shows_only_their_records(self, client, own, data):
        rows = client.get(f"{API}/timeline/", {"action": "created"}).json()["results"]
        changes = client.get(f"{API}/stage-changes/").json()["results"]

        assert sorted((row["record_type"], row["record_id"]) for row in rows) == sorted(
            [
                ("company", own["company"].pk),
                ("deal", own["deal"].pk),
                ("contact", own["contact"].pk),
                ("task", own["task"].pk),
            ]
        )
        assert [(row["record_type"], row["record_id"]) for row in changes] == [
            ("deal", own["deal"].pk)
        ]
