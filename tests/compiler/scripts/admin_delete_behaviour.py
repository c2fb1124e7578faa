"""Delete in a compiled app's admin archives records, as in the base CRM's admin.

``tests/crm/test_admin_delete.py`` copies this module into a compiled template app's
``tests/`` folder before the sandbox check, so it runs on the app's own admin site, tables
and roles. It imports only Django, the kit and the app: in the sandbox process ``factory``
is factory-boy.
"""

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.test import TestCase
from django.urls import reverse

from crm.kit.current_user import acting_as
from crm.kit.roles import ROLE_MANAGER, ROLE_MEMBER, role_groups_install
from crm.kit.services import records_archive

from .. import models

LABEL = models.Company._meta.app_label
RESTORE_ONE = "To bring it back, filter the list on “Archived” and use the action “Restore”."
RESTORE_MANY = "To bring them back, filter the list on “Archived” and use the action “Restore”."


def url(view: str, *args: object) -> str:
    return reverse(f"{LABEL}:{LABEL}_company_{view}", args=args)


class AdminDeleteTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        roles = role_groups_install(app_label=LABEL, own_records_only={ROLE_MEMBER})
        users = get_user_model().objects
        cls.manager = users.create_user("max", password="password", is_staff=True)
        cls.manager.groups.add(roles[ROLE_MANAGER])
        cls.member = users.create_user("mo", password="password", is_staff=True)
        cls.member.groups.add(roles[ROLE_MEMBER])
        cls.superuser = users.create_superuser("root", "root@example.com", "password")
        with acting_as(cls.member):
            cls.company = models.Company.objects.create(name="Acme")

    def stored(self, record):
        return models.Company.all_objects.filter(pk=record.pk).first()

    def timeline(self, record) -> list[tuple[str, str]]:
        entries = models.TimelineEntry.objects.filter(
            record_type=ContentType.objects.get_for_model(models.Company), record_id=record.pk
        ).order_by("pk")
        return [(entry.action, entry.actor.username) for entry in entries]

    def messages(self, response) -> list[str]:
        return [str(message) for message in response.context["messages"]]

    def test_a_managers_delete_archives_and_restore_brings_back(self) -> None:
        self.client.force_login(self.manager)

        asked = self.client.get(url("delete", self.company.pk))
        deleted = self.client.post(url("delete", self.company.pk), {"post": "archive"})
        archived_at = self.stored(self.company).deleted_at
        restored = self.client.post(
            url("changelist") + "?archived=yes",
            {"action": "restore_selected", "_selected_action": [self.company.pk], "index": 0},
        )

        assert asked.status_code == 200
        assert RESTORE_ONE in asked.content.decode()
        assert (deleted.status_code, deleted["Location"]) == (302, url("changelist"))
        assert archived_at is not None
        assert restored.status_code == 302
        assert self.stored(self.company).deleted_at is None
        assert self.timeline(self.company) == [
            ("created", "mo"),
            ("archived", "max"),
            ("restored", "max"),
        ]

    def test_delete_selected_archives_the_selected_companies(self) -> None:
        with acting_as(self.manager):
            chosen = [models.Company.objects.create(name=f"Co {n}") for n in range(3)]
        self.client.force_login(self.manager)
        data = {"action": "delete_selected", "_selected_action": [c.pk for c in chosen]}

        asked = self.client.post(url("changelist"), {**data, "index": 0})
        deleted = self.client.post(url("changelist"), {**data, "index": 0, "post": "archive"})

        assert "Are you sure you want to delete these 3 companies?" in asked.content.decode()
        assert deleted.status_code == 302
        assert [self.stored(c).deleted_at is not None for c in chosen] == [True, True, True]
        assert self.stored(self.company).deleted_at is None

    def test_a_member_without_the_delete_right_changes_nothing(self) -> None:
        self.client.force_login(self.member)
        before = models.Company.all_objects.values().get(pk=self.company.pk)
        entries = models.TimelineEntry.objects.count()

        asked = self.client.get(url("delete", self.company.pk))
        posted = self.client.post(url("delete", self.company.pk), {"post": "archive"})

        assert (asked.status_code, posted.status_code) == (403, 403)
        assert models.Company.all_objects.values().get(pk=self.company.pk) == before
        assert models.TimelineEntry.objects.count() == entries

    def test_a_superuser_erases_only_an_archived_company(self) -> None:
        self.client.force_login(self.superuser)

        forced = self.client.post(url("delete", self.company.pk), {"post": "yes"})
        live_after_forcing = self.stored(self.company).deleted_at is None
        records_archive(records=[self.company])
        asked = self.client.get(url("delete", self.company.pk))
        erased = self.client.post(url("delete", self.company.pk), {"post": "yes"})

        assert forced.status_code == 200
        assert live_after_forcing is True
        assert asked.context["title"] == "Delete this company permanently"
        assert erased.status_code == 302
        assert self.stored(self.company) is None
