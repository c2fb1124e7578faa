"""Behaviour tests of the compiled recruiting app, run by the sandbox next to its own tests.

The compiler test copies this module into the compiled app's ``tests/`` folder (with
``recruiting_expected.json``, the strings the spec used) before the sandbox check, so it
runs on the migrated scratch database. It imports only Django, the kit and the app:
in the sandbox process ``factory`` is factory-boy.
"""

import json
from decimal import Decimal
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.test import TestCase
from django.utils import timezone

from crm.kit.current_user import acting_as
from crm.kit.services import record_tags_set, records_move_stage

from .. import models

EXPECTED = json.loads(Path(__file__).with_name("recruiting_expected.json").read_text())


class RecruitingBehaviourTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.user = get_user_model().objects.create_user("recruiter", password="password")
        with acting_as(cls.user):
            cls.client_record = models.Client.objects.create(name="Acme")
            cls.opening = models.Opening.objects.create(
                title="CTO", client=cls.client_record, salary=Decimal("50000")
            )
            cls.candidate = models.Candidate.objects.create(
                first_name="Ada", last_name="Lovelace", years_experience=6, email=" Ada@X.COM "
            )
        cls.pipeline = models.Pipeline.objects.get(entity="application")
        cls.stages = list(cls.pipeline.stages.order_by("order"))

    def application(self) -> models.Application:
        with acting_as(self.user):
            return models.Application.objects.create(
                candidate=self.candidate,
                opening=self.opening,
                pipeline=self.pipeline,
                step=self.stages[0],
            )

    def test_starting_data_keeps_the_names_of_the_spec(self) -> None:
        options = models.ChoiceOption.objects.filter(choice_list__key="client_status")
        groups = Group.objects.filter(name__startswith="t_recruit: ")
        own = models.RolePolicy.objects.filter(own_records_only=True)

        assert (
            list(options.order_by("order").values_list("label", flat=True))
            == EXPECTED["client_status_labels"]
        )
        assert self.pipeline.name == EXPECTED["pipeline_name"]
        assert [stage.name for stage in self.stages] == EXPECTED["stage_names"]
        assert sorted(groups.values_list("name", flat=True)) == EXPECTED["groups"]
        assert list(own.values_list("group__name", flat=True)) == EXPECTED["own"]

    def test_computed_fields_compute(self) -> None:
        assert self.opening.fee == Decimal("10000")
        assert self.candidate.full_label == 'Ada "Lovelace'
        assert self.candidate.senior is True
        assert self.candidate.email == "ada@x.com"

    def test_a_new_application_gets_the_created_task(self) -> None:
        application = self.application()

        tasks = list(application.tasks.values_list("title", "assignee_id"))
        assert tasks == [(EXPECTED["created_task"], None)]

    def test_entering_the_hired_stage_sets_the_billing_date_and_adds_a_task(self) -> None:
        application = self.application()
        today = timezone.localdate()

        with acting_as(self.user):
            records_move_stage(records=[application], stage=self.stages[2])

        application.refresh_from_db()
        assert (application.billing_date - today).days == 30
        hired = application.tasks.exclude(title=EXPECTED["created_task"])
        assert [(task.title, task.assignee_id, (task.due_date - today).days) for task in hired] == [
            (EXPECTED["hired_task"], self.user.pk, 3)
        ]

    def test_moving_to_another_stage_does_not_bill(self) -> None:
        application = self.application()

        records_move_stage(records=[application], stage=self.stages[1])

        application.refresh_from_db()
        assert application.billing_date is None
        assert application.tasks.count() == 1

    def test_a_salary_change_flags_only_above_the_condition(self) -> None:
        application = self.application()

        application.salary = Decimal("90000")
        application.save()
        application.refresh_from_db()
        assert application.rejection_reason == ""
        application.salary = Decimal("200000")
        application.save(update_fields=["salary"])
        application.refresh_from_db()
        assert application.rejection_reason == 'Above budget: "check\\'

    def test_tag_changes_appear_in_the_timeline_of_the_app(self) -> None:
        vip = models.Tag.objects.create(name="VIP")
        gold = models.Tag.objects.create(name="Gold")

        with acting_as(self.user):
            record_tags_set(record=self.candidate, tags=[vip, gold])
            record_tags_set(record=self.candidate, tags=[gold])

        entries = models.TimelineEntry.objects.filter(
            record_type=ContentType.objects.get_for_model(models.Candidate),
            record_id=self.candidate.pk,
            field="tags",
        ).order_by("pk")
        assert list(entries.values_list("action", "old_value", "new_value", "actor__username")) == [
            ("tagged", "", "Gold", "recruiter"),
            ("tagged", "", "VIP", "recruiter"),
            ("untagged", "VIP", "", "recruiter"),
        ]
        assert str(entries.last()) == f"{self.candidate}: Tag removed: VIP"
