"""Serializers of the base CRM's REST API, built on the kit's serializer bases.

They declare fields and the few rules of the template's own models (a contact's inline
emails and phones); shared behaviour (stamps, choice lists, tags, pipelines, visibility)
comes from ``crm.kit.api``. No business logic here: writes go through kit services.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from rest_framework import serializers

from crm import models
from crm.kit import api as kit
from crm.kit.api import (
    ChoiceListSerializerMixin,
    KitModelSerializer,
    PipelineRecordSerializerMixin,
    PipelineSerializerMixin,
    RecordSerializer,
    TagNamesField,
    TargetedSerializerMixin,
    TaskSerializerMixin,
)
from crm.kit.normalise import normalise_domain, normalise_email, normalise_phone
from crm.kit.services import child_rows_replace


class CompanySerializer(RecordSerializer):
    normalisers = {"domain": normalise_domain, "phone": normalise_phone}

    tags = TagNamesField()

    class Meta(RecordSerializer.Meta):
        model = models.Company
        fields = (
            "id",
            "name",
            "domain",
            "industry",
            "phone",
            "address",
            "city",
            "country",
            "description",
            "tags",
            *RecordSerializer.record_fields,
        )


class ContactEmailSerializer(KitModelSerializer):
    normalisers = {"email": normalise_email}

    class Meta:
        model = models.ContactEmail
        fields = ("email", "label")


class ContactPhoneSerializer(KitModelSerializer):
    normalisers = {"number": normalise_phone}

    class Meta:
        model = models.ContactPhone
        fields = ("number", "label")


def _refuse_repeats(values: list[str], what: str) -> None:
    repeated = sorted({value for value in values if values.count(value) > 1})
    if repeated:
        raise serializers.ValidationError(
            f"The {what} {', '.join(repeated)} is listed more than once; list each once."
        )


class ContactSerializer(RecordSerializer):
    """A contact with its extra emails and phones inline: sending ``emails`` or ``phones``
    replaces that whole list; leaving one out keeps it as it is."""

    normalisers = {"email": normalise_email, "phone": normalise_phone}

    emails = ContactEmailSerializer(many=True, required=False)
    phones = ContactPhoneSerializer(many=True, required=False)
    tags = TagNamesField()

    class Meta(RecordSerializer.Meta):
        model = models.Contact
        fields = (
            "id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "job_title",
            "company",
            "emails",
            "phones",
            "tags",
            *RecordSerializer.record_fields,
        )

    def validate_emails(self, emails: list[dict[str, Any]]) -> list[dict[str, Any]]:
        _refuse_repeats([item["email"] for item in emails], "email")
        return emails

    def validate_phones(self, phones: list[dict[str, Any]]) -> list[dict[str, Any]]:
        _refuse_repeats([item["number"] for item in phones], "number")
        return phones

    @transaction.atomic
    def create(self, validated_data: dict[str, Any]) -> models.Contact:
        inline = self._pop_inline(validated_data)
        contact = super().create(validated_data)
        self._write_inline(contact, inline)
        return contact

    @transaction.atomic
    def update(self, instance: models.Contact, validated_data: dict[str, Any]) -> models.Contact:
        inline = self._pop_inline(validated_data)
        contact = super().update(instance, validated_data)
        self._write_inline(contact, inline)
        return contact

    @staticmethod
    def _pop_inline(validated_data: dict[str, Any]) -> dict[str, Any]:
        return {
            name: validated_data.pop(name)
            for name in ("emails", "phones")
            if name in validated_data
        }

    @staticmethod
    def _write_inline(contact: models.Contact, inline: dict[str, Any]) -> None:
        keys = {"emails": "email", "phones": "number"}
        for related_name, rows in inline.items():
            child_rows_replace(
                parent=contact, related_name=related_name, rows=rows, key=keys[related_name]
            )


class DealContactOfDealSerializer(KitModelSerializer):
    """A contact of a deal and their role, as shown inside the deal."""

    class Meta:
        model = models.DealContact
        fields = ("id", "contact", "role")
        read_only_fields = fields


class DealSerializer(PipelineRecordSerializerMixin, RecordSerializer):
    """A deal; its contacts are listed here and edited through the deal-contacts endpoint."""

    pipeline = serializers.PrimaryKeyRelatedField(
        queryset=models.Pipeline.objects.filter(entity="deal"),
        required=False,
        help_text="Left out: the stage's pipeline, or the default deal pipeline.",
    )
    stage = serializers.PrimaryKeyRelatedField(
        queryset=models.Stage.objects.all(),
        required=False,
        help_text="Must belong to the pipeline. Left out: the pipeline's first stage.",
    )
    contacts = DealContactOfDealSerializer(many=True, read_only=True, source="deal_contacts")
    tags = TagNamesField()

    class Meta(RecordSerializer.Meta):
        model = models.Deal
        fields = (
            "id",
            "name",
            "company",
            "pipeline",
            "stage",
            "amount",
            "currency",
            "expected_close",
            "contacts",
            "tags",
            *RecordSerializer.record_fields,
        )


class DealContactSerializer(KitModelSerializer):
    class Meta:
        model = models.DealContact
        fields = ("id", "deal", "contact", "role")


class TaskSerializer(TaskSerializerMixin, TargetedSerializerMixin, RecordSerializer):
    class Meta(RecordSerializer.Meta):
        model = models.Task
        fields = (
            "id",
            "title",
            "description",
            "assignee",
            "due_date",
            "status",
            "priority",
            "reminder_at",
            "completed_at",
            "target_type",
            "target_id",
            *RecordSerializer.record_fields,
        )
        read_only_fields = (*RecordSerializer.Meta.read_only_fields, "completed_at")


class NoteSerializer(TargetedSerializerMixin, RecordSerializer):
    class Meta(RecordSerializer.Meta):
        model = models.Note
        fields = ("id", "body", "target_type", "target_id", *RecordSerializer.record_fields)


class TagSerializer(KitModelSerializer):
    class Meta:
        model = models.Tag
        fields = ("id", "name", "colour")


class ChoiceOptionSerializer(KitModelSerializer):
    class Meta:
        model = models.ChoiceOption
        fields = ("id", "value", "label", "colour", "order", "is_active")
        read_only_fields = ("id", "order")


class ChoiceListSerializer(ChoiceListSerializerMixin, KitModelSerializer):
    """A choice list and its options (order = position in ``options``)."""

    options = ChoiceOptionSerializer(many=True, required=False)

    class Meta:
        model = models.ChoiceList
        fields = ("id", "key", "name", "description", "options")


class StageSerializer(KitModelSerializer):
    id = serializers.IntegerField(
        required=False, help_text="Id of an existing stage to keep; leave out for a new stage."
    )

    class Meta:
        model = models.Stage
        fields = ("id", "name", "kind", "probability", "order")
        read_only_fields = ("order",)


class PipelineSerializer(PipelineSerializerMixin, KitModelSerializer):
    """A pipeline and its stages (order = position in ``stages``)."""

    stages = StageSerializer(many=True, required=False)

    class Meta:
        model = models.Pipeline
        fields = ("id", "entity", "name", "order", "is_default", "stages")


class TimelineEntrySerializer(kit.TimelineEntrySerializer):
    class Meta(kit.TimelineEntrySerializer.Meta):
        model = models.TimelineEntry


class StageChangeSerializer(kit.StageChangeSerializer):
    class Meta(kit.StageChangeSerializer.Meta):
        model = models.StageChange
