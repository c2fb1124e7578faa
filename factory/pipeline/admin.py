"""The builders' console for change requests (Django admin on the bare domain).

The list shows each request's state and progress and refreshes itself while work is under
way. A request's page shows its progress, the questions as a form to answer, the plan,
every agent turn (prompt, tool calls, errors, tokens, cost), the spec and code diffs of
its release, the link to the preview, and the deploy, rollback and cancel buttons. A
separate page takes a spec directly (upload or edit), for the same checks, preview and
deploy without a model. A builder sees and acts on the requests of the tenants where
they are a builder, nothing else: every view starts from ``change_requests_visible``, and
a request outside it answers 404. Views call services and send the steps they return.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from factory.agents.budgets import run_cost_note, run_cost_shown, runs_cost_shown, turn_cost_shown
from factory.pipeline import services
from factory.pipeline.forms import AnswersForm, ChangeRequestForm, SpecUploadForm
from factory.pipeline.models import ChangeRequest, RequestState
from factory.pipeline.selectors import (
    change_request_runs,
    change_request_spec_diff,
    change_requests_visible,
    release_code_diff,
    release_site_url,
    tenants_of_builder,
)
from factory.pipeline.services import PipelineRefused
from factory.pipeline.tasks import steps_send
from factory.spec.io import spec_dump
from factory.spec.models import AppSpec
from factory.spec.template import template_app_spec
from factory.tenants.selectors import release_live

REFRESH_SECONDS = 3


def is_builder(user: Any) -> bool:
    return bool(
        user.is_active
        and user.is_staff
        and (user.is_superuser or tenants_of_builder(user=user).exists())
    )


@admin.register(ChangeRequest)
class ChangeRequestAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "title_link",
        "tenant",
        "state_badge",
        "progress_bar",
        "builder",
        "created_at",
    ]
    list_display_links = None
    list_filter = ["state", "kind"]
    search_fields = ["text", "tenant__slug", "tenant__name"]
    change_list_template = "admin/pipeline/changerequest/change_list.html"

    # A builder's rights come from their tenants, not from model permissions.
    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_builder(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_builder(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_builder(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> Any:
        return change_requests_visible(user=request.user)

    @admin.display(description="request")
    def title_link(self, obj: ChangeRequest) -> str:
        url = reverse("admin:pipeline_changerequest_change", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.title)

    @admin.display(description="state")
    def state_badge(self, obj: ChangeRequest) -> str:
        return format_html(
            '<span class="cr-state cr-{}">{}</span>', obj.state, obj.get_state_display()
        )

    @admin.display(description="progress")
    def progress_bar(self, obj: ChangeRequest) -> str:
        return format_html(
            '<progress max="100" value="{}">{}%</progress>', obj.progress, obj.progress
        )

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        active = self.get_queryset(request).filter(
            state__in=[state.value for state in RequestState if state in _WORKING_STATES]
        )
        extra = {
            **(extra_context or {}),
            "refresh_seconds": REFRESH_SECONDS if active.exists() else None,
        }
        return super().changelist_view(request, extra_context=extra)

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        own = [
            path("new/", wrap(self.request_new_view), name="pipeline_changerequest_new"),
            path("spec/", wrap(self.spec_upload_view), name="pipeline_changerequest_spec"),
            path("<int:pk>/status/", wrap(self.status_view), name="pipeline_changerequest_status"),
            path(
                "<int:pk>/answer/",
                wrap(require_POST(self.answer_view)),
                name="pipeline_changerequest_answer",
            ),
            path(
                "<int:pk>/deploy/",
                wrap(require_POST(self.deploy_view)),
                name="pipeline_changerequest_deploy",
            ),
            path(
                "<int:pk>/rollback/",
                wrap(self.rollback_view),
                name="pipeline_changerequest_rollback",
            ),
            path(
                "<int:pk>/cancel/",
                wrap(require_POST(self.cancel_view)),
                name="pipeline_changerequest_cancel",
            ),
            path(
                "<int:pk>/resume/",
                wrap(require_POST(self.resume_view)),
                name="pipeline_changerequest_resume",
            ),
        ]
        return own + super().get_urls()

    # --- helpers ---------------------------------------------------------------------------

    def _visible(self, request: HttpRequest, pk: Any) -> ChangeRequest:
        if not is_builder(request.user):
            raise Http404("No such change request.")
        change_request = self.get_queryset(request).filter(pk=pk).first()
        if change_request is None:
            raise Http404("No such change request.")
        return change_request

    def _detail_url(self, change_request: ChangeRequest) -> str:
        return reverse("admin:pipeline_changerequest_change", args=[change_request.pk])

    def _context(self, request: HttpRequest, **extra: Any) -> dict[str, Any]:
        return {**self.admin_site.each_context(request), "opts": self.model._meta, **extra}

    def _refused(self, request: HttpRequest, error: PipelineRefused) -> None:
        for problem in error.problems:
            messages.error(request, problem)

    # --- pages -----------------------------------------------------------------------------

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> Any:
        return HttpResponseRedirect(reverse("admin:pipeline_changerequest_new"))

    def request_new_view(self, request: HttpRequest) -> HttpResponse:
        if not is_builder(request.user):
            raise Http404("No such page.")
        tenants = tenants_of_builder(user=request.user).order_by("name")
        form = ChangeRequestForm(request.POST or None, tenants=tenants)
        if request.method == "POST" and form.is_valid():
            try:
                change_request, steps = services.change_request_create(
                    tenant=form.cleaned_data["tenant"],
                    builder=request.user,
                    text=form.cleaned_data["text"],
                    language=form.cleaned_data["language"],
                    confirm_destructive=form.cleaned_data["confirm_destructive"],
                )
            except PipelineRefused as error:
                self._refused(request, error)
            else:
                self._send(request, steps)
                return HttpResponseRedirect(self._detail_url(change_request))
        return render(
            request,
            "admin/pipeline/changerequest/new.html",
            self._context(request, title="New change request", form=form),
        )

    def spec_upload_view(self, request: HttpRequest) -> HttpResponse:
        if not is_builder(request.user):
            raise Http404("No such page.")
        tenants = tenants_of_builder(user=request.user).order_by("name")
        initial: dict[str, Any] = {}
        chosen = tenants.filter(slug=request.GET.get("tenant", "")).first() or tenants.first()
        if chosen is not None:
            initial["tenant"] = chosen
            live = release_live(tenant=chosen)
            spec = AppSpec.model_validate(live.spec) if live else template_app_spec()
            initial["spec_text"] = spec_dump(spec)
        form = SpecUploadForm(
            request.POST or None, request.FILES or None, tenants=tenants, initial=initial
        )
        if request.method == "POST" and form.is_valid():
            try:
                assert form.spec is not None, "a valid form has loaded its spec"
                change_request, steps = services.change_request_create_from_spec(
                    tenant=form.cleaned_data["tenant"],
                    builder=request.user,
                    spec=form.spec,
                    confirm_destructive=form.cleaned_data["confirm_destructive"],
                )
            except PipelineRefused as error:
                self._refused(request, error)
            else:
                self._send(request, steps)
                return HttpResponseRedirect(self._detail_url(change_request))
        return render(
            request,
            "admin/pipeline/changerequest/spec.html",
            self._context(request, title="Upload or edit a spec", form=form, tenants=tenants),
        )

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        change_request = self._visible(request, object_id)
        questions = services.open_questions(change_request)
        answered = change_request.questions.filter(answer__isnull=False).select_related("answer")
        agent_runs = list(
            change_request_runs(change_request=change_request).prefetch_related("turns")
        )
        runs = [
            {
                "run": run,
                "slot": run.pipeline_step.slot,
                "cost": run_cost_shown(run),
                "cost_note": run_cost_note(run),
                "turns": [_turn_view(t) for t in run.turns.all()],
            }
            for run in agent_runs
        ]
        working = (
            change_request.state in _WORKING_STATES
            or (change_request.state == RequestState.PREVIEW and change_request.step)
            or (change_request.state == RequestState.DEPLOYED and change_request.step)
        )
        context = self._context(
            request,
            title=f"Change request #{change_request.pk}",
            change_request=change_request,
            answers_form=AnswersForm(questions=questions) if questions else None,
            answered=answered.order_by("round", "position"),
            tasks=change_request.tasks.order_by("position"),
            runs=runs,
            usage=services.request_usage(change_request),
            usage_cost=runs_cost_shown(agent_runs),
            spec_diff=change_request_spec_diff(change_request=change_request),
            code_diff=release_code_diff(release=change_request.release),
            site_url=release_site_url(change_request=change_request, request=request),
            refresh_seconds=REFRESH_SECONDS if working else None,
            can_deploy=change_request.state == RequestState.PREVIEW and not change_request.step,
            can_rollback=change_request.state == RequestState.DEPLOYED
            and not change_request.step
            and change_request.release is not None
            and change_request.release.base_release_id is not None,
            can_cancel=change_request.state in _CANCELLABLE_STATES and not change_request.step,
            can_resume=bool(working),
        )
        return render(request, "admin/pipeline/changerequest/detail.html", context)

    def status_view(self, request: HttpRequest, pk: int) -> JsonResponse:
        change_request = self._visible(request, pk)
        return JsonResponse(
            {
                "id": change_request.pk,
                "state": change_request.state,
                "state_display": change_request.get_state_display(),
                "step": change_request.step,
                "progress": change_request.progress,
                "error": change_request.error,
            }
        )

    # --- actions ---------------------------------------------------------------------------

    def _send(self, request: HttpRequest, steps: list[Any]) -> None:
        """Send the steps; in-process (no worker), a step that fails has already ended the
        request as failed with its message, which the page shows."""
        try:
            steps_send(steps)
        except Exception as error:  # the request records the failure; the page shows it
            messages.error(request, f"The request stopped: {error}")

    def answer_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        change_request = self._visible(request, pk)
        form = AnswersForm(request.POST, questions=services.open_questions(change_request))
        if form.is_valid():
            try:
                steps = services.change_request_answer(
                    change_request=change_request, answers=form.answers(), actor=request.user
                )
            except PipelineRefused as error:
                self._refused(request, error)
            else:
                self._send(request, steps)
        else:
            messages.error(request, "Some answers could not be read; check them and send again.")
        return HttpResponseRedirect(self._detail_url(change_request))

    def deploy_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        change_request = self._visible(request, pk)
        try:
            steps = services.change_request_deploy_request(
                change_request=change_request, actor=request.user
            )
        except PipelineRefused as error:
            self._refused(request, error)
        else:
            self._send(request, steps)
        return HttpResponseRedirect(self._detail_url(change_request))

    def rollback_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        change_request = self._visible(request, pk)
        try:
            plan = services.change_request_rollback_plan(change_request=change_request)
        except PipelineRefused as error:
            self._refused(request, error)
            return HttpResponseRedirect(self._detail_url(change_request))
        if request.method == "POST":
            try:
                steps = services.change_request_rollback_request(
                    change_request=change_request, actor=request.user, confirm=True
                )
            except PipelineRefused as error:
                self._refused(request, error)
            else:
                self._send(request, steps)
            return HttpResponseRedirect(self._detail_url(change_request))
        return render(
            request,
            "admin/pipeline/changerequest/rollback.html",
            self._context(
                request,
                title=f"Roll back request #{change_request.pk}",
                change_request=change_request,
                sentences=plan.sentences(),
            ),
        )

    def cancel_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        change_request = self._visible(request, pk)
        try:
            services.change_request_cancel(change_request=change_request, actor=request.user)
        except PipelineRefused as error:
            self._refused(request, error)
        return HttpResponseRedirect(self._detail_url(change_request))

    def resume_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        change_request = self._visible(request, pk)
        self._send(request, services.change_request_resume(change_request=change_request))
        messages.info(request, "The current step was sent again.")
        return HttpResponseRedirect(self._detail_url(change_request))


def _turn_view(turn: Any) -> dict[str, Any]:
    """One agent turn as the page shows it: what the model said and called, what it got back."""
    return {
        "index": turn.index,
        "text": turn.text,
        "calls": [
            {"name": call.get("name", ""), "arguments": json.dumps(call.get("arguments"), indent=1)}
            for call in turn.tool_calls
        ],
        "replies": turn.replies,
        "stop_reason": turn.stop_reason,
        "malformed": turn.malformed,
        "input_tokens": turn.input_tokens,
        "output_tokens": turn.output_tokens,
        "cost": turn_cost_shown(turn),
        "provider": turn.provider,
        "model": turn.model,
    }


_WORKING_STATES = frozenset(
    {RequestState.ANALYSING, RequestState.PLANNING, RequestState.BUILDING, RequestState.CHECKING}
)
_CANCELLABLE_STATES = frozenset(
    {*_WORKING_STATES, RequestState.AWAITING_ANSWERS, RequestState.PREVIEW}
)
