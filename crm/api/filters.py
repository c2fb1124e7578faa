"""Query-string filters of the base CRM's list endpoints (django-filter).

Every record list also has the kit's common filters (owner, created_after/before,
updated_after, tag). Filters only narrow a queryset the view has already limited to
what the user may see; they never widen it.
"""

from __future__ import annotations

import django_filters
from django.contrib.auth import get_user_model

from crm import models
from crm.kit.api import RecordFilterSet, record_type_filter
from crm.kit.models import StageKind, TimelineAction


class CompanyFilter(RecordFilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")
    city = django_filters.CharFilter(lookup_expr="iexact")
    country = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = models.Company
        fields = ("name", "domain", "industry", "city", "country")


class ContactFilter(RecordFilterSet):
    email = django_filters.CharFilter(lookup_expr="iexact")
    last_name = django_filters.CharFilter(lookup_expr="icontains")
    job_title = django_filters.CharFilter(lookup_expr="icontains")
    deal = django_filters.NumberFilter(
        field_name="deal_roles__deal", help_text="Id of a deal the contact takes part in."
    )

    class Meta:
        model = models.Contact
        fields = ("company", "email", "last_name", "job_title")


class DealFilter(RecordFilterSet):
    stage_kind = django_filters.ChoiceFilter(field_name="stage__kind", choices=StageKind.choices)
    amount_min = django_filters.NumberFilter(field_name="amount", lookup_expr="gte")
    amount_max = django_filters.NumberFilter(field_name="amount", lookup_expr="lte")
    expected_close_after = django_filters.DateFilter(field_name="expected_close", lookup_expr="gte")
    expected_close_before = django_filters.DateFilter(
        field_name="expected_close", lookup_expr="lte"
    )
    contact = django_filters.NumberFilter(
        field_name="deal_contacts__contact", help_text="Id of a contact taking part in the deal."
    )

    class Meta:
        model = models.Deal
        fields = ("company", "pipeline", "stage", "currency")


class DealContactFilter(django_filters.FilterSet):
    class Meta:
        model = models.DealContact
        fields = ("deal", "contact", "role")


class TaskFilter(RecordFilterSet):
    assignee = django_filters.ModelChoiceFilter(queryset=get_user_model().objects.all())
    due_after = django_filters.DateFilter(field_name="due_date", lookup_expr="gte")
    due_before = django_filters.DateFilter(field_name="due_date", lookup_expr="lte")
    target_type = record_type_filter("crm", field_name="target_type", targets_only=True)

    class Meta:
        model = models.Task
        fields = ("status", "priority", "assignee", "target_type", "target_id")


class NoteFilter(RecordFilterSet):
    target_type = record_type_filter("crm", field_name="target_type", targets_only=True)

    class Meta:
        model = models.Note
        fields = ("target_type", "target_id")


class TagFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = models.Tag
        fields = ("name",)


class ChoiceListFilter(django_filters.FilterSet):
    class Meta:
        model = models.ChoiceList
        fields = ("key",)


class PipelineFilter(django_filters.FilterSet):
    class Meta:
        model = models.Pipeline
        fields = ("entity",)


class TimelineEntryFilter(django_filters.FilterSet):
    record_type = record_type_filter("crm", field_name="record_type")
    action = django_filters.ChoiceFilter(choices=TimelineAction.choices)
    actor = django_filters.ModelChoiceFilter(queryset=get_user_model().objects.all())
    at_after = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="gte")
    at_before = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="lt")

    class Meta:
        model = models.TimelineEntry
        fields = ("record_type", "record_id", "action", "actor", "field")


class StageChangeFilter(django_filters.FilterSet):
    record_type = record_type_filter("crm", field_name="record_type")

    class Meta:
        model = models.StageChange
        fields = ("record_type", "record_id", "from_stage", "to_stage")
