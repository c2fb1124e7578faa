"""A superuser's permanent deletion in a compiled app's admin erases, as in the base CRM.

``tests/crm/test_erasure.py`` copies this module into a compiled template app's ``tests/``
folder before the sandbox check, so it runs on the app's own admin site and tables: the
generated admin inherits ``RecordAdmin``, whose Delete on an archived record goes through
``records_erase``. It imports only Django, the kit and the app: in the sandbox process
``factory`` is factory-boy.
"""

import json

from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db.models import Q
from django.test import TestCase
from django.urls import reverse

from crm.kit.current_user import acting_as
from crm.kit.services import (
    RecordErasureRefused,
    record_tags_set,
    records_archive,
    records_erase,
    records_move_stage,
)

from .. import models

LABEL = models.Company._meta.app_label


def url(model_name: str, view: str, *args: object) -> str:
    return reverse(f"{LABEL}:{LABEL}_{model_name}_{view}", args=args)


def about(record) -> dict[str, Q]:
    content_type = ContentType.objects.get_for_model(type(record))
    return {
        "history": Q(record_type=content_type, record_id=record.pk),
        "log": Q(content_type=content_type, object_id=str(record.pk)),
    }


class ErasureTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        users = get_user_model().objects
        cls.superuser = users.create_superuser("root", "root@example.com", "password")
        cls.olga = users.create_user("olga", password="password")
        pipeline = models.Pipeline.objects.filter(entity="deal").order_by("order").first()
        stages = list(pipeline.stages.order_by("order"))
        with acting_as(cls.olga):
            cls.company = models.Company.objects.create(name="Acme")
            cls.contact = models.Contact.objects.create(first_name="Zoe", last_name="Erasmus")
            cls.contact.first_name, cls.contact.company = "Zoë", cls.company
            cls.contact.save()
            record_tags_set(record=cls.contact, tags=[models.Tag.objects.create(name="vip")])
            cls.note = models.Note.objects.create(target=cls.contact, body="Call Zoë back")
            cls.task = models.Task.objects.create(target=cls.contact, title="Zoë's request")
            cls.deal = models.Deal.objects.create(
                name="Erasmus deal", company=cls.company, pipeline=pipeline, stage=stages[0]
            )
            records_move_stage(records=[cls.deal], stage=stages[1])
            cls.kept = models.Deal.objects.create(
                name="Kept deal", company=cls.company, pipeline=pipeline, stage=stages[0]
            )
            records_move_stage(records=[cls.kept], stage=stages[1])
        LogEntry.objects.create(
            user=cls.olga,
            content_type=ContentType.objects.get_for_model(models.Company),
            object_id=str(cls.company.pk),
            object_repr="Acme",
            action_flag=CHANGE,
            change_message=json.dumps([{"added": {"name": "contact", "object": "Zoë Erasmus"}}]),
        )

    def attach(self, record):
        attachment = models.Attachment(target=record, name="consent")
        attachment.file.save("consent.pdf", ContentFile(b"signed"), save=True)
        return attachment

    def rows_about(self, *records) -> dict[str, int]:
        timeline, stages, log = Q(pk__in=[]), Q(pk__in=[]), Q(pk__in=[])
        for record in records:
            timeline |= about(record)["history"]
            stages |= about(record)["history"]
            log |= about(record)["log"]
        return {
            "timeline": models.TimelineEntry.objects.filter(timeline).count(),
            "stages": models.StageChange.objects.filter(stages).count(),
            "log": LogEntry.objects.filter(log).count(),
        }

    def mentions(self, text: str) -> int:
        escaped = json.dumps(text)[1:-1]
        timeline = models.TimelineEntry.objects.filter(
            Q(record_repr__contains=text)
            | Q(old_value__contains=text)
            | Q(new_value__contains=text)
        ).count()
        log = LogEntry.objects.filter(
            Q(object_repr__contains=text)
            | Q(change_message__contains=text)
            | Q(change_message__contains=escaped)
        ).count()
        return timeline + log

    def test_a_superuser_erases_an_archived_contact_and_its_traces(self) -> None:
        attachment = self.attach(self.contact)
        records_archive(records=[self.contact, self.deal])
        kept_before = self.rows_about(self.kept, self.company)
        before = (self.mentions("Erasmus"), self.rows_about(self.deal)["stages"])
        self.client.force_login(self.superuser)

        with self.captureOnCommitCallbacks(execute=True):
            erased = self.client.post(url("contact", "delete", self.contact.pk), {"post": "yes"})
            bulk = self.client.post(
                url("deal", "changelist") + "?archived=yes",
                {
                    "action": "delete_selected",
                    "_selected_action": [self.deal.pk],
                    "index": 0,
                    "post": "yes",
                },
            )

        assert (erased.status_code, bulk.status_code) == (302, 302)
        assert before == (9, 2)
        assert self.mentions("Erasmus") == 0
        assert self.mentions("Zoë") == 0
        assert self.rows_about(self.contact, self.deal) == {"timeline": 0, "stages": 0, "log": 2}
        assert self.rows_about(self.note, self.task) == {"timeline": 0, "stages": 0, "log": 0}
        assert [
            (entry.object_repr, entry.action_flag, entry.user.username)
            for entry in LogEntry.objects.filter(action_flag=DELETION).order_by("pk")
        ] == [
            (f"Contact #{self.contact.pk}", DELETION, "root"),
            (f"Deal #{self.deal.pk}", DELETION, "root"),
        ]
        assert default_storage.exists(attachment.file.name) is False
        assert models.Attachment.objects.count() == 0
        assert self.rows_about(self.kept, self.company) == kept_before
        assert models.TimelineEntry.objects.get(
            about(self.company)["history"], action="created"
        ).record_repr == ("Acme")

    def test_a_live_company_is_refused(self) -> None:
        counts = (
            models.Company.all_objects.count(),
            models.TimelineEntry.objects.count(),
            LogEntry.objects.count(),
        )

        with self.assertRaisesMessage(
            RecordErasureRefused,
            f"The company #{self.company.pk} is not archived, so nothing was erased; archive "
            "it first, then delete it permanently.",
        ):
            records_erase(records=[self.company], actor=self.superuser)

        assert counts == (
            models.Company.all_objects.count(),
            models.TimelineEntry.objects.count(),
            LogEntry.objects.count(),
        )
