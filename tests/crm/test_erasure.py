"""Erasure: a superuser's permanent deletion of archived records leaves no trace of their data.

``records_erase`` (used by the admin's Delete on an archived record and by "Delete selected")
removes the records, what is attached to them (notes, tasks, tag links, attachments and
their stored files), their timeline, stage history and admin log, and puts "Contact #42"
where other records' history named them; one nameless admin log entry says who erased
which id. Live records and users other than superusers are refused, with nothing changed.
The last test runs the same flow in a compiled tenant app.
"""

from __future__ import annotations

import json

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db.models import ProtectedError, Q
from django.urls import reverse

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
from crm.kit.roles import ROLE_MANAGER, ROLE_MEMBER, role_groups_install
from crm.kit.services import (
    RecordErasureRefused,
    record_tags_set,
    records_archive,
    records_erase,
    records_move_stage,
)
from tests.compiler.behaviour import template_app_behaviour_passed
from tests.crm.test_api_permissions import row_counts

pytestmark = pytest.mark.django_db

NAME_PARTS = ("Zoë", "Zoe", "Erasmus", "zoe.erasmus@example.com", "Privacy Officer")


def delete_url(record) -> str:
    return reverse(f"crm:crm_{record._meta.model_name}_delete", args=[record.pk])


def changelist_url(model) -> str:
    return reverse(f"crm:crm_{model._meta.model_name}_changelist")


def history_key(record) -> Q:
    return Q(record_type=ContentType.objects.get_for_model(type(record)), record_id=record.pk)


def log_key(record) -> Q:
    return Q(content_type=ContentType.objects.get_for_model(type(record)), object_id=record.pk)


def history_of(records) -> dict[str, list[tuple]]:
    """Every timeline entry, stage change and admin log row about ``records``, as stored."""
    timeline, stages, log = Q(pk__in=[]), Q(pk__in=[]), Q(pk__in=[])
    for record in records:
        timeline |= history_key(record)
        stages |= history_key(record)
        log |= log_key(record)
    return {
        "timeline": list(
            models.TimelineEntry.objects.filter(timeline).order_by("pk").values_list()
        ),
        "stages": list(models.StageChange.objects.filter(stages).order_by("pk").values_list()),
        "log": list(LogEntry.objects.filter(log).order_by("pk").values_list()),
    }


def mentions(text: str) -> dict[str, int]:
    """Rows of the history tables whose text holds ``text`` (also as Django's JSON writes it)."""
    spellings = {text, json.dumps(text)[1:-1]}
    timeline, log = Q(pk__in=[]), Q(pk__in=[])
    for spelling in spellings:
        for name in ("record_repr", "old_value", "new_value"):
            timeline |= Q(**{f"{name}__icontains": spelling})
        for name in ("object_repr", "change_message"):
            log |= Q(**{f"{name}__icontains": spelling})
    return {
        "timeline": models.TimelineEntry.objects.filter(timeline).count(),
        "log": LogEntry.objects.filter(log).count(),
    }


def log_change(user, record, message: list | str, flag: int = CHANGE) -> None:
    """An admin log row as the admin writes it (JSON change message)."""
    LogEntry.objects.create(
        user=user,
        content_type=ContentType.objects.get_for_model(type(record)),
        object_id=str(record.pk),
        object_repr=str(record),
        action_flag=flag,
        change_message=json.dumps(message) if isinstance(message, list) else message,
    )


def attach(record, filename: str) -> models.Attachment:
    attachment = models.Attachment(target=record, name=filename)
    attachment.file.save(filename, ContentFile(b"signed form"), save=True)
    return attachment


@pytest.fixture
def olga(db):
    return UserFactory(username="olga")


@pytest.fixture
def manager(db):
    roles = role_groups_install(app_label="crm", own_records_only={ROLE_MEMBER})
    user = UserFactory(username="max", is_staff=True)
    user.groups.add(roles[ROLE_MANAGER])
    return user


@pytest.fixture
def world(olga):
    """Zoë Erasmus (to erase) with a history of every kind, and unrelated records beside her."""
    with acting_as(olga):
        company = CompanyFactory(name="Acme")
        zoe = ContactFactory(
            first_name="Zoe", last_name="Erasmus", email="zoe@old.example.com", company=None
        )
        # Renamed: her former name is in her history too.
        zoe.first_name, zoe.email = "Zoë", "zoe.erasmus@example.com"
        zoe.save()
        zoe.job_title, zoe.company = "Privacy Officer", company
        zoe.save()
        vip, press = TagFactory(name="vip"), TagFactory(name="press")
        record_tags_set(record=zoe, tags=[vip, press])
        note = NoteFactory(target=zoe, body="Zoë asked to be called back")
        task = TaskFactory(target=zoe, title="Call Zoë Erasmus back")
        task.status = "done"
        task.save()
        deal = DealFactory(name="Acme renewal", company=company)
        link = DealContactFactory(deal=deal, contact=zoe)

        other = ContactFactory(first_name="Otto", last_name="Other", company=company)
        record_tags_set(record=other, tags=[vip])
        other_note = NoteFactory(target=other, body="Met Otto at the fair")
        other_deal = DealFactory(name="Otto's deal", company=company)
        stages = list(other_deal.pipeline.stages.order_by("order"))
        records_move_stage(records=[other_deal], stage=stages[1])
    attachment = attach(zoe, "zoe-consent.pdf")
    other_attachment = attach(other, "otto.pdf")
    log_change(olga, zoe, [{"changed": {"fields": ["Job title"]}}])
    log_change(olga, note, [], flag=ADDITION)
    log_change(olga, company, [{"added": {"name": "contact", "object": str(zoe)}}])
    log_change(olga, deal, [{"added": {"name": "deal contact", "object": str(link)}}])
    log_change(olga, other, [{"changed": {"fields": ["Phone"]}}])
    records_archive(records=[zoe])
    return {
        "zoe": zoe,
        "note": note,
        "task": task,
        "link": link,
        "attachment": attachment,
        "company": company,
        "deal": deal,
        "unrelated": [company, deal, other, other_note, other_deal, other_attachment],
        "other_attachment": other_attachment,
    }


def test_erasing_an_archived_contact_leaves_no_trace_of_her(
    client, superuser, world, django_capture_on_commit_callbacks
):
    zoe, attachment = world["zoe"], world["attachment"]
    erased = [zoe, world["note"], world["task"]]
    unrelated_before = history_of(world["unrelated"])
    counts = row_counts()
    # Her names, email and job title are all over the history before (log: her own row, her
    # note's, and the change messages of the company and the deal she was added to).
    assert {part: mentions(part) for part in NAME_PARTS} == {
        "Zoë": {"timeline": 10, "log": 4},
        "Zoe": {"timeline": 3, "log": 0},
        "Erasmus": {"timeline": 10, "log": 3},
        "zoe.erasmus@example.com": {"timeline": 1, "log": 0},
        "Privacy Officer": {"timeline": 1, "log": 0},
    }
    assert [len(history_of([row])["timeline"]) > 0 for row in erased] == [True, True, True]
    client.force_login(superuser)

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(delete_url(zoe), {"post": "yes"})
        file_kept_until_commit = default_storage.exists(attachment.file.name)
    for callback in callbacks:
        callback()

    assert (response.status_code, response["Location"]) == (302, changelist_url(models.Contact))
    assert file_kept_until_commit is True
    assert default_storage.exists(attachment.file.name) is False
    assert default_storage.exists(world["other_attachment"].file.name) is True
    assert models.Contact.all_objects.filter(pk=zoe.pk).exists() is False
    assert [
        type(row).__name__
        for row in (world["note"], world["task"], world["link"], attachment)
        if type(row)._base_manager.filter(pk=row.pk).exists()
    ] == []
    assert {
        name: counts[name] - count
        for name, count in row_counts().items()
        if counts[name] != count and name != "crm.TimelineEntry"
    } == {
        "crm.Contact": 1,
        "crm.Note": 1,
        "crm.Task": 1,
        "crm.TaggedItem": 2,
        "crm.DealContact": 1,
    }
    assert {part: mentions(part) for part in NAME_PARTS} == {
        part: {"timeline": 0, "log": 0} for part in NAME_PARTS
    }
    assert history_of([world["note"], world["task"]]) == {"timeline": [], "stages": [], "log": []}
    assert history_of([zoe])["timeline"] == []
    assert history_of([zoe])["stages"] == []
    trace = LogEntry.objects.get(log_key(zoe))
    assert (trace.user, trace.action_flag, trace.object_repr) == (
        superuser,
        DELETION,
        f"Contact #{zoe.pk}",
    )
    assert trace.change_message == (
        "Erased permanently, with its timeline, stage history and admin log. Attached rows "
        "erased with it: 1 note, 1 task, 2 tagged items, 1 attachment."
    )
    assert LogEntry.objects.filter(action_flag=DELETION).count() == 1
    # Other records' history is kept, row for row, with "Contact #N" where it named her.
    unrelated_after = history_of(world["unrelated"])
    assert {name: len(rows) for name, rows in unrelated_after.items()} == {
        name: len(rows) for name, rows in unrelated_before.items()
    }
    assert unrelated_after["timeline"] == unrelated_before["timeline"]
    assert unrelated_after["stages"] == unrelated_before["stages"]
    assert [
        entry.get_change_message()
        for entry in LogEntry.objects.filter(
            log_key(world["company"]) | log_key(world["deal"])
        ).order_by("pk")
    ] == [
        f"Added contact “Contact #{zoe.pk}”.",
        f"Added deal contact “Contact #{zoe.pk} (decision_maker)”.",
    ]


def test_a_company_erased_leaves_its_contacts_and_deals_without_the_link(client, superuser, olga):
    with acting_as(olga):
        company = CompanyFactory(name="Erasmus Consulting")
        contact = ContactFactory(first_name="Ida", last_name="Ink", company=None)
        contact.company = company
        contact.save()
        deal = DealFactory(name="Ink deal", company=company)
    records_archive(records=[company])
    contact_entries = history_of([contact])["timeline"]
    client.force_login(superuser)

    asked = client.get(delete_url(company))
    client.post(delete_url(company), {"post": "yes"})

    page = asked.content.decode()
    assert asked.context["erasure_unlinked"] == ["1 contact", "1 deal"]
    assert "These stay, without their link to what is erased: 1 contact, 1 deal." in page
    assert f"Kept, without names or values: “Company #{company.pk}” deleted by you" in page
    assert models.Contact.objects.get(pk=contact.pk).company_id is None
    assert models.Deal.objects.get(pk=deal.pk).company_id is None
    assert mentions("Erasmus Consulting") == {"timeline": 0, "log": 0}
    # The contact keeps each entry; the one naming the company names its number instead.
    assert [entry[4:8] for entry in contact_entries] == [
        ("created", "", "", ""),
        ("changed", "company", "", "Erasmus Consulting"),
    ]
    assert [entry[4:8] for entry in history_of([contact])["timeline"]] == [
        ("created", "", "", ""),
        ("changed", "company", "", f"Company #{company.pk}"),
    ]
    assert [entry[:4] for entry in history_of([contact])["timeline"]] == [
        entry[:4] for entry in contact_entries
    ]


def test_erasing_selected_archived_deals_removes_their_stage_history(
    client, superuser, olga, django_capture_on_commit_callbacks
):
    with acting_as(olga):
        gone, kept = DealFactory(name="Secret merger"), DealFactory(name="Kept deal")
        stages = list(gone.pipeline.stages.order_by("order"))
        records_move_stage(records=[gone, kept], stage=stages[1])
        records_move_stage(records=[gone], stage=stages[2])
    records_archive(records=[gone])
    kept_before = history_of([kept])
    stage_changes = models.StageChange.objects.filter(history_key(gone)).count()
    client.force_login(superuser)
    data = {"action": "delete_selected", "_selected_action": [gone.pk], "index": 0}

    asked = client.post(changelist_url(models.Deal) + "?archived=yes", data)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(changelist_url(models.Deal) + "?archived=yes", {**data, "post": "yes"})

    assert stage_changes == 3
    assert asked.context["erasure_trace"] == f"Deal #{gone.pk}"
    assert models.Deal.all_objects.filter(pk=gone.pk).exists() is False
    assert history_of([gone])["stages"] == []
    assert history_of([gone])["timeline"] == []
    assert [
        (entry.object_repr, entry.action_flag) for entry in LogEntry.objects.filter(log_key(gone))
    ] == [(f"Deal #{gone.pk}", DELETION)]
    assert mentions("Secret merger") == {"timeline": 0, "log": 0}
    assert history_of([kept]) == kept_before


def test_a_live_record_is_refused_and_nothing_changes(superuser, world):
    zoe = world["zoe"]
    zoe.restore()
    counts, history = row_counts(), history_of([zoe, world["note"]])
    logs = LogEntry.objects.count()

    with pytest.raises(RecordErasureRefused) as refused:
        records_erase(records=[zoe], actor=superuser)

    assert str(refused.value) == (
        f"The contact #{zoe.pk} is not archived, so nothing was erased; archive it first, "
        "then delete it permanently."
    )
    assert (row_counts(), history_of([zoe, world["note"]])) == (counts, history)
    assert LogEntry.objects.count() == logs
    assert default_storage.exists(world["attachment"].file.name) is True


def test_someone_who_is_not_a_superuser_cannot_erase(client, manager, world):
    zoe = world["zoe"]
    counts, history = row_counts(), history_of([zoe, world["note"]])
    logs = LogEntry.objects.count()
    client.force_login(manager)

    asked = client.get(delete_url(zoe))
    posted = client.post(delete_url(zoe), {"post": "yes"})
    with pytest.raises(RecordErasureRefused) as refused:
        records_erase(records=[zoe], actor=manager)

    assert (asked.status_code, posted.status_code) == (403, 403)
    assert str(refused.value) == (
        "Only a superuser can delete records permanently; ask one to do it."
    )
    assert (row_counts(), history_of([zoe, world["note"]])) == (counts, history)
    assert LogEntry.objects.count() == logs
    assert default_storage.exists(world["attachment"].file.name) is True


# -- Compiled tenant apps -----------------------------------------------------------------

TENANT_LABEL = "t_erase"
TENANT_BEHAVIOUR_TESTS = [
    "ErasureTests.test_a_live_company_is_refused",
    "ErasureTests.test_a_superuser_erases_an_archived_contact_and_its_traces",
]


def test_a_compiled_tenant_app_erases_like_the_base_crm(tmp_path):
    """The admin of a compiled template app erases through the same service: its own
    timeline, stage history and admin log rows go, the nameless trace stays."""
    passed = template_app_behaviour_passed(
        tmp_path=tmp_path, app_label=TENANT_LABEL, script="erasure_behaviour.py", prefix="Erasure"
    )
    assert passed == TENANT_BEHAVIOUR_TESTS


def test_rows_that_protect_a_record_refuse_its_erasure(superuser, world, monkeypatch):
    """No kit model protects a record; an app's own ``on_delete=PROTECT`` would."""
    zoe = world["zoe"]
    counts, history = row_counts(), history_of([zoe])

    def protected(*, records):
        raise ProtectedError("protected", {world["deal"]})

    monkeypatch.setattr("crm.kit.services.records_erasure_plan", protected)
    with pytest.raises(RecordErasureRefused) as refused:
        records_erase(records=[zoe], actor=superuser)

    assert str(refused.value) == (
        "Other rows (deals) still point at the records to erase and protect them, so nothing "
        "was erased; change or delete those rows first."
    )
    assert (row_counts(), history_of([zoe])) == (counts, history)
