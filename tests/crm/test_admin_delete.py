"""Delete in the admin archives records, as the API's DELETE does; only superusers erase.

The change page's Delete, the "Delete selected" action and the Delete box of inline rows
archive live records (through ``records_archive``, so the timeline has its entry) after a
confirmation page that says how to restore. A superuser deletes permanently an archived
record only, on Django's page listing what goes with it. Every refusal checks that nothing
changed. Compiled tenant apps use the same ``RecordAdmin``: the last tests show it by the
class hierarchy of the generated admin and by running the same flows in a compiled app.
"""

from __future__ import annotations

import ast
import re

import pytest
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory
from django.urls import reverse

from crm import models
from crm.admin import crm_site
from crm.factories import CompanyFactory, NoteFactory, TagFactory, UserFactory
from crm.kit.admin import NoteAdmin, RecordAdmin, TaskAdmin
from crm.kit.current_user import acting_as
from crm.kit.models import Record, TimelineAction
from crm.kit.roles import ROLE_MANAGER, ROLE_MEMBER, role_groups_install
from crm.kit.services import records_archive
from factory.compiler import compile_app_spec
from factory.spec.template import template_app_spec
from tests.compiler.behaviour import template_app_behaviour_passed
from tests.crm.test_api_permissions import API, row_counts, snapshot, token_client

pytestmark = pytest.mark.django_db

RESTORE_ONE = "To bring it back, filter the list on “Archived” and use the action “Restore”."
RESTORE_MANY = "To bring them back, filter the list on “Archived” and use the action “Restore”."


@pytest.fixture
def roles(db):
    return role_groups_install(app_label="crm", own_records_only={ROLE_MEMBER})


def staff_user(roles, role: str, username: str):
    user = UserFactory(username=username, is_staff=True)
    user.groups.add(roles[role])
    return user


@pytest.fixture
def manager(roles):
    return staff_user(roles, ROLE_MANAGER, "max")


@pytest.fixture
def member(roles):
    """A Member, limited to their own records, without the delete right."""
    return staff_user(roles, ROLE_MEMBER, "mo")


def changelist_url(model: type = models.Company) -> str:
    return reverse(f"crm:crm_{model._meta.model_name}_changelist")


def change_url(record) -> str:
    return reverse(f"crm:crm_{record._meta.model_name}_change", args=[record.pk])


def delete_url(record) -> str:
    return reverse(f"crm:crm_{record._meta.model_name}_delete", args=[record.pk])


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def bulk(client, action: str, records, query: str = "", **extra):
    """Post a bulk action from the company list, following the redirect it may answer."""
    data = {"action": action, "_selected_action": [r.pk for r in records], "index": 0, **extra}
    return client.post(changelist_url(type(records[0])) + query, data, follow=True)


def hidden_inputs(response) -> list[tuple[str, str]]:
    """(name, value) of the hidden inputs of a confirmation page's form, CSRF token aside."""
    found = re.findall(
        r'<input type="hidden" name="([^"]+)" value="([^"]*)">', response.content.decode()
    )
    return [(name, value) for name, value in found if name != "csrfmiddlewaretoken"]


def offered_actions(client) -> list[str]:
    page = client.get(changelist_url())
    return [name for name, _label in page.context["action_form"].fields["action"].choices if name]


def timeline(record) -> list[tuple[str, str | None]]:
    """(action, actor's username) of each entry of the record's timeline, oldest first."""
    entries = models.TimelineEntry.objects.filter(
        record_type=ContentType.objects.get_for_model(type(record)), record_id=record.pk
    ).order_by("pk")
    return [(entry.action, entry.actor.username if entry.actor else None) for entry in entries]


def stored(record):
    return type(record).all_objects.filter(pk=record.pk).first()


def company_of(owner, name: str = "Acme", **values):
    with acting_as(owner):
        return CompanyFactory(name=name, owner=owner, **values)


@pytest.fixture
def olga(db):
    return UserFactory(username="olga")


# -- The change page's Delete ---------------------------------------------------------------


class TestDeleteOnTheChangePage:
    def test_a_manager_is_asked_then_the_company_is_archived_and_can_be_restored(
        self, client, manager, olga
    ):
        company = company_of(olga)
        client.force_login(manager)

        asked = client.get(delete_url(company))
        after_asking = snapshot(company)
        deleted = client.post(delete_url(company), {"post": "archive"}, follow=True)
        archived = stored(company)
        restored = bulk(client, "restore_selected", [company], "?archived=yes")

        assert asked.status_code == 200
        assert asked.templates[0].name == "crm_kit/archive_confirmation.html"
        assert asked.context["title"] == "Delete company"
        page = asked.content.decode()
        assert "Are you sure you want to delete the company “Acme”?" in page
        assert "It will be <strong>archived</strong>, not erased" in page
        assert RESTORE_ONE in page
        assert hidden_inputs(asked) == [("post", "archive")]
        assert after_asking["deleted_at"] is None
        assert deleted.redirect_chain == [(changelist_url(), 302)]
        assert messages_of(deleted) == [f"The company “Acme” was archived. {RESTORE_ONE}"]
        assert archived.deleted_at is not None
        assert messages_of(restored) == ["Restored 1 company."]
        assert stored(company).deleted_at is None
        assert timeline(company) == [
            (TimelineAction.CREATED, "olga"),
            (TimelineAction.ARCHIVED, "max"),
            (TimelineAction.RESTORED, "max"),
        ]

    def test_the_archived_company_page_tells_a_manager_how_to_restore_and_offers_no_delete(
        self, client, manager, olga
    ):
        company = company_of(olga)
        records_archive(records=[company])
        client.force_login(manager)

        page = client.get(change_url(company))

        text = page.content.decode()
        assert page.context["has_delete_permission"] is False
        assert f"This company is archived: it is hidden from lists. {RESTORE_ONE}" in text
        assert "delete it permanently" not in text
        assert 'class="deletelink"' not in text

    def test_a_manager_cannot_delete_an_archived_company_permanently(self, client, manager, olga):
        company = company_of(olga)
        records_archive(records=[company])
        client.force_login(manager)
        before, counts = snapshot(company), row_counts()

        asked = client.get(delete_url(company))
        posted = client.post(delete_url(company), {"post": "yes"})

        assert (asked.status_code, posted.status_code) == (403, 403)
        assert snapshot(company) == before
        assert row_counts() == counts


# -- The bulk action ------------------------------------------------------------------------


class TestDeleteSelected:
    def test_a_manager_is_asked_then_the_selected_companies_are_archived(
        self, client, manager, olga
    ):
        chosen = [company_of(olga, f"Co {n}") for n in range(3)]
        left = company_of(olga, "Left")
        client.force_login(manager)
        counts = row_counts()

        asked = bulk(client, "delete_selected", chosen)
        after_asking = row_counts()
        deleted = bulk(client, "delete_selected", chosen, post="archive")

        assert asked.status_code == 200
        assert asked.context["title"] == "Delete 3 companies"
        page = asked.content.decode()
        assert "Are you sure you want to delete these 3 companies?" in page
        assert RESTORE_MANY in page
        assert [str(record) for record in asked.context["shown"]] == ["Co 0", "Co 1", "Co 2"]
        assert hidden_inputs(asked) == [
            *(("_selected_action", str(c.pk)) for c in chosen),
            ("action", "delete_selected"),
            ("post", "archive"),
        ]
        assert after_asking == counts
        assert deleted.redirect_chain == [(changelist_url(), 302)]
        assert messages_of(deleted) == [f"Archived 3 companies. {RESTORE_MANY}"]
        assert models.Company.all_objects.filter(deleted_at__isnull=False).count() == 3
        assert [stored(c).deleted_at is not None for c in chosen] == [True, True, True]
        assert stored(left).deleted_at is None
        assert [timeline(c)[-1] for c in chosen] == [(TimelineAction.ARCHIVED, "max")] * 3
        assert row_counts() == {**counts, "crm.TimelineEntry": counts["crm.TimelineEntry"] + 3}

    def test_already_archived_companies_in_the_selection_stay_as_they_are(
        self, client, manager, olga
    ):
        live = [company_of(olga, "Live 1"), company_of(olga, "Live 2")]
        old = company_of(olga, "Old")
        records_archive(records=[old])
        old_before = snapshot(old)
        client.force_login(manager)

        asked = bulk(client, "delete_selected", [*live, old], "?archived=all")
        deleted = bulk(client, "delete_selected", [*live, old], "?archived=all", post="archive")

        assert "1 of the selected companies is already archived and stays as it is." in (
            asked.content.decode()
        )
        assert messages_of(deleted) == [f"Archived 2 companies. {RESTORE_MANY}"]
        assert [stored(c).deleted_at is not None for c in live] == [True, True]
        assert snapshot(old) == old_before

    def test_a_manager_selecting_archived_companies_only_changes_nothing(
        self, client, manager, olga
    ):
        old = company_of(olga, "Old")
        records_archive(records=[old])
        client.force_login(manager)
        before, counts = snapshot(old), row_counts()

        asked = bulk(client, "delete_selected", [old], "?archived=yes")
        confirmed = bulk(client, "delete_selected", [old], "?archived=yes", post="yes")

        expected = [
            "The selected companies are already archived, so nothing changed. Only a "
            "superuser can delete archived companies permanently."
        ]
        assert (messages_of(asked), messages_of(confirmed)) == (expected, expected)
        assert snapshot(old) == before
        assert row_counts() == counts


# -- Users without the delete right -----------------------------------------------------------


class TestAMemberCannotDelete:
    def test_the_member_is_offered_no_delete_and_nothing_changes(self, client, member):
        company = company_of(member, "Mine")
        client.force_login(member)
        before, counts = snapshot(company), row_counts()

        offered = offered_actions(client)
        asked = client.get(delete_url(company))
        posted = client.post(delete_url(company), {"post": "archive"})
        action = bulk(client, "delete_selected", [company], post="archive")
        page = client.get(change_url(company))

        assert offered == ["export_csv"]
        assert (asked.status_code, posted.status_code) == (403, 403)
        assert messages_of(action) == ["No action selected."]
        assert page.context["has_delete_permission"] is False
        assert snapshot(company) == before
        assert row_counts() == counts


# -- Superusers: permanent deletion of archived records ------------------------------------


class TestPermanentDeletion:
    def test_a_live_company_is_archived_first_never_erased_in_one_step(
        self, client, superuser, olga
    ):
        company = company_of(olga)
        client.force_login(superuser)
        before, counts = snapshot(company), row_counts()

        # Django's own page posts "yes": on a live record that only shows the archive page.
        forced = client.post(delete_url(company), {"post": "yes"})
        after_forcing = (snapshot(company), row_counts())
        archived = client.post(delete_url(company), {"post": "archive"})

        assert forced.status_code == 200
        assert forced.templates[0].name == "crm_kit/archive_confirmation.html"
        assert after_forcing == (before, counts)
        assert archived.status_code == 302
        assert stored(company).deleted_at is not None

    def test_a_superuser_deletes_an_archived_company_and_what_goes_with_it(
        self, client, superuser, olga
    ):
        company = company_of(olga)
        with acting_as(olga):
            note = NoteFactory(target=company, body="Called them")
        records_archive(records=[company])
        client.force_login(superuser)

        page = client.get(change_url(company))
        asked = client.get(delete_url(company))
        deleted = client.post(delete_url(company), {"post": "yes"}, follow=True)

        assert page.context["has_delete_permission"] is True
        assert "As a superuser you may also delete it permanently" in page.content.decode()
        assert asked.status_code == 200
        assert asked.templates[0].name == "crm_kit/delete_confirmation.html"
        assert asked.context["title"] == "Delete this company permanently"
        assert "cannot be undone" in asked.content.decode()
        assert dict(asked.context["model_count"]) == {"companies": 1, "notes": 1}
        assert deleted.redirect_chain == [(changelist_url(), 302)]
        assert (stored(company), stored(note)) == (None, None)
        # Erased with its history (see tests/crm/test_erasure.py).
        assert timeline(company) == []

    def test_a_superuser_deletes_selected_archived_companies_permanently(
        self, client, superuser, olga
    ):
        old = [company_of(olga, "Old 1"), company_of(olga, "Old 2")]
        live = company_of(olga, "Live")
        records_archive(records=old)
        client.force_login(superuser)

        asked = bulk(client, "delete_selected", old, "?archived=yes")
        deleted = bulk(client, "delete_selected", old, "?archived=yes", post="yes")

        assert asked.templates[0].name == "crm_kit/delete_selected_confirmation.html"
        assert asked.context["title"] == "Delete 2 archived companies permanently"
        assert "cannot be undone" in asked.content.decode()
        assert messages_of(deleted) == ["Successfully deleted 2 companies."]
        assert [stored(c) for c in old] == [None, None]
        assert stored(live).deleted_at is None

    def test_a_superuser_selecting_live_and_archived_companies_archives_the_live_ones(
        self, client, superuser, olga
    ):
        live, old = company_of(olga, "Live"), company_of(olga, "Old")
        records_archive(records=[old])
        old_before = snapshot(old)
        client.force_login(superuser)

        asked = bulk(client, "delete_selected", [live, old], "?archived=all")
        deleted = bulk(client, "delete_selected", [live, old], "?archived=all", post="archive")

        assert asked.templates[0].name == "crm_kit/archive_confirmation.html"
        assert messages_of(deleted) == [f"Archived 1 company. {RESTORE_ONE}"]
        assert stored(live).deleted_at is not None
        assert snapshot(old) == old_before

    def test_a_permanent_deletion_confirmed_after_a_restore_deletes_nothing(
        self, client, superuser, olga
    ):
        old, restored = company_of(olga, "Old"), company_of(olga, "Restored since")
        records_archive(records=[old])
        client.force_login(superuser)
        counts = row_counts()

        # The page listed both as archived; someone restored one before the confirmation.
        confirmed = bulk(client, "delete_selected", [old, restored], "?archived=all", post="yes")

        assert messages_of(confirmed) == [
            "1 of the selected companies is no longer archived, so nothing was deleted. "
            "Select archived records only to delete them permanently."
        ]
        assert row_counts() == counts

    def test_the_delete_hooks_never_erase_a_live_record(self, superuser, olga):
        live, old = company_of(olga, "Live"), company_of(olga, "Old")
        records_archive(records=[old])
        request = RequestFactory().post("/")
        request.user = superuser
        company_admin = crm_site._registry[models.Company]

        with pytest.raises(PermissionDenied):
            company_admin.delete_model(request, live)
        company_admin.delete_queryset(request, models.Company.all_objects.all())

        assert stored(live).deleted_at is None
        assert stored(old) is None


# -- Inline rows ------------------------------------------------------------------------------


def page_post_data(client, url: str) -> dict:
    """What the change page sends when saved as it is: its form and every inline row."""
    page = client.get(url)
    assert page.status_code == 200
    forms = [page.context["adminform"].form]
    data: dict = {}
    for inline in page.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data |= {management[name].html_name: management[name].value() for name in management.fields}
        forms += inline.formset.forms
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            if value not in (None, False):
                data[form[name].html_name] = value
    return data


def inline_prefix(client, url: str, model: type) -> str:
    page = client.get(url)
    (prefix,) = [
        inline.formset.prefix
        for inline in page.context["inline_admin_formsets"]
        if inline.formset.model is model
    ]
    return prefix


def test_the_delete_box_of_an_inline_note_archives_it_and_still_deletes_a_tag_link(
    client, manager, olga
):
    company = company_of(olga)
    with acting_as(olga):
        note = NoteFactory(target=company, body="Called them")
        link = models.TaggedItem.objects.create(tag=TagFactory(name="VIP"), target=company)
    client.force_login(manager)
    url = change_url(company)
    data = page_post_data(client, url)
    data[f"{inline_prefix(client, url, models.Note)}-0-DELETE"] = "on"
    data[f"{inline_prefix(client, url, models.TaggedItem)}-0-DELETE"] = "on"

    saved = client.post(url, data)

    assert saved.status_code == 302
    assert stored(note).deleted_at is not None
    assert timeline(note)[-1] == (TimelineAction.ARCHIVED, "max")
    assert models.TaggedItem.objects.filter(pk=link.pk).exists() is False
    assert list(company.notes.all()) == []


# -- Which admins archive -----------------------------------------------------------------


def test_every_record_model_and_only_those_archive_on_delete():
    record_admins = {
        model.__name__
        for model, model_admin in crm_site._registry.items()
        if isinstance(model_admin, RecordAdmin)
    }
    record_models = {model.__name__ for model in crm_site._registry if issubclass(model, Record)}
    site_delete = {
        model.__name__
        for model, model_admin in crm_site._registry.items()
        if model_admin.get_action("delete_selected")[0] is django_delete_selected
    }

    assert record_admins == record_models == {"Company", "Contact", "Deal", "Note", "Task"}
    assert site_delete == {
        "Attachment",
        "ChoiceList",
        "Pipeline",
        "RolePolicy",
        "StageChange",
        "Tag",
        "TimelineEntry",
    }


def test_a_tag_is_still_deleted_for_good(client, superuser):
    tag = TagFactory(name="VIP")
    client.force_login(superuser)

    deleted = client.post(
        reverse("crm:crm_tag_delete", args=[tag.pk]), {"post": "yes"}, follow=True
    )

    assert messages_of(deleted) == ["The tag “VIP” was deleted successfully."]
    assert models.Tag.objects.filter(pk=tag.pk).exists() is False


def test_a_subclass_listing_its_own_actions_keeps_the_archiving_delete():
    class NarrowCompanyAdmin(RecordAdmin):
        actions = ["export_csv"]

    narrow = NarrowCompanyAdmin(models.Company, crm_site)

    assert narrow.actions == ["delete_selected", "export_csv"]
    assert narrow.get_action("delete_selected")[0] is RecordAdmin.delete_selected


# -- The API and the admin agree -----------------------------------------------------------


def test_the_api_delete_and_the_admin_delete_leave_the_same_archived_record(client, manager, olga):
    by_api, by_admin = company_of(olga, "By API"), company_of(olga, "By admin")
    client.force_login(manager)
    api = token_client(manager)

    api_answer = api.delete(f"{API}/companies/{by_api.pk}/")
    admin_answer = client.post(delete_url(by_admin), {"post": "archive"})
    again = (
        api.delete(f"{API}/companies/{by_api.pk}/").status_code,
        client.post(delete_url(by_admin), {"post": "archive"}).status_code,
    )
    restored = (
        api.post(f"{API}/companies/{by_admin.pk}/restore/").status_code,
        bulk(client, "restore_selected", [by_api], "?archived=yes").status_code,
    )

    assert (api_answer.status_code, admin_answer.status_code) == (204, 302)
    # Archived once each; a second Delete finds nothing live (404 in the API, 403 in the
    # admin, where only a superuser may go on to a permanent deletion).
    assert again == (404, 403)
    assert restored == (200, 200)
    assert (
        timeline(by_api)
        == timeline(by_admin)
        == [
            (TimelineAction.CREATED, "olga"),
            (TimelineAction.ARCHIVED, "max"),
            (TimelineAction.RESTORED, "max"),
        ]
    )
    assert (stored(by_api).deleted_at, stored(by_admin).deleted_at) == (None, None)


# -- Compiled tenant apps -----------------------------------------------------------------

TENANT_LABEL = "t_delete"
TENANT_BEHAVIOUR_TESTS = [
    "AdminDeleteTests.test_a_managers_delete_archives_and_restore_brings_back",
    "AdminDeleteTests.test_a_member_without_the_delete_right_changes_nothing",
    "AdminDeleteTests.test_a_superuser_erases_only_an_archived_company",
    "AdminDeleteTests.test_delete_selected_archives_the_selected_companies",
]
# Hooks and settings that would change what Delete does, were a generated admin to set them.
DELETE_HOOKS = {
    "actions",
    "delete_view",
    "delete_model",
    "delete_queryset",
    "delete_selected",
    "has_delete_permission",
    "get_actions",
    "log_deletions",
    "save_formset",
}


def names_defined(class_node: ast.ClassDef) -> set[str]:
    """The methods and attributes a class body defines."""
    names = set()
    for statement in class_node.body:
        if isinstance(statement, ast.FunctionDef):
            names.add(statement.name)
        elif isinstance(statement, ast.Assign):
            names |= {target.id for target in statement.targets if isinstance(target, ast.Name)}
        elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            names.add(statement.target.id)
    return names


def test_a_generated_admin_inherits_the_archiving_delete_of_record_admin():
    files = compile_app_spec(spec=template_app_spec(), app_label=TENANT_LABEL)
    tree = ast.parse(files["admin.py"])
    classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}
    registered = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for decorator in node.decorator_list:
                if isinstance(decorator, ast.Call) and ast.unparse(decorator.func) == (
                    "admin.register"
                ):
                    registered[ast.unparse(decorator.args[0])] = node.name
        elif isinstance(node, ast.Call) and ast.unparse(node.func) == "site.register":
            registered[ast.unparse(node.args[0])] = ast.unparse(node.args[1])

    records = {
        model: admin_class
        for model, admin_class in registered.items()
        if model.removeprefix("models.") in {"Company", "Contact", "Deal", "Task", "Note"}
    }
    bases = {
        admin_class: [ast.unparse(base) for base in classes[admin_class].bases]
        for admin_class in records.values()
        if admin_class in classes
    }
    overridden = {name: DELETE_HOOKS & names_defined(classes[name]) for name in bases}

    assert records == {
        "models.Company": "CompanyAdmin",
        "models.Contact": "ContactAdmin",
        "models.Deal": "DealAdmin",
        "models.Task": "TaskAdmin",
        "models.Note": "NoteAdmin",
    }
    assert bases == {
        "CompanyAdmin": ["RecordAdmin"],
        "ContactAdmin": ["RecordAdmin"],
        "DealAdmin": ["RecordAdmin"],
    }
    assert overridden == {"CompanyAdmin": set(), "ContactAdmin": set(), "DealAdmin": set()}
    # Tasks and notes are registered with the kit's own admins, records admins as well.
    assert (issubclass(TaskAdmin, RecordAdmin), issubclass(NoteAdmin, RecordAdmin)) == (True, True)


def test_a_compiled_tenant_app_archives_on_delete_like_the_base_crm(tmp_path):
    """The same flows, run by the sandbox inside a compiled template app (its own admin
    site, tables and roles), with the app's generated tests."""
    passed = template_app_behaviour_passed(
        tmp_path=tmp_path,
        app_label=TENANT_LABEL,
        script="admin_delete_behaviour.py",
        prefix="AdminDelete",
    )
    assert passed == TENANT_BEHAVIOUR_TESTS
