"""REST API building blocks of the kit, shared by the base CRM and every app built on it.

Serializers map the kit's fields (choice lists, tags, links to any record) and stamps;
``RecordViewSet`` gives every record endpoint the same behaviour: role permissions that
also guard reads, visibility limited by ``records_visible_to``, soft delete with restore,
and the request's user as the acting user for stamps and the timeline. Writes go through
``crm.kit.services``; nothing here knows a concrete app or model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any

import django_filters
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models, transaction
from django.db.models import Prefetch, ProtectedError, Q
from django.urls import include, path
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from drf_spectacular.views import SpectacularAPIView
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.relations import ManyRelatedField, RelatedField
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.validators import UniqueValidator

from crm.kit.current_user import acting_as
from crm.kit.fields import ChoiceListField, MultipleChoiceListField, choice_list_options
from crm.kit.models import AbstractChoiceList, Record, TargetedMixin
from crm.kit.permissions import ARCHIVE

# Re-exported: ``crm.kit.api`` is where apps look for the API's building blocks.
from crm.kit.permissions import ModelPermissions as ModelPermissions
from crm.kit.registry import kit_model
from crm.kit.roles import record_owner_check, records_visible_to, user_limited_to_own_records
from crm.kit.services import (
    ChoiceListInUse,
    choice_list_delete,
    choice_list_options_set,
    pipeline_stages_set,
    record_tags_set,
    records_archive,
    records_restore,
)


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


# -- Prefetching into lists ----------------------------------------------------------------

PREFETCHED = "prefetched_{}"


def prefetch_to_list(lookup: str, queryset: models.QuerySet | None = None) -> Prefetch:
    """Prefetch a relation into a plain list attribute (``prefetched_<lookup>``).

    Django otherwise builds one queryset per row to hold the prefetched rows, which costs
    more than the query itself on a page of 50; the kit's serializers read the list when
    it is there and fall back to the relation when it is not (a single record).
    """
    return Prefetch(lookup, queryset=queryset, to_attr=PREFETCHED.format(lookup))


def tags_prefetch(model: type[Record]) -> Prefetch:
    """The prefetch a record list needs for ``TagNamesField`` (links and tags, one query)."""
    tagged_item_model = kit_model(model._meta.app_label, "TaggedItem")
    return prefetch_to_list("tagged_items", tagged_item_model.objects.select_related("tag"))


def forget_prefetched(instance: models.Model) -> None:
    """Drop the prefetched lists of an instance whose related rows were just written."""
    for name in [name for name in vars(instance) if name.startswith("prefetched_")]:
        delattr(instance, name)


class PrefetchedListSerializer(serializers.ListSerializer):
    """A nested list that reads the relation's prefetched list when there is one."""

    def get_attribute(self, instance: Any) -> Any:
        prefetched = getattr(instance, PREFETCHED.format(self.source), None)
        if prefetched is not None:
            return prefetched
        return super().get_attribute(instance)


# -- Serializer fields -------------------------------------------------------------------


def record_models(app_label: str, *, targets_only: bool = False) -> list[type[Record]]:
    """The app's concrete record models; ``targets_only`` leaves out notes and tasks, which
    are attached to other records rather than being targets themselves."""
    return [
        model
        for model in apps.get_app_config(app_label).get_models()
        if issubclass(model, Record) and not (targets_only and issubclass(model, TargetedMixin))
    ]


class ChoiceListValueField(serializers.CharField):
    """A value of one of the app's editable choice lists, checked against its active options."""

    def __init__(self, *, choice_list: str, app_label: str, **kwargs: Any) -> None:
        self.choice_list = choice_list
        self.app_label = app_label
        kwargs.setdefault("help_text", f"A value of the choice list '{choice_list}'.")
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if value == "":
            return value
        allowed = [
            option for option, _label in choice_list_options(self.app_label, self.choice_list)
        ]
        if value not in allowed:
            raise serializers.ValidationError(
                f"'{value}' is not an active option of the list '{self.choice_list}'; "
                f"use one of: {', '.join(allowed)}."
            )
        return value


class MultipleChoiceListValueField(serializers.ListField):
    """Several values of one choice list."""

    def __init__(self, *, choice_list: str, app_label: str, **kwargs: Any) -> None:
        for unused in ("encoder", "decoder"):
            kwargs.pop(unused, None)
        kwargs["child"] = ChoiceListValueField(choice_list=choice_list, app_label=app_label)
        super().__init__(**kwargs)


@extend_schema_field({"type": "array", "items": {"type": "string"}})
class TagNamesField(serializers.Field):
    """The names of a record's tags; writing a list replaces them (unknown names are refused)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("source", "tagged_items")
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", "Names of existing tags; sending a list replaces them.")
        super().__init__(**kwargs)

    def get_attribute(self, instance: Any) -> Any:
        prefetched = getattr(instance, PREFETCHED.format(self.source), None)
        if prefetched is not None:
            return prefetched
        links = getattr(instance, self.source)  # type: ignore[arg-type]  # set once bound
        if self.source in getattr(instance, "_prefetched_objects_cache", {}):
            return links.all()  # prefetched the usual way ("tagged_items__tag")
        return links.select_related("tag")

    def to_representation(self, value: Any) -> list[str]:
        return sorted(item.tag.name for item in value)

    def to_internal_value(self, data: Any) -> list[models.Model]:
        if not isinstance(data, list) or not all(isinstance(name, str) for name in data):
            raise serializers.ValidationError("Send tags as a list of tag names.")
        # The parent is the record's ModelSerializer.
        tag_model = kit_model(self.parent.Meta.model._meta.app_label, "Tag")  # type: ignore[attr-defined]
        tags = {tag.name: tag for tag in tag_model.objects.filter(name__in=data)}
        unknown = sorted(set(data) - set(tags))
        if unknown:
            raise serializers.ValidationError(
                f"No tag is named {', '.join(repr(name) for name in unknown)}; "
                "create the tag first or use an existing name."
            )
        return list(tags.values())


class RecordTypeField(serializers.ChoiceField):
    """The type of a record, as its model name ('deal'), stored as a ContentType."""

    def __init__(self, *, targets_only: bool = False, **kwargs: Any) -> None:
        self.targets_only = targets_only
        super().__init__(choices=[], **kwargs)

    def bind(self, field_name: str, parent: Any) -> None:
        super().bind(field_name, parent)
        app_label = parent.Meta.model._meta.app_label
        self.models_by_name = {
            model._meta.model_name: model
            for model in record_models(app_label, targets_only=self.targets_only)
        }
        self.choices = [
            (name, model._meta.verbose_name) for name, model in self.models_by_name.items()
        ]

    # A choice of names in the API, a ContentType once validated (hence the overrides).
    def to_internal_value(self, data: Any) -> ContentType:  # type: ignore[override]
        name = super().to_internal_value(data)
        return ContentType.objects.get_for_model(self.models_by_name[name])

    def to_representation(self, value: ContentType) -> str:  # type: ignore[override]
        return value.model


# -- Serializers ---------------------------------------------------------------------------


class KitModelSerializer(serializers.ModelSerializer):
    """ModelSerializer that knows the kit's fields and the rules every app shares.

    - choice-list fields accept only active options of their list;
    - ``normalisers`` (field name → function) clean raw values before validation, so
      uniqueness is checked on what will be stored ('Ann@X.com' clashes with 'ann@x.com');
    - uniqueness of a record's field counts archived records too (the database does);
    - links to records accept only records the requesting user may see.
    """

    normalisers: Mapping[str, Callable[[Any], Any]] = {}

    @classmethod
    def many_init(cls, *args: Any, **kwargs: Any) -> serializers.BaseSerializer:
        serializer = super().many_init(*args, **kwargs)
        if type(serializer) is serializers.ListSerializer:
            serializer.__class__ = PrefetchedListSerializer
        return serializer

    def build_standard_field(self, field_name: str, model_field: models.Field) -> tuple:
        field_class, field_kwargs = super().build_standard_field(field_name, model_field)
        if isinstance(model_field, ChoiceListField | MultipleChoiceListField):
            field_class = (
                ChoiceListValueField
                if isinstance(model_field, ChoiceListField)
                else MultipleChoiceListValueField
            )
            field_kwargs["choice_list"] = model_field.choice_list
            field_kwargs["app_label"] = model_field.model._meta.app_label
        model = model_field.model
        if issubclass(model, Record):
            field_kwargs["validators"] = [
                UniqueValidator(
                    queryset=model.all_objects.all(),
                    message=(
                        f"Another {model._meta.verbose_name} (perhaps archived) already has "
                        f"this {model_field.verbose_name}; use that one or change the value."
                    ),
                )
                if isinstance(validator, UniqueValidator)
                else validator
                for validator in field_kwargs.get("validators", [])
            ]
        return field_class, field_kwargs

    def to_internal_value(self, data: Any) -> Any:
        if self.normalisers and isinstance(data, dict):  # a dict or a QueryDict
            data = data.copy()
            for name, normalise in self.normalisers.items():
                if isinstance(data.get(name), str):
                    data[name] = normalise(data[name])
        return super().to_internal_value(data)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        user = self.request_user
        if user is None:
            return fields
        for field in fields.values():
            related = field.child_relation if isinstance(field, ManyRelatedField) else field
            queryset = getattr(related, "queryset", None)
            if (
                isinstance(related, RelatedField)
                and queryset is not None
                and issubclass(queryset.model, Record)
            ):
                # drf-stubs type RelatedField.queryset as a manager descriptor.
                related.queryset = records_visible_to(user, queryset)  # type: ignore[arg-type]
        return fields

    @property
    def request_user(self) -> Any | None:
        request = self.context.get("request")
        user = getattr(request, "user", None)
        return user if user is not None and user.is_authenticated else None


class RecordSerializer(KitModelSerializer):
    """Base serializer of a record: read-only stamps, owner defaulting to the request's user
    (a user limited to their own records may not choose another: ``record_owner_check``),
    tags written through the kit's service when the serializer declares a ``tags`` field."""

    record_fields = (
        "owner",
        "created_at",
        "created_by",
        "updated_at",
        "updated_by",
        "archived_at",
    )

    owner = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.filter(is_active=True),
        default=serializers.CurrentUserDefault(),
        allow_null=True,
        help_text=(
            "Who owns the record; the requesting user when left out. A user limited to their "
            "own records may only name themselves."
        ),
    )
    archived_at = serializers.DateTimeField(
        source="deleted_at",
        read_only=True,
        help_text="When the record was archived (soft deleted); null while it is live.",
    )

    class Meta:
        read_only_fields = ("created_at", "created_by", "updated_at", "updated_by")

    def validate_owner(self, owner: Any) -> Any:
        user = self.request_user
        if user is not None:
            record_owner_check(
                user=user, model=self.Meta.model, owner=owner, creating=self.instance is None
            )
        return owner

    @transaction.atomic
    def create(self, validated_data: dict[str, Any]) -> Record:
        tags = validated_data.pop("tagged_items", None)
        record = super().create(validated_data)
        if tags is not None:
            record_tags_set(record=record, tags=tags)
        return record

    @transaction.atomic
    def update(self, instance: Record, validated_data: dict[str, Any]) -> Record:
        tags = validated_data.pop("tagged_items", None)
        record = super().update(instance, validated_data)
        if tags is not None:
            record_tags_set(record=record, tags=tags)
        return record


if TYPE_CHECKING:

    class _KitSerializerMixinBase(serializers.Serializer):
        """The serializer mixins below always join a KitModelSerializer: its Meta, its user."""

        Meta: Any
        request_user: Any

else:
    _KitSerializerMixinBase = serializers.Serializer


class TargetedSerializerMixin(_KitSerializerMixinBase):
    """``target_type`` + ``target_id``: the record a note, task or attachment belongs to."""

    target_type = RecordTypeField(
        targets_only=True,
        required=False,
        allow_null=True,
        help_text="Type of the record this belongs to (model name); null for none.",
    )
    target_id = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, help_text="Id of that record."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        instance = self.instance
        target_type = attrs.get("target_type", getattr(instance, "target_type", None))
        target_id = attrs.get("target_id", getattr(instance, "target_id", None))
        if (target_type is None) != (target_id is None):
            raise serializers.ValidationError(
                {"target_id": "Send target_type and target_id together, or neither."}
            )
        if target_type is not None and ("target_type" in attrs or "target_id" in attrs):
            model = target_type.model_class()
            queryset = model.objects.all()
            if self.request_user is not None:
                queryset = records_visible_to(self.request_user, queryset)
            if not queryset.filter(pk=target_id).exists():
                raise serializers.ValidationError(
                    {
                        "target_id": f"No {model._meta.verbose_name} with id {target_id} is "
                        "visible to you; check target_type and target_id."
                    }
                )
        return attrs


class PipelineRecordSerializerMixin(_KitSerializerMixinBase):
    """Pipeline and stage of a record that moves through a pipeline (fields ``pipeline`` and
    the model's ``pipeline_stage_field``).

    Left out on create, the entity's default pipeline and its first stage are used; a stage
    sent alone brings its pipeline along (as ``records_move_stage`` does); a pipeline sent
    alone starts at its first stage; a stage of another pipeline than the one sent is refused.
    """

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        model = self.Meta.model
        stage_field = model.pipeline_stage_field
        instance = self.instance
        pipeline: Any = attrs.get("pipeline")
        stage: Any = attrs.get(stage_field)
        if instance is not None and pipeline is None and stage is None:
            return attrs
        if pipeline is None and stage is None:
            pipeline = (
                kit_model(model._meta.app_label, "Pipeline")
                .objects.filter(entity=model._meta.model_name)
                .order_by("-is_default", "order", "pk")
                .first()
            )
            if pipeline is None:
                raise serializers.ValidationError(
                    {
                        "pipeline": f"No pipeline exists for {model._meta.verbose_name_plural}; "
                        "create one first."
                    }
                )
        if pipeline is None:
            pipeline = stage.pipeline
        if stage is None:
            current = getattr(instance, stage_field, None)
            if current is not None and current.pipeline_id == pipeline.pk:
                stage = current
            else:
                stage = pipeline.stages.order_by("order", "pk").first()
            if stage is None:
                raise serializers.ValidationError(
                    {"pipeline": f"The pipeline {pipeline} has no stages; add one first."}
                )
        if stage.pipeline_id != pipeline.pk:
            raise serializers.ValidationError(
                {
                    stage_field: f"The stage {stage} belongs to the pipeline {stage.pipeline}, "
                    f"not {pipeline}; pick a stage of {pipeline}."
                }
            )
        attrs["pipeline"], attrs[stage_field] = pipeline, stage
        return attrs


class TaskSerializerMixin(_KitSerializerMixinBase):
    """Keeps ``completed_at`` in step with the status, as ``tasks_mark_done`` does."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        if "status" not in attrs:
            return attrs
        done = self.Meta.model.done_status
        was_done = self.instance is not None and self.instance.status == done
        if attrs["status"] == done and not was_done:
            attrs["completed_at"] = timezone.now()
        elif attrs["status"] != done:
            attrs["completed_at"] = None
        return attrs


class ChoiceListSerializerMixin(serializers.Serializer):
    """A choice list with its ``options`` written as a whole list: listed options are created
    or updated in that order, unlisted ones deactivated (rows may still hold them)."""

    def validate_options(self, options: list[dict[str, Any]]) -> list[dict[str, Any]]:
        values = [option["value"] for option in options]
        repeated = sorted({value for value in values if values.count(value) > 1})
        if repeated:
            raise serializers.ValidationError(
                f"The values {', '.join(repeated)} are listed more than once; list each once."
            )
        return options

    @transaction.atomic
    def create(self, validated_data: dict[str, Any]) -> Any:
        options = validated_data.pop("options", [])
        choice_list = super().create(validated_data)
        choice_list_options_set(choice_list=choice_list, options=options)
        return choice_list

    @transaction.atomic
    def update(self, instance: Any, validated_data: dict[str, Any]) -> Any:
        options = validated_data.pop("options", None)
        choice_list = super().update(instance, validated_data)
        if options is not None:
            choice_list_options_set(choice_list=choice_list, options=options)
        return choice_list


class PipelineSerializerMixin(_KitSerializerMixinBase):
    """A pipeline with its ``stages`` written as a whole list (see ``pipeline_stages_set``);
    ``entity`` must name a model of the app that moves through a pipeline."""

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        app_label = self.Meta.model._meta.app_label
        fields["entity"] = serializers.ChoiceField(
            choices=[
                (model._meta.model_name, str(model._meta.verbose_name))
                for model in record_models(app_label)
                if model.pipeline_stage_field
            ],
            help_text="The kind of record that moves through this pipeline.",
        )
        return fields

    @transaction.atomic
    def create(self, validated_data: dict[str, Any]) -> Any:
        stages = validated_data.pop("stages", [])
        pipeline = super().create(validated_data)
        with django_errors_as_api_errors("stages"):
            pipeline_stages_set(pipeline=pipeline, stages=stages)
        return pipeline

    @transaction.atomic
    def update(self, instance: Any, validated_data: dict[str, Any]) -> Any:
        stages = validated_data.pop("stages", None)
        pipeline = super().update(instance, validated_data)
        if stages is not None:
            with django_errors_as_api_errors("stages"):
                pipeline_stages_set(pipeline=pipeline, stages=stages)
        return pipeline


class TimelineEntrySerializer(KitModelSerializer):
    record_type = RecordTypeField(read_only=True)
    actor_name = serializers.SerializerMethodField()

    class Meta:
        fields = (
            "id",
            "record_type",
            "record_id",
            "record_repr",
            "action",
            "field",
            "old_value",
            "new_value",
            "actor",
            "actor_name",
            "at",
        )
        read_only_fields = fields

    def get_actor_name(self, entry: Any) -> str:
        actor = entry.actor
        if actor is None:
            return ""
        return actor.get_full_name() or actor.get_username()


class StageChangeSerializer(KitModelSerializer):
    record_type = RecordTypeField(read_only=True)

    class Meta:
        fields = (
            "id",
            "record_type",
            "record_id",
            "from_stage",
            "to_stage",
            "changed_by",
            "changed_at",
        )
        read_only_fields = fields


# -- Filters -------------------------------------------------------------------------------


def record_type_filter(app_label: str, *, field_name: str, targets_only: bool = False) -> Any:
    """A filter on a generic link's type by model name (``?record_type=deal``)."""

    def choices() -> list[tuple[str, str]]:
        return [
            (model._meta.model_name, str(model._meta.verbose_name))  # type: ignore[misc]
            for model in record_models(app_label, targets_only=targets_only)
        ]

    def filter_type(queryset: models.QuerySet, name: str, value: str) -> models.QuerySet:
        if not value:
            return queryset
        model = apps.get_model(app_label, value)
        return queryset.filter(**{field_name: ContentType.objects.get_for_model(model)})

    return django_filters.ChoiceFilter(choices=choices, method=filter_type)


class RecordFilterSet(django_filters.FilterSet):
    """Filters every record list offers: owner, creation and change dates, tag."""

    owner = django_filters.ModelChoiceFilter(queryset=get_user_model().objects.all())
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    updated_after = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")
    tag = django_filters.CharFilter(
        method="filter_tag", help_text="Name of a tag the record carries."
    )

    def filter_tag(self, queryset: models.QuerySet, name: str, value: str) -> models.QuerySet:
        if not value:
            return queryset
        return queryset.filter(tagged_items__tag__name=value).distinct()


# -- Views ---------------------------------------------------------------------------------


def history_visible_to(user: Any, queryset: models.QuerySet) -> models.QuerySet:
    """History rows (timeline, stage changes) of the records the user may see."""
    app_label = queryset.model._meta.app_label
    if not user_limited_to_own_records(user, app_label):
        return queryset
    visible = Q()
    for model in record_models(app_label):
        visible |= Q(
            record_type=ContentType.objects.get_for_model(model),
            record_id__in=records_visible_to(user, model.all_objects.all()).values("pk"),
        )
    return queryset.filter(visible)


if TYPE_CHECKING:
    # To the type checker the mixin is the model viewset it always joins.
    _KitViewSetMixinBase = viewsets.ModelViewSet
else:
    _KitViewSetMixinBase = object


class KitViewSetMixin(_KitViewSetMixinBase):
    """Acting user, visibility and refusal of deletes that would orphan rows."""

    request: Request

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        # The middleware sees only session users; the API's user (token or session) is known
        # once DRF has authenticated, in ``initial``, and stays the acting user until the
        # response is built.
        with ExitStack() as stack:
            self._acting_stack = stack
            return super().dispatch(request, *args, **kwargs)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        self._acting_stack.enter_context(acting_as(request.user))

    def get_queryset(self) -> models.QuerySet:
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):
            return queryset.none()
        return self.visible(queryset)

    def visible(self, queryset: models.QuerySet) -> models.QuerySet:
        return records_visible_to(self.request.user, queryset)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        super().perform_update(serializer)
        # The answer must show the rows just written, not the lists prefetched before.
        forget_prefetched(serializer.instance)  # type: ignore[arg-type]  # just saved

    def perform_destroy(self, instance: models.Model) -> None:
        try:
            with transaction.atomic():
                instance.delete()
        except ProtectedError as error:
            raise Conflict(
                f"This {instance._meta.verbose_name} is still used by "
                f"{len(error.protected_objects)} record(s); move or remove them first."
            ) from error


class KitModelViewSet(KitViewSetMixin, viewsets.ModelViewSet):
    """Endpoint of a kit or app table that is not a record (tags, choice lists, pipelines)."""

    def perform_destroy(self, instance: models.Model) -> None:
        # Fields name their choice list in code, so the service refuses to delete one in use.
        if isinstance(instance, AbstractChoiceList):
            try:
                choice_list_delete(choice_list=instance)
            except ChoiceListInUse as error:
                raise Conflict(str(error)) from error
            return
        super().perform_destroy(instance)


class HistoryViewSet(KitViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """Read-only endpoint of a history table (timeline, stage changes)."""

    def visible(self, queryset: models.QuerySet) -> models.QuerySet:
        return history_visible_to(self.request.user, queryset)


ARCHIVED_PARAMETER = OpenApiParameter(
    "archived",
    OpenApiTypes.BOOL,
    description="true lists only archived (soft deleted) records, to find what to restore.",
)


class RecordViewSet(KitViewSetMixin, viewsets.ModelViewSet):
    """Endpoint of a record model.

    Set ``queryset`` from the model's ``all_objects`` manager (with its select_related and
    prefetch_related): lists and details show live records, ``?archived=true`` lists the
    archived ones, and ``restore`` reaches both. DELETE archives; restore brings back; both
    need ``ARCHIVE`` (the delete permission), as the admin's Archive and Restore actions do.
    """

    action_permissions = {"destroy": [ARCHIVE], "restore": [ARCHIVE]}

    def get_queryset(self) -> models.QuerySet:
        queryset = super().get_queryset()
        if self.action == "restore":
            return queryset
        if self.action == "list" and self.request.query_params.get("archived") == "true":
            return queryset.filter(deleted_at__isnull=False)
        return queryset.filter(deleted_at__isnull=True)

    @extend_schema(parameters=[ARCHIVED_PARAMETER])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    # A record viewset's queryset holds only records.
    def perform_destroy(self, instance: Record) -> None:  # type: ignore[override]
        records_archive(records=[instance])

    @extend_schema(request=None, summary="Restore an archived record")
    @action(detail=True, methods=["post"])
    def restore(self, request: Request, pk: Any = None) -> Response:
        record = self.get_object()
        records_restore(records=[record])
        return Response(self.get_serializer(record).data)


class AppSchemaView(SpectacularAPIView):
    """The OpenAPI schema of one app's API only, wherever its URLs are mounted.

    drf-spectacular describes every API of the URLconf by default (the factory's own API
    included); an app's docs page should show the app's endpoints and nothing else. The
    mount point is read from the request, so the same view serves a tenant app's API.
    Route it as ``schema/`` beside the app's endpoints, with ``api_patterns`` = those.
    """

    api_patterns: list[Any] = []
    schema_route = "schema/"

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # Set once the URL resolved, before any view runs.
        mount = request.resolver_match.route.removesuffix(self.schema_route)  # type: ignore[union-attr]
        self.patterns = [path(mount, include(list(self.api_patterns)))]
        return super().get(request, *args, **kwargs)


@contextmanager
def django_errors_as_api_errors(field_name: str | None = None) -> Iterator[None]:
    """Turn a service's Django ValidationError into the API's 400 answer."""
    try:
        yield
    except DjangoValidationError as error:
        detail = error.messages if field_name is None else {field_name: error.messages}
        raise serializers.ValidationError(detail) from error
