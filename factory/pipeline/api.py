"""The factory's REST API, on the bare domain: change requests for integrations.

Create a request in plain words (or upload a spec), read its questions and answer them,
follow its state, deploy its preview, roll it back. Authentication is the console's: a
user token (``Authorization: Token …``) or a session; every query starts from the tenants
the user builds for (``change_requests_visible``), so another tenant's request answers
404, exactly like one that does not exist. Views only translate HTTP to services and
back; refusals come back as 400/409 with the services' sentences. A request's ``usage``
gives its cost as ``cost_usd`` with ``cost_note``: null and a reason when a model has no
price (never a silent 0), and "replay — no model called" when no model answered.
"""

from __future__ import annotations

import json
from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from factory.agents.budgets import runs_cost_shown
from factory.pipeline import services
from factory.pipeline.models import ChangeRequest, PlanTask, Question
from factory.pipeline.selectors import (
    change_request_runs,
    change_requests_visible,
    release_site_url,
    tenants_of_builder,
)
from factory.pipeline.services import PipelineRefused
from factory.pipeline.tasks import steps_send
from factory.tenants.models import Tenant


class AnswerSerializer(serializers.Serializer):
    text = serializers.CharField()
    # DRF moves declared fields off the class, so this does not replace Field.source.
    source = serializers.CharField()  # type: ignore[assignment]


class QuestionSerializer(serializers.ModelSerializer):
    answer = serializers.SerializerMethodField()

    class Meta:
        model = Question
        fields = [
            "id",
            "round",
            "position",
            "text",
            "why",
            "options",
            "default",
            "free_text",
            "blocking",
            "answer",
        ]

    def get_answer(self, question: Question) -> dict[str, str] | None:
        answer = getattr(question, "answer", None)
        return {"text": answer.text, "source": answer.source} if answer else None


class PlanTaskSerializer(serializers.ModelSerializer):
    class Meta:
        model = PlanTask
        fields = [
            "key",
            "specialist",
            "title",
            "description",
            "requirements",
            "depends_on",
            "planned_wave",
            "wave",
            "status",
            "attempts",
            "report",
            "error",
        ]


class ReleaseSummarySerializer(serializers.Serializer):
    number = serializers.IntegerField()
    status = serializers.CharField()


class UsageSerializer(serializers.Serializer):
    runs = serializers.IntegerField(help_text="Agent runs of the request so far.")
    turns = serializers.IntegerField()
    input_tokens = serializers.IntegerField()
    output_tokens = serializers.IntegerField()
    cost_usd = serializers.DecimalField(
        max_digits=12,
        decimal_places=6,
        allow_null=True,
        help_text=(
            "What the request's model calls cost, in USD. Null when it is not known (a model "
            "with no entry in the price table, FACTORY_LLM_PRICES): cost_note then says "
            "which model. An unknown cost is never given as 0."
        ),
    )
    cost_note = serializers.CharField(
        allow_blank=True,
        help_text=(
            "Why cost_usd is null, e.g. 'cost unknown (model llama3.1:8b has no price)', or "
            "why it is not a model's cost, e.g. 'replay — no model called' (replayed or "
            "scripted answers cost nothing); empty when cost_usd is what the models cost."
        ),
    )


class ChangeRequestSerializer(serializers.ModelSerializer):
    tenant: serializers.SlugRelatedField[Tenant] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    builder: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    progress = serializers.IntegerField(read_only=True)
    release = serializers.SerializerMethodField()
    preview_url = serializers.SerializerMethodField()
    tasks = PlanTaskSerializer(many=True, read_only=True)
    open_questions = serializers.SerializerMethodField()
    usage = serializers.SerializerMethodField()

    class Meta:
        model = ChangeRequest
        fields = [
            "id",
            "tenant",
            "builder",
            "kind",
            "text",
            "language",
            "state",
            "step",
            "progress",
            "error",
            "summary",
            "requirements",
            "assumptions",
            "qa_notes",
            "open_questions",
            "tasks",
            "release",
            "preview_url",
            "usage",
            "confirm_destructive",
            "created_at",
            "updated_at",
            "finished_at",
        ]

    @extend_schema_field(ReleaseSummarySerializer(allow_null=True))
    def get_release(self, change_request: ChangeRequest) -> dict[str, Any] | None:
        release = change_request.release
        return {"number": release.number, "status": release.status} if release else None

    def get_preview_url(self, change_request: ChangeRequest) -> str:
        return release_site_url(change_request=change_request, request=self.context.get("request"))

    @extend_schema_field(serializers.IntegerField())
    def get_open_questions(self, change_request: ChangeRequest) -> int:
        return len(services.open_questions(change_request))

    @extend_schema_field(UsageSerializer())
    def get_usage(self, change_request: ChangeRequest) -> dict[str, Any]:
        usage = services.request_usage(change_request)
        cost = runs_cost_shown(change_request_runs(change_request=change_request))
        return UsageSerializer(
            {
                "runs": usage["runs"],
                "turns": usage["turns"],
                "input_tokens": usage["input_tokens"],
                "output_tokens": usage["output_tokens"],
                "cost_usd": cost.amount,
                "cost_note": cost.note,
            }
        ).data


class ChangeRequestCreateSerializer(serializers.Serializer):
    tenant = serializers.SlugField(help_text="The tenant's slug.")
    text = serializers.CharField(help_text="What the CRM needs, in plain words.")
    language = serializers.CharField(default="en", max_length=16)
    confirm_destructive = serializers.BooleanField(default=False)


class SpecUploadSerializer(serializers.Serializer):
    tenant = serializers.SlugField(help_text="The tenant's slug.")
    spec = serializers.JSONField(help_text="The app spec, as a JSON object or YAML/JSON text.")
    confirm_destructive = serializers.BooleanField(default=False)


class AnswerItemSerializer(serializers.Serializer):
    question = serializers.IntegerField()
    answer = serializers.CharField(allow_blank=True, default="")


class AnswersSerializer(serializers.Serializer):
    answers = AnswerItemSerializer(many=True)


class RollbackSerializer(serializers.Serializer):
    confirm = serializers.BooleanField(
        default=False, help_text="False: only say what the rollback would restore and lose."
    )


REFUSAL = inline_serializer(
    "Refusal", {"problems": serializers.ListField(child=serializers.CharField())}
)


def refused(error: PipelineRefused, code: int = status.HTTP_400_BAD_REQUEST) -> Response:
    return Response({"problems": error.problems}, status=code)


def _tenant_for(user: Any, slug: str) -> Tenant:
    # A tenant the user does not build for is answered as one that does not exist.
    return get_object_or_404(tenants_of_builder(user=user), slug=slug)


class TenantSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tenant
        fields = ["slug", "name"]


class TenantViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The tenants you build for."""

    serializer_class = TenantSerializer
    permission_classes = [IsAuthenticated]
    lookup_field = "slug"

    def get_queryset(self) -> Any:
        return tenants_of_builder(user=self.request.user).order_by("slug")


class ChangeRequestViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Change requests of the tenants you build for."""

    serializer_class = ChangeRequestSerializer
    permission_classes = [IsAuthenticated]
    filterset_fields = ["state", "kind"]
    search_fields = ["text"]
    ordering_fields = ["created_at", "updated_at"]

    def get_queryset(self) -> Any:
        queryset = change_requests_visible(user=self.request.user).prefetch_related("tasks")
        tenant = self.request.query_params.get("tenant")
        return queryset.filter(tenant__slug=tenant) if tenant else queryset

    @extend_schema(
        request=ChangeRequestCreateSerializer,
        responses={201: ChangeRequestSerializer, 400: REFUSAL},
        summary="Create a change request in plain words",
    )
    def create(self, request: Request) -> Response:
        data = ChangeRequestCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tenant = _tenant_for(request.user, data.validated_data["tenant"])
        try:
            change_request, steps = services.change_request_create(
                tenant=tenant,
                builder=request.user,
                text=data.validated_data["text"],
                language=data.validated_data["language"],
                confirm_destructive=data.validated_data["confirm_destructive"],
            )
        except PipelineRefused as error:
            return refused(error)
        steps_send(steps)
        return self._answer(change_request, status.HTTP_201_CREATED)

    @extend_schema(responses={200: QuestionSerializer(many=True)}, summary="The questions")
    @action(detail=True, methods=["get"])
    def questions(self, request: Request, pk: str | None = None) -> Response:
        change_request = self.get_object()
        questions = change_request.questions.select_related("answer").order_by("round", "position")
        return Response(QuestionSerializer(questions, many=True).data)

    @extend_schema(
        request=AnswersSerializer,
        responses={202: ChangeRequestSerializer, 400: REFUSAL},
        summary="Answer the open questions (empty: take the suggested default)",
    )
    @action(detail=True, methods=["post"])
    def answers(self, request: Request, pk: str | None = None) -> Response:
        change_request = self.get_object()
        data = AnswersSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        given = {item["question"]: item["answer"] for item in data.validated_data["answers"]}
        try:
            steps = services.change_request_answer(
                change_request=change_request, answers=given, actor=request.user
            )
        except PipelineRefused as error:
            return refused(error)
        steps_send(steps)
        return self._answer(change_request, status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=None,
        responses={202: ChangeRequestSerializer, 409: REFUSAL},
        summary="Deploy the preview release",
    )
    @action(detail=True, methods=["post"])
    def deploy(self, request: Request, pk: str | None = None) -> Response:
        change_request = self.get_object()
        try:
            steps = services.change_request_deploy_request(
                change_request=change_request, actor=request.user
            )
        except PipelineRefused as error:
            return refused(error, status.HTTP_409_CONFLICT)
        steps_send(steps)
        return self._answer(change_request, status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=RollbackSerializer,
        responses={
            202: ChangeRequestSerializer,
            409: OpenApiResponse(REFUSAL, description="Not confirmed: what would be lost."),
        },
        summary="Roll the deployed release back (code and data)",
    )
    @action(detail=True, methods=["post"])
    def rollback(self, request: Request, pk: str | None = None) -> Response:
        change_request = self.get_object()
        data = RollbackSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            steps = services.change_request_rollback_request(
                change_request=change_request,
                actor=request.user,
                confirm=data.validated_data["confirm"],
            )
        except PipelineRefused as error:
            return refused(error, status.HTTP_409_CONFLICT)
        steps_send(steps)
        return self._answer(change_request, status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=None,
        responses={200: ChangeRequestSerializer, 409: REFUSAL},
        summary="Cancel the request",
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        change_request = self.get_object()
        try:
            services.change_request_cancel(change_request=change_request, actor=request.user)
        except PipelineRefused as error:
            return refused(error, status.HTTP_409_CONFLICT)
        return self._answer(change_request, status.HTTP_200_OK)

    @extend_schema(
        request=SpecUploadSerializer,
        responses={201: ChangeRequestSerializer, 400: REFUSAL},
        summary="Upload a spec: the same checks, preview and deploy, without a model",
    )
    @action(detail=False, methods=["post"], url_path="spec")
    def spec(self, request: Request) -> Response:
        from factory.spec.io import spec_load
        from factory.spec.validation import SpecInvalid

        data = SpecUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tenant = _tenant_for(request.user, data.validated_data["tenant"])
        raw = data.validated_data["spec"]
        try:
            spec = spec_load(text=raw if isinstance(raw, str) else json.dumps(raw))
            change_request, steps = services.change_request_create_from_spec(
                tenant=tenant,
                builder=request.user,
                spec=spec,
                confirm_destructive=data.validated_data["confirm_destructive"],
            )
        except SpecInvalid as error:
            return refused(PipelineRefused(f"The spec is not valid. {error}"))
        except PipelineRefused as error:
            return refused(error)
        steps_send(steps)
        return self._answer(change_request, status.HTTP_201_CREATED)

    def _answer(self, change_request: ChangeRequest, code: int) -> Response:
        change_request.refresh_from_db()
        return Response(self.get_serializer(change_request).data, status=code)


def factory_api_endpoints(endpoints: list[Any], **kwargs: Any) -> list[Any]:
    """Schema hook: the factory API's schema documents the factory API only."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/api/factory/")]
