"""Endpoints of the base CRM's REST API under /api/crm/.

Each view names its queryset (with the joins its serializer needs, so a list page costs
the same number of queries whatever its length), filters, search and ordering. Behaviour
shared by every app (permissions, visibility, soft delete, acting user) comes from the
kit's view bases; writes go through kit services.
"""

from __future__ import annotations

from typing import Any

from django.db import models as db
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from crm import models
from crm.api import filters, serializers
from crm.kit.api import (
    HistoryViewSet,
    KitModelViewSet,
    RecordViewSet,
    prefetch_to_list,
    tags_prefetch,
)
from crm.kit.permissions import CHANGE
from crm.kit.roles import records_visible_to
from crm.kit.services import tasks_mark_done


class CompanyViewSet(RecordViewSet):
    """Companies. DELETE archives a company; POST .../restore/ brings it back."""

    queryset = models.Company.all_objects.prefetch_related(tags_prefetch(models.Company))
    serializer_class = serializers.CompanySerializer
    filterset_class = filters.CompanyFilter
    search_fields = ("name", "domain", "city", "country")
    ordering_fields = ("name", "domain", "city", "country", "created_at", "updated_at")


class ContactViewSet(RecordViewSet):
    """Contacts, with their extra emails and phones inline: sending ``emails`` or ``phones``
    replaces that list. DELETE archives a contact; POST .../restore/ brings it back."""

    queryset = models.Contact.all_objects.prefetch_related(
        prefetch_to_list("emails"), prefetch_to_list("phones"), tags_prefetch(models.Contact)
    )
    serializer_class = serializers.ContactSerializer
    filterset_class = filters.ContactFilter
    search_fields = ("first_name", "last_name", "email", "job_title", "company__name")
    ordering_fields = ("last_name", "first_name", "email", "created_at", "updated_at")


class DealViewSet(RecordViewSet):
    """Deals moving through a pipeline's stages. ``contacts`` is read here and edited under
    deal-contacts. DELETE archives a deal; POST .../restore/ brings it back."""

    queryset = models.Deal.all_objects.prefetch_related(
        prefetch_to_list("deal_contacts"), tags_prefetch(models.Deal)
    )
    serializer_class = serializers.DealSerializer
    filterset_class = filters.DealFilter
    search_fields = ("name", "company__name")
    ordering_fields = ("name", "amount", "expected_close", "created_at", "updated_at")


class DealContactViewSet(KitModelViewSet):
    """Contacts of deals with their role; a user sees those of the deals they may see."""

    queryset = models.DealContact.objects.all()
    serializer_class = serializers.DealContactSerializer
    filterset_class = filters.DealContactFilter
    ordering_fields = ("id",)
    ordering = ("id",)

    def visible(self, queryset: db.QuerySet) -> db.QuerySet:
        deals = records_visible_to(self.request.user, models.Deal.objects.all())
        return queryset.filter(deal__in=deals)


class TaskViewSet(RecordViewSet):
    """Tasks, optionally attached to a record (target_type + target_id). POST
    .../mark-done/ completes one. DELETE archives; POST .../restore/ brings it back."""

    queryset = models.Task.all_objects.select_related("target_type")
    serializer_class = serializers.TaskSerializer
    filterset_class = filters.TaskFilter
    search_fields = ("title", "description")
    ordering_fields = ("due_date", "created_at", "updated_at")
    action_permissions = {**RecordViewSet.action_permissions, "mark_done": [CHANGE]}

    @extend_schema(request=None, summary="Mark a task done")
    @action(detail=True, methods=["post"], url_path="mark-done")
    def mark_done(self, request: Request, pk: Any = None) -> Response:
        task = self.get_object()
        tasks_mark_done(tasks=[task])
        return Response(self.get_serializer(task).data)


class NoteViewSet(RecordViewSet):
    """Notes attached to a record (target_type + target_id). DELETE archives a note;
    POST .../restore/ brings it back."""

    queryset = models.Note.all_objects.select_related("target_type")
    serializer_class = serializers.NoteSerializer
    filterset_class = filters.NoteFilter
    search_fields = ("body",)
    ordering_fields = ("created_at", "updated_at")


class TagViewSet(KitModelViewSet):
    """Tags; records carry them in their ``tags`` list, by name."""

    queryset = models.Tag.objects.all()
    serializer_class = serializers.TagSerializer
    filterset_class = filters.TagFilter
    search_fields = ("name",)
    ordering_fields = ("name",)


class ChoiceListViewSet(KitModelViewSet):
    """Editable lists of values (task status, industry...) with their options. Sending
    ``options`` replaces the list: unlisted options are deactivated, never deleted."""

    queryset = models.ChoiceList.objects.prefetch_related(
        prefetch_to_list("options", models.ChoiceOption.objects.order_by("order", "label"))
    )
    serializer_class = serializers.ChoiceListSerializer
    filterset_class = filters.ChoiceListFilter
    search_fields = ("key", "name")
    ordering_fields = ("key", "name")


class PipelineViewSet(KitModelViewSet):
    """Pipelines and their ordered stages. Sending ``stages`` replaces them: an item with an
    id keeps that stage, one without creates a stage; a stage still in use cannot go."""

    queryset = models.Pipeline.objects.prefetch_related(
        prefetch_to_list("stages", models.Stage.objects.order_by("order", "pk"))
    )
    serializer_class = serializers.PipelineSerializer
    filterset_class = filters.PipelineFilter
    search_fields = ("name",)
    ordering_fields = ("entity", "order", "name")


@extend_schema_view(
    list=extend_schema(summary="Timeline entries, newest first"),
)
class TimelineEntryViewSet(HistoryViewSet):
    """Who created, changed, moved, archived, restored or deleted which record, and when."""

    queryset = models.TimelineEntry.objects.select_related("record_type", "actor")
    serializer_class = serializers.TimelineEntrySerializer
    filterset_class = filters.TimelineEntryFilter
    search_fields = ("record_repr", "field", "old_value", "new_value")
    ordering_fields = ("at", "id")


class StageChangeViewSet(HistoryViewSet):
    """Stage history: each move of a record from one pipeline stage to another."""

    queryset = models.StageChange.objects.select_related("record_type")
    serializer_class = serializers.StageChangeSerializer
    filterset_class = filters.StageChangeFilter
    ordering_fields = ("changed_at", "id")
