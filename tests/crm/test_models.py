"""Model rules of the base CRM: normalisation, soft delete, pipelines, choice-list fields."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from crm import models
from crm.factories import (
    CompanyFactory,
    ContactEmailFactory,
    ContactFactory,
    ContactPhoneFactory,
    DealFactory,
    TaskFactory,
)

pytestmark = pytest.mark.django_db


def stage(pipeline_name: str, stage_name: str) -> models.Stage:
    return models.Stage.objects.get(pipeline__name=pipeline_name, name=stage_name)


class TestNormalisation:
    def test_company_domain_and_phone_are_normalised_on_save(self):
        company = CompanyFactory(domain="https://www.Acme.COM/about", phone="+33 (0)6 12-34")

        company.refresh_from_db()
        assert company.domain == "acme.com"
        assert company.phone == "+33061234"

    def test_blank_company_domain_is_stored_as_null_so_many_companies_can_have_none(self):
        first = CompanyFactory(domain="  ")
        second = CompanyFactory(domain="")

        assert models.Company.objects.filter(pk__in=[first.pk, second.pk], domain=None).count() == 2

    def test_contact_email_is_trimmed_and_lower_cased_and_phone_keeps_digits(self):
        contact = ContactFactory(email="  Ann.Lee@Example.COM ", phone="0033 6 12 34 56 78")

        contact.refresh_from_db()
        assert contact.email == "ann.lee@example.com"
        assert contact.phone == "+33612345678"

    def test_blank_contact_email_becomes_null(self):
        contact = ContactFactory(email="")

        contact.refresh_from_db()
        assert contact.email is None

    def test_extra_email_and_phone_are_normalised(self):
        email = ContactEmailFactory(email="Home@Example.org ")
        phone = ContactPhoneFactory(number="06.12.34.56.78")

        email.refresh_from_db()
        phone.refresh_from_db()
        assert email.email == "home@example.org"
        assert phone.number == "0612345678"


class TestSoftDelete:
    def test_archive_hides_the_record_from_objects_but_keeps_it_in_all_objects(self):
        kept = CompanyFactory(name="Kept")
        archived = CompanyFactory(name="Archived")

        archived.archive()

        assert list(models.Company.objects.values_list("name", flat=True)) == ["Kept"]
        assert set(models.Company.all_objects.values_list("name", flat=True)) == {
            "Kept",
            "Archived",
        }
        assert list(models.Company.all_objects.archived()) == [archived]
        assert list(models.Company.all_objects.alive()) == [kept]
        assert archived.is_archived

    def test_restore_brings_the_record_back(self):
        company = CompanyFactory()
        company.archive()

        company.restore()

        company.refresh_from_db()
        assert company.deleted_at is None
        assert list(models.Company.objects.all()) == [company]

    def test_archive_twice_keeps_the_first_archive_time(self):
        company = CompanyFactory()
        company.archive()
        first = models.Company.all_objects.get(pk=company.pk).deleted_at

        company.archive()

        assert models.Company.all_objects.get(pk=company.pk).deleted_at == first


class TestDealPipeline:
    def test_a_stage_of_the_deals_pipeline_is_accepted(self):
        deal = DealFactory(
            pipeline=models.Pipeline.objects.get(name="Sales"), stage=stage("Sales", "Proposal")
        )

        deal.full_clean()

    def test_a_stage_of_another_pipeline_is_refused(self):
        deal = DealFactory.build(
            company=CompanyFactory(),
            pipeline=models.Pipeline.objects.get(name="Sales"),
            stage=stage("Renewals", "Renewed"),
        )

        with pytest.raises(ValidationError) as raised:
            deal.full_clean()

        assert raised.value.message_dict == {
            "stage": ["This stage belongs to another pipeline; pick a stage of this one."]
        }

    def test_default_pipelines_are_installed_with_their_stages(self):
        stages = {
            pipeline.name: list(pipeline.stages.order_by("order").values_list("name", "kind"))
            for pipeline in models.Pipeline.objects.filter(entity="deal")
        }

        assert stages == {
            "Sales": [
                ("Lead", "open"),
                ("Qualified", "open"),
                ("Proposal", "open"),
                ("Negotiation", "open"),
                ("Won", "won"),
                ("Lost", "lost"),
            ],
            "Renewals": [
                ("Upcoming", "open"),
                ("In discussion", "open"),
                ("Renewed", "won"),
                ("Churned", "lost"),
            ],
        }


class TestChoiceListField:
    def test_an_active_option_is_accepted(self):
        task = TaskFactory.build(status="in_progress", priority="high")

        task.full_clean()

    def test_an_unknown_value_is_refused_with_a_sentence_naming_the_list(self):
        task = TaskFactory.build(status="finished")

        with pytest.raises(ValidationError) as raised:
            task.full_clean()

        assert raised.value.message_dict == {
            "status": ["'finished' is not an active option of the list 'task_status'."]
        }

    def test_an_inactive_option_is_refused(self):
        models.ChoiceOption.objects.filter(choice_list__key="task_status", value="waiting").update(
            is_active=False
        )
        task = TaskFactory.build(status="waiting")

        with pytest.raises(ValidationError) as raised:
            task.full_clean()

        assert list(raised.value.message_dict) == ["status"]

    def test_a_blank_value_is_accepted_on_a_blank_field(self):
        company = CompanyFactory.build(industry="")

        company.full_clean()

    def test_form_field_offers_the_active_options_in_order(self):
        models.ChoiceOption.objects.filter(choice_list__key="task_status", value="waiting").update(
            is_active=False
        )

        form_field = models.Task._meta.get_field("status").formfield()

        assert list(form_field.choices) == [
            ("todo", "To do"),
            ("in_progress", "In progress"),
            ("done", "Done"),
        ]
