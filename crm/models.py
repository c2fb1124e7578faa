"""The base CRM's models: the template every tenant starts from, on the crm kit.

Companies, contacts (with extra emails and phones), deals moving through pipelines, tasks,
notes and tags, plus the app's own concrete kit tables (choice lists, pipelines, stage
history, timeline, attachments, role policies).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models

from crm.kit.fields import ChoiceListField
from crm.kit.models import (
    AbstractAttachment,
    AbstractChoiceList,
    AbstractChoiceOption,
    AbstractNote,
    AbstractPipeline,
    AbstractRolePolicy,
    AbstractStage,
    AbstractStageChange,
    AbstractTag,
    AbstractTaggedItem,
    AbstractTask,
    AbstractTimelineEntry,
    Record,
)
from crm.kit.normalise import normalise_domain, normalise_email, normalise_phone


class ChoiceList(AbstractChoiceList):
    pass


class ChoiceOption(AbstractChoiceOption):
    pass


class Pipeline(AbstractPipeline):
    pass


class Stage(AbstractStage):
    pass


class StageChange(AbstractStageChange):
    pass


class TimelineEntry(AbstractTimelineEntry):
    pass


class Note(AbstractNote):
    pass


class Task(AbstractTask):
    pass


class Tag(AbstractTag):
    pass


class TaggedItem(AbstractTaggedItem):
    pass


class Attachment(AbstractAttachment):
    pass


class RolePolicy(AbstractRolePolicy):
    pass


class Company(Record):
    name = models.CharField("name", max_length=200, db_index=True)
    domain = models.CharField(
        "domain",
        max_length=253,
        unique=True,
        null=True,
        blank=True,
        help_text="Web domain, e.g. acme.com; used to match companies on import.",
    )
    industry = ChoiceListField("industry", choice_list="industry", blank=True)
    phone = models.CharField("phone", max_length=32, blank=True)
    address = models.TextField("address", blank=True)
    city = models.CharField("city", max_length=120, blank=True)
    country = models.CharField("country", max_length=120, blank=True)
    description = models.TextField("description", blank=True)

    notes = GenericRelation(Note, "target_id", "target_type")
    tasks = GenericRelation(Task, "target_id", "target_type")
    tagged_items = GenericRelation(TaggedItem, "target_id", "target_type")
    attachments = GenericRelation(Attachment, "target_id", "target_type")

    class Meta:
        verbose_name = "company"
        verbose_name_plural = "companies"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.domain = normalise_domain(self.domain)
        self.phone = normalise_phone(self.phone)
        super().save(*args, **kwargs)


class Contact(Record):
    first_name = models.CharField("first name", max_length=120, blank=True)
    last_name = models.CharField("last name", max_length=120, db_index=True)
    email = models.EmailField(
        "email",
        unique=True,
        null=True,
        blank=True,
        help_text="Main email; used to match contacts on import.",
    )
    phone = models.CharField("phone", max_length=32, blank=True)
    job_title = models.CharField("job title", max_length=120, blank=True)
    company = models.ForeignKey(
        Company,
        verbose_name="company",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contacts",
    )

    notes = GenericRelation(Note, "target_id", "target_type")
    tasks = GenericRelation(Task, "target_id", "target_type")
    tagged_items = GenericRelation(TaggedItem, "target_id", "target_type")
    attachments = GenericRelation(Attachment, "target_id", "target_type")

    class Meta:
        verbose_name = "contact"
        verbose_name_plural = "contacts"
        ordering = ["last_name", "first_name"]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.email = normalise_email(self.email)
        self.phone = normalise_phone(self.phone)
        super().save(*args, **kwargs)


class ContactEmail(models.Model):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="emails")
    email = models.EmailField("email")
    label = ChoiceListField("label", choice_list="contact_point_label", default="work")

    class Meta:
        verbose_name = "email"
        constraints = [
            models.UniqueConstraint(fields=["contact", "email"], name="crm_contact_email_unique")
        ]

    def __str__(self) -> str:
        return self.email

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.email = normalise_email(self.email) or ""
        super().save(*args, **kwargs)


class ContactPhone(models.Model):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="phones")
    number = models.CharField("number", max_length=32)
    label = ChoiceListField("label", choice_list="contact_point_label", default="work")

    class Meta:
        verbose_name = "phone"
        constraints = [
            models.UniqueConstraint(fields=["contact", "number"], name="crm_contact_phone_unique")
        ]

    def __str__(self) -> str:
        return self.number

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.number = normalise_phone(self.number)
        super().save(*args, **kwargs)


class Deal(Record):
    name = models.CharField("name", max_length=200)
    company = models.ForeignKey(
        Company,
        verbose_name="company",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deals",
    )
    pipeline = models.ForeignKey(
        Pipeline, verbose_name="pipeline", on_delete=models.PROTECT, related_name="+"
    )
    stage = models.ForeignKey(
        Stage, verbose_name="stage", on_delete=models.PROTECT, related_name="+"
    )
    amount = models.DecimalField(
        "amount",
        max_digits=14,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    currency = ChoiceListField(
        "currency", choice_list="currency", default=settings.CRM_DEFAULT_CURRENCY
    )
    expected_close = models.DateField("expected close", null=True, blank=True)
    contacts = models.ManyToManyField(
        Contact, through="DealContact", verbose_name="contacts", related_name="deals", blank=True
    )

    notes = GenericRelation(Note, "target_id", "target_type")
    tasks = GenericRelation(Task, "target_id", "target_type")
    tagged_items = GenericRelation(TaggedItem, "target_id", "target_type")
    attachments = GenericRelation(Attachment, "target_id", "target_type")

    pipeline_stage_field = "stage"

    class Meta:
        verbose_name = "deal"
        verbose_name_plural = "deals"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        if self.pipeline_id and self.stage_id and self.stage.pipeline_id != self.pipeline_id:
            raise ValidationError(
                {"stage": "This stage belongs to another pipeline; pick a stage of this one."}
            )


class DealContact(models.Model):
    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="deal_contacts")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="deal_roles")
    role = ChoiceListField("role", choice_list="deal_contact_role", blank=True)

    class Meta:
        verbose_name = "deal contact"
        constraints = [
            models.UniqueConstraint(fields=["deal", "contact"], name="crm_deal_contact_unique")
        ]

    def __str__(self) -> str:
        return f"{self.contact} ({self.role})" if self.role else str(self.contact)
