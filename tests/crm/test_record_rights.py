"""Who may choose a record's owner, and who may archive and restore, in the admin and the API.

Each rule lives in one place (``record_owner_check``; ``ARCHIVE``), so these tests go through
every door that reaches it and expect the same answer from each. Every refusal also checks
that nothing changed in the database.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from crm import models
from crm.factories import CompanyFactory, ContactFactory, DealFactory, UserFactory
from crm.kit.current_user import acting_as
from crm.kit.roles import (
    OWNER_HANDOVER_REFUSED,
    OWNER_OF_NEW_RECORD_REFUSED,
    ROLE_MANAGER,
    ROLE_MEMBER,
    role_groups_install,
)
from crm.kit.services import records_archive
from tests.crm.test_api_permissions import API, row_counts, snapshot, token_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def roles(db):
    return role_groups_install(app_label="crm", own_records_only={ROLE_MEMBER})


def staff_user(username: str, group: Group):
    user = UserFactory(username=username, is_staff=True)
    user.groups.add(group)
    return user


@pytest.fixture
def member(roles):
    """A Member limited to their own records."""
    return staff_user("mo", roles[ROLE_MEMBER])


@pytest.fixture
def manager(roles):
    return staff_user("max", roles[ROLE_MANAGER])


@pytest.fixture
def other(db):
    return UserFactory(username="olga")


def own_company(user, **values):
    with acting_as(user):
        return CompanyFactory(name="Mine Ltd", domain="mine.example.com", **values)


# -- Owner through the API -----------------------------------------------------------------


def new_records(sent: dict) -> dict[str, dict]:
    """(endpoint → body) creating one record of each kind, with ``sent`` added to each body."""
    return {
        "companies": {"name": "New Co", **sent},
        "contacts": {"last_name": "New", **sent},
        "deals": {"name": "New deal", **sent},
        "tasks": {"title": "New task", **sent},
        "notes": {"body": "New note", **sent},
    }


class TestOwnerThroughTheApi:
    def test_a_user_limited_to_own_records_cannot_create_records_for_someone_else(
        self, member, other
    ):
        client = token_client(member)
        before = row_counts()

        answers = {
            endpoint: client.post(f"{API}/{endpoint}/", body, format="json")
            for endpoint, body in new_records({"owner": other.pk}).items()
        }

        refused = (400, {"owner": [OWNER_OF_NEW_RECORD_REFUSED]})
        answered = {endpoint: (a.status_code, a.json()) for endpoint, a in answers.items()}
        assert answered == dict.fromkeys(answers, refused)
        assert row_counts() == before

    @pytest.mark.parametrize("sent", ["left out", "null", "themselves"])
    def test_their_new_records_are_theirs_when_the_owner_is_left_out_null_or_them(
        self, member, sent
    ):
        client = token_client(member)
        bodies = new_records(
            {"left out": {}, "null": {"owner": None}, "themselves": {"owner": member.pk}}[sent]
        )

        answers = [
            client.post(f"{API}/{endpoint}/", body, format="json")
            for endpoint, body in bodies.items()
        ]

        assert [(answer.status_code, answer.json()["owner"]) for answer in answers] == [
            (201, member.pk)
        ] * len(bodies)

    def test_a_user_limited_to_own_records_cannot_hand_a_record_over(self, member, other):
        client = token_client(member)
        company = own_company(member)
        before, counts = snapshot(company), row_counts()
        url = f"{API}/companies/{company.pk}/"

        to_other = client.patch(url, {"owner": other.pk, "city": "Oslo"}, format="json")
        to_nobody = client.patch(url, {"owner": None}, format="json")
        put = client.put(url, {"name": "Mine Ltd", "owner": other.pk}, format="json")

        assert [to_other.status_code, to_nobody.status_code, put.status_code] == [400, 400, 400]
        assert to_other.json() == {"owner": [OWNER_HANDOVER_REFUSED]}
        assert to_nobody.json() == {"owner": [OWNER_HANDOVER_REFUSED]}
        assert put.json() == {"owner": [OWNER_HANDOVER_REFUSED]}
        assert snapshot(company) == before
        assert row_counts() == counts

    def test_a_user_limited_to_own_records_may_keep_themselves_as_owner(self, member):
        client = token_client(member)
        company = own_company(member)

        response = client.patch(
            f"{API}/companies/{company.pk}/", {"owner": member.pk, "city": "Oslo"}, format="json"
        )

        assert response.status_code == 200
        company.refresh_from_db()
        assert (company.owner, company.city) == (member, "Oslo")

    def test_a_user_not_limited_chooses_any_owner_and_hands_records_over(self, manager, other):
        client = token_client(manager)
        company = own_company(manager)

        created = client.post(f"{API}/companies/", {"name": "For Olga", "owner": other.pk})
        handed = client.patch(f"{API}/companies/{company.pk}/", {"owner": other.pk})
        unowned = client.patch(f"{API}/companies/{company.pk}/", {"owner": None}, format="json")

        assert (created.status_code, handed.status_code, unowned.status_code) == (201, 200, 200)
        assert models.Company.objects.get(name="For Olga").owner == other
        assert (handed.json()["owner"], unowned.json()["owner"]) == (other.pk, None)


# -- Owner through the admin ---------------------------------------------------------------


def company_form(client, url: str, **values) -> dict:
    """What the company page sends: ``values`` for the company, no inline rows."""
    page = client.get(url)
    assert page.status_code == 200
    data = {
        "name": "Mine Ltd",
        "domain": "mine.example.com",
        "industry": "",
        "phone": "",
        "address": "",
        "city": "",
        "country": "",
        "description": "",
        "owner": "",
        **values,
    }
    for inline in page.context["inline_admin_formsets"]:
        prefix = inline.formset.prefix
        data |= {f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0}
    return data


ADD_URL = reverse("crm:crm_company_add")


def change_url(record) -> str:
    return reverse(f"crm:crm_{record._meta.model_name}_change", args=[record.pk])


def changelist_url(model) -> str:
    return reverse(f"crm:crm_{model._meta.model_name}_changelist")


class TestOwnerThroughTheAdmin:
    def test_a_user_limited_to_own_records_cannot_add_a_record_for_someone_else(
        self, client, member, other
    ):
        client.force_login(member)
        data = company_form(client, ADD_URL, owner=other.pk)
        before = row_counts()

        response = client.post(ADD_URL, data)

        assert response.status_code == 200
        assert response.context["adminform"].form.errors == {"owner": [OWNER_OF_NEW_RECORD_REFUSED]}
        assert row_counts() == before

    def test_their_new_record_is_theirs_when_the_owner_is_left_empty(self, client, member):
        client.force_login(member)

        response = client.post(ADD_URL, company_form(client, ADD_URL, owner=""))

        assert response.status_code == 302
        assert models.Company.objects.get(name="Mine Ltd").owner == member

    @pytest.mark.parametrize("handed_to", ["other", "nobody"])
    def test_a_user_limited_to_own_records_cannot_hand_a_record_over(
        self, client, member, other, handed_to
    ):
        company = own_company(member)
        client.force_login(member)
        url = change_url(company)
        owner = other.pk if handed_to == "other" else ""
        data = company_form(client, url, owner=owner, city="Oslo")
        before, counts = snapshot(company), row_counts()

        response = client.post(url, data)

        assert response.status_code == 200
        assert response.context["adminform"].form.errors == {"owner": [OWNER_HANDOVER_REFUSED]}
        assert snapshot(company) == before
        assert row_counts() == counts

    def test_a_user_limited_to_own_records_may_keep_themselves_as_owner(self, client, member):
        company = own_company(member)
        client.force_login(member)
        url = change_url(company)

        response = client.post(url, company_form(client, url, owner=member.pk, city="Oslo"))

        assert response.status_code == 302
        company.refresh_from_db()
        assert (company.owner, company.city) == (member, "Oslo")

    def test_a_user_not_limited_chooses_any_owner_and_hands_records_over(
        self, client, manager, other
    ):
        company = own_company(manager)
        client.force_login(manager)
        url = change_url(company)

        added = client.post(
            ADD_URL, company_form(client, ADD_URL, name="For Olga", domain="", owner=other.pk)
        )
        handed = client.post(url, company_form(client, url, owner=other.pk))

        assert (added.status_code, handed.status_code) == (302, 302)
        assert models.Company.objects.get(name="For Olga").owner == other
        company.refresh_from_db()
        assert company.owner == other


# -- Archive and restore -------------------------------------------------------------------


def group_with(name: str, codenames: list[str]) -> Group:
    group = Group.objects.create(name=name)
    group.permissions.set(
        Permission.objects.filter(content_type__app_label="crm", codename__in=codenames)
    )
    return group


def run_action(client, action: str, records, query: str = "") -> tuple[int, list[str]]:
    """Run a bulk action from a record list: the status it answers and the messages shown next."""
    model = type(records[0])
    data = {"action": action, "_selected_action": [r.pk for r in records], "index": 0}
    response = client.post(changelist_url(model) + query, data, follow=True)
    status = response.redirect_chain[0][1] if response.redirect_chain else response.status_code
    return status, [str(message) for message in response.context["messages"]]


def offered_actions(client) -> list[str]:
    page = client.get(changelist_url(models.Company))
    return [name for name, _label in page.context["action_form"].fields["action"].choices if name]


@pytest.fixture
def companies(db):
    owner = UserFactory(username="olga")
    with acting_as(owner):
        live = CompanyFactory(name="Live Co", owner=owner)
        archived = CompanyFactory(name="Old Co", owner=owner)
        records_archive(records=[archived])
    return live, archived


class TestArchiveAndRestoreNeedTheDeleteRight:
    """The admin's bulk actions and the API's DELETE and restore ask for the same right."""

    def test_without_delete_the_admin_neither_offers_nor_runs_archive_and_restore(
        self, client, companies
    ):
        user = staff_user("chad", group_with("Changers", ["view_company", "change_company"]))
        live, archived = companies
        client.force_login(user)
        live_before, archived_before, counts = snapshot(live), snapshot(archived), row_counts()

        offered = offered_actions(client)
        archive = run_action(client, "archive_selected", [live])
        restore = run_action(client, "restore_selected", [archived], "?archived=yes")

        assert offered == ["export_csv"]
        assert archive == (302, ["No action selected."])
        assert restore == (302, ["No action selected."])
        assert (snapshot(live), snapshot(archived)) == (live_before, archived_before)
        assert row_counts() == counts

    def test_without_delete_the_api_neither_archives_nor_restores(self, companies):
        user = staff_user("chad", group_with("Changers", ["view_company", "change_company"]))
        client = token_client(user)
        live, archived = companies
        live_before, archived_before, counts = snapshot(live), snapshot(archived), row_counts()

        deleted = client.delete(f"{API}/companies/{live.pk}/")
        restored = client.post(f"{API}/companies/{archived.pk}/restore/")

        assert (deleted.status_code, restored.status_code) == (403, 403)
        assert restored.json() == {"detail": "You do not have permission to perform this action."}
        assert (snapshot(live), snapshot(archived)) == (live_before, archived_before)
        assert row_counts() == counts

    def test_with_delete_alone_the_admin_archives_and_restores(self, client, companies):
        user = staff_user("dora", group_with("Archivists", ["view_company", "delete_company"]))
        live, archived = companies
        client.force_login(user)

        offered = offered_actions(client)
        archive = run_action(client, "archive_selected", [live])
        restore = run_action(client, "restore_selected", [archived], "?archived=yes")

        assert offered == ["delete_selected", "archive_selected", "restore_selected", "export_csv"]
        assert archive == (302, ["Archived 1 company."])
        assert restore == (302, ["Restored 1 company."])
        assert models.Company.all_objects.get(pk=live.pk).deleted_at is not None
        assert models.Company.all_objects.get(pk=archived.pk).deleted_at is None

    def test_with_delete_alone_the_api_archives_and_restores(self, companies):
        user = staff_user("dora", group_with("Archivists", ["view_company", "delete_company"]))
        client = token_client(user)
        live, archived = companies

        deleted = client.delete(f"{API}/companies/{live.pk}/")
        restored = client.post(f"{API}/companies/{archived.pk}/restore/")

        assert (deleted.status_code, restored.status_code) == (204, 200)
        assert models.Company.all_objects.get(pk=live.pk).deleted_at is not None
        assert models.Company.all_objects.get(pk=archived.pk).deleted_at is None

    def test_a_member_may_neither_archive_nor_restore_in_the_admin(self, client, member):
        with acting_as(member):
            live = DealFactory(name="Mine")
            archived = ContactFactory(last_name="Gone", company=None)
            records_archive(records=[archived])
        client.force_login(member)
        live_before, archived_before, counts = snapshot(live), snapshot(archived), row_counts()

        archive = run_action(client, "archive_selected", [live])
        restore = run_action(client, "restore_selected", [archived], "?archived=yes")
        page = client.get(change_url(archived))

        assert (archive, restore) == (
            (302, ["No action selected."]),
            (302, ["No action selected."]),
        )
        assert (snapshot(live), snapshot(archived)) == (live_before, archived_before)
        assert row_counts() == counts
        assert (
            "Your role may not restore it; ask someone whose role may delete contacts to "
            "restore it." in page.content.decode()
        )

    def test_a_manager_archives_and_restores_in_the_admin(self, client, manager, companies):
        live, archived = companies
        client.force_login(manager)

        archive = run_action(client, "archive_selected", [live])
        restore = run_action(client, "restore_selected", [archived], "?archived=yes")
        page = client.get(change_url(live))

        assert archive == (302, ["Archived 1 company."])
        assert restore == (302, ["Restored 1 company."])
        assert models.Company.all_objects.get(pk=live.pk).deleted_at is not None
        assert models.Company.all_objects.get(pk=archived.pk).deleted_at is None
        assert "filter the list on “Archived” and use the action “Restore”" in (
            page.content.decode()
        )
