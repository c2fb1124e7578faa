"""``manage.py seed_demo``: sample data with users and roles, history, and no double seeding."""

from __future__ import annotations

import datetime
import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone

from crm import models
from crm.kit.roles import role_group_name

pytestmark = pytest.mark.django_db


def seed(**options) -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


def snapshot_of_data() -> dict:
    return {
        "companies": list(models.Company.objects.order_by("name").values_list("name", "domain")),
        "contacts": list(
            models.Contact.objects.order_by("email").values_list("first_name", "last_name", "email")
        ),
        "deals": list(
            models.Deal.objects.order_by("name").values_list("name", "amount", "stage__name")
        ),
        "tasks": list(
            models.Task.objects.order_by("title", "due_date").values_list("title", "due_date")
        ),
    }


USERS = (
    "Users (username / password / role):\n"
    "  admin / admin / superuser\n"
    "  manager / manager / Manager\n"
    "  alice / alice / Member\n"
    "  bob / bob / Member\n"
    "  viewer / viewer / Read-only\n"
)


@pytest.fixture
def debug(settings):
    settings.DEBUG = True


def test_seeds_every_kind_of_record_with_history(debug):
    output = seed(contacts=12, seed=3)

    counts = {
        "companies": models.Company.objects.count(),
        "contacts": models.Contact.objects.count(),
        "deals": models.Deal.objects.count(),
        "tasks": models.Task.objects.count(),
        "notes": models.Note.objects.count(),
        "tags": models.Tag.objects.count(),
    }
    assert counts == {"companies": 3, "contacts": 12, "deals": 4, "tasks": 6, "notes": 6, "tags": 6}
    records = sum(counts.values()) - counts["tags"]
    assert models.TimelineEntry.objects.filter(action="created").count() == records
    assert models.TimelineEntry.objects.filter(action="created", actor=None).count() == 0
    by_pipeline = set(models.Deal.objects.values_list("pipeline__name", flat=True))
    assert by_pipeline == {"Sales", "Renewals"}
    assert models.StageChange.objects.filter(from_stage=None).count() == 4
    assert models.DealContact.objects.count() == 8
    today = timezone.localdate()
    for due in models.Task.objects.values_list("due_date", flat=True):
        assert today - datetime.timedelta(days=10) <= due <= today + datetime.timedelta(days=20)
    assert output == (
        "Seeded the CRM with seed 3 (pass --seed 3 to repeat it):\n"
        "  3 companies\n"
        "  12 contacts (1 extra emails, 5 extra phones)\n"
        "  4 deals (Renewals: 1, Sales: 3), 8 deal contacts\n"
        "  6 tasks (0 done), 6 notes\n"
        "  6 tags on 6 records\n"
        "  33 timeline entries, 6 stage changes\n"
        f"{USERS}"
    )


def test_users_get_roles_and_known_passwords_in_development(debug):
    output = seed(contacts=4, seed=1)

    users = {user.username: user for user in get_user_model().objects.all()}
    assert set(users) == {"admin", "manager", "alice", "bob", "viewer"}
    assert users["admin"].is_superuser
    assert users["admin"].check_password("admin")
    groups = {
        name: list(users[name].groups.values_list("name", flat=True))
        for name in ("manager", "alice", "bob", "viewer")
    }
    assert groups == {
        "manager": [role_group_name("crm", "Manager")],
        "alice": [role_group_name("crm", "Member")],
        "bob": [role_group_name("crm", "Member")],
        "viewer": [role_group_name("crm", "Read-only")],
    }
    assert "  admin / admin / superuser" in output
    owners = set(models.Contact.objects.values_list("owner__username", flat=True))
    assert owners <= {"manager", "alice", "bob"}


def test_passwords_are_random_when_debug_is_off(settings):
    settings.DEBUG = False

    output = seed(contacts=4, seed=1)

    admin = get_user_model().objects.get(username="admin")
    password = re.search(r"^  admin / (\S+) / superuser$", output, re.MULTILINE).group(1)
    assert password != "admin"
    assert admin.check_password(password)
    assert "DEBUG is off, so the passwords above are random" in output


def test_refuses_to_seed_twice_and_changes_nothing(debug):
    seed(contacts=4, seed=1)
    before = snapshot_of_data()
    timeline = models.TimelineEntry.objects.count()

    with pytest.raises(CommandError) as raised:
        seed(contacts=4, seed=2)

    assert str(raised.value) == (
        "The CRM already holds 12 records, so seeding again would mix demo data with them. "
        "Run seed_demo --reset to delete them and seed afresh."
    )
    assert snapshot_of_data() == before
    assert models.TimelineEntry.objects.count() == timeline


def test_reset_replaces_the_data_and_the_same_seed_gives_the_same_data(debug):
    seed(contacts=8, seed=5)
    first = snapshot_of_data()

    output = seed(contacts=8, seed=5, reset=True)

    assert snapshot_of_data() == first
    assert output == (
        "Deleted 94 rows of CRM records and their history.\n"
        "Seeded the CRM with seed 5 (pass --seed 5 to repeat it):\n"
        "  2 companies\n"
        "  8 contacts (2 extra emails, 3 extra phones)\n"
        "  2 deals (Renewals: 1, Sales: 1), 3 deal contacts\n"
        "  4 tasks (1 done), 4 notes\n"
        "  6 tags on 4 records\n"
        "  24 timeline entries, 4 stage changes\n"
        f"{USERS}"
    )
    assert get_user_model().objects.filter(username="admin").count() == 1
    assert models.Contact.all_objects.count() == 8


def test_another_seed_gives_other_data(debug):
    seed(contacts=8, seed=5)
    first = snapshot_of_data()

    seed(contacts=8, seed=6, reset=True)

    assert snapshot_of_data()["contacts"] != first["contacts"]


def test_at_least_one_contact_is_required(db):
    with pytest.raises(CommandError, match=r"--contacts must be at least 1\."):
        seed(contacts=0)
    assert models.Contact.all_objects.count() == 0
    assert models.Company.all_objects.count() == 0
    assert models.TimelineEntry.objects.count() == 0
    assert get_user_model().objects.count() == 0
