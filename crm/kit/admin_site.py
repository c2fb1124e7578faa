"""The CRM admin site of the kit: the end users' CRM for one app built on the kit.

Its home page is a dashboard (amounts per pipeline stage, tasks due, recent activity) and
it adds a board per pipeline where records move between stages, and the download of
attachments (media files are never served publicly: each download checks the user's
right to see attachments and the record the file is attached to). The pages read through
``crm.kit.dashboard`` selectors and move records through ``crm.kit.services``; the site
only checks permissions (those of the record's ``RecordAdmin``) and renders. It must not
reach into another app's tables: everything is looked up from its own ``app_label``.
"""

from __future__ import annotations

import posixpath
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats
from django.utils.text import capfirst
from django.views.decorators.http import require_POST

from crm.kit.dashboard import (
    StageColumn,
    amounts_by_currency,
    pipeline_board,
    pipeline_stage_totals,
    pipelines_for,
    stage_foreign_key,
    tasks_due,
    timeline_recent,
)
from crm.kit.models import Record
from crm.kit.registry import kit_model
from crm.kit.roles import records_visible_to
from crm.kit.services import records_move_stage


def money(amount: Decimal, currency: str = "") -> str:
    text = f"{amount:,.2f}"
    return f"{text} {currency}".strip()


def totals_text(column: StageColumn) -> str:
    """'12,000.00 EUR + 3,000.00 USD', or '0.00' for an empty stage."""
    if not column.totals:
        return money(Decimal("0"))
    return " + ".join(money(amount, currency) for currency, amount in column.totals.items())


def card_details(record: Any, names: tuple[str, ...]) -> list[str]:
    """Short lines for a board card: a related record by name, other values with a label."""
    lines = []
    for name in names:
        value = getattr(record, name)
        if value in (None, ""):
            continue
        model_field = record._meta.get_field(name)
        if model_field.is_relation:
            lines.append(str(value))
        else:
            lines.append(f"{capfirst(model_field.verbose_name)}: {formats.localize(value)}")
    return lines


def _posted_id(request: HttpRequest, name: str) -> int | None:
    value = request.POST.get(name, "")
    return int(value) if value.isdigit() else None


class CRMAdminSite(admin.AdminSite):
    """Admin site of one kit app (``app_label``): its dashboard, boards and record screens."""

    site_header = "CRM"
    site_title = "CRM"
    index_title = "Dashboard"
    index_template = "crm_kit/dashboard.html"

    def __init__(self, name: str = "crm", *, app_label: str = "crm") -> None:
        super().__init__(name=name)
        self.app_label = app_label

    # URLs and navigation.

    def get_urls(self) -> list:
        wrap = self.admin_view
        return [
            path("dashboard/", wrap(self.index), name="dashboard"),
            path("board/", wrap(self.board_default_view), name="board"),
            path("board/<int:pipeline_id>/", wrap(self.board_view), name="board_pipeline"),
            path(
                "board/<int:pipeline_id>/move/",
                wrap(require_POST(self.board_move_view)),
                name="board_move",
            ),
            path(
                "attachments/<int:pk>/download/",
                wrap(self.attachment_download_view),
                name="attachment_download",
            ),
            *super().get_urls(),
        ]

    def _url(self, name: str, *args: Any) -> str:
        return reverse(f"{self.name}:{name}", args=args, current_app=self.name)

    def board_models(self, request: HttpRequest) -> list[tuple[type[Record], Any]]:
        """(model, admin) of the registered models that move through pipelines and the user
        may view."""
        found = []
        for model, model_admin in self._registry.items():
            if (
                model._meta.app_label == self.app_label
                and issubclass(model, Record)
                and model.pipeline_stage_field
                and model_admin.has_view_permission(request)
            ):
                found.append((model, model_admin))
        return sorted(found, key=lambda pair: str(pair[0]._meta.verbose_name))

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list:
        app_list = super().get_app_list(request, app_label)
        if app_label is not None:
            return app_list
        entries = [
            {
                "name": "Dashboard",
                "object_name": "Dashboard",
                "admin_url": self._url("dashboard"),
                "add_url": None,
                "view_only": True,
                "perms": {"view": True},
            }
        ]
        for model, _model_admin in self.board_models(request):
            entries.append(
                {
                    "name": f"{capfirst(model._meta.verbose_name)} board",
                    "object_name": f"{model._meta.object_name}Board",
                    "admin_url": self._url("board") + f"?entity={model._meta.model_name}",
                    "add_url": None,
                    "view_only": True,
                    "perms": {"view": True},
                }
            )
        overview = {
            "name": "Overview",
            "app_label": f"{self.app_label}-overview",
            "app_url": self._url("dashboard"),
            "has_module_perms": True,
            "models": entries,
        }
        return [overview, *app_list]

    # Dashboard.

    def index(self, request: HttpRequest, extra_context: Any = None) -> TemplateResponse:
        context = {**self.dashboard_context(request), **(extra_context or {})}
        return super().index(request, context)

    def dashboard_context(self, request: HttpRequest) -> dict:
        charts = []
        for model, model_admin in self.board_models(request):
            # A model's model_name is never None (the stubs allow None for unprepared Options).
            entity: str = model._meta.model_name  # type: ignore[assignment]
            for pipeline in pipelines_for(app_label=self.app_label, entity=entity):
                columns = pipeline_stage_totals(
                    model=model,
                    pipeline=pipeline,
                    user=request.user,
                    amount_field=model_admin.board_amount_field,
                    currency_field=model_admin.board_currency_field,
                )
                charts.extend(self._charts(model, model_admin, pipeline, columns))
        context: dict[str, Any] = {"pipeline_charts": charts}
        task_model = kit_model(self.app_label, "Task")
        task_admin = self._registry.get(task_model)
        if task_admin is not None and task_admin.has_view_permission(request):
            due = tasks_due(app_label=self.app_label, user=request.user)
            change = f"{task_model._meta.app_label}_{task_model._meta.model_name}_change"
            context["tasks_due"] = [
                {"task": task, "overdue": overdue, "url": self._url(change, task.pk)}
                for overdue, tasks in ((True, due.overdue), (False, due.upcoming))
                for task in tasks
            ]
        entry_model = kit_model(self.app_label, "TimelineEntry")
        entry_admin = self._registry.get(entry_model)
        if entry_admin is not None and entry_admin.has_view_permission(request):
            context["recent_activity"] = timeline_recent(
                app_label=self.app_label, user=request.user
            )
        return context

    def _charts(
        self, model: type[Record], model_admin: Any, pipeline: Any, columns: list[StageColumn]
    ) -> list[dict]:
        """Bars per stage: one chart per currency, or record counts without an amount."""
        board_url = self._url("board_pipeline", pipeline.pk)
        title = f"{capfirst(model._meta.verbose_name_plural)}: {pipeline.name}"
        if model_admin.board_amount_field:
            series = amounts_by_currency(columns) or {
                "": [(c.stage, Decimal("0")) for c in columns]
            }
        else:
            series = {"": [(column.stage, Decimal(column.count)) for column in columns]}
        counts = {column.stage.pk: column.count for column in columns}
        charts = []
        for currency, pairs in series.items():
            largest = max((value for _stage, value in pairs), default=Decimal("0"))
            bars = [
                {
                    "stage": stage,
                    "value": money(value, currency)
                    if model_admin.board_amount_field
                    else str(int(value)),
                    "count": counts[stage.pk],
                    "percent": int(value * 100 / largest) if largest else 0,
                }
                for stage, value in pairs
            ]
            charts.append(
                {
                    "title": f"{title} ({currency})" if currency else title,
                    "bars": bars,
                    "url": board_url,
                }
            )
        return charts

    # Boards.

    def board_default_view(self, request: HttpRequest) -> HttpResponse:
        """The board of the default pipeline of the requested (or first) entity."""
        boards = self.board_models(request)
        wanted = request.GET.get("entity")
        for model, _model_admin in boards:
            if wanted in (None, model._meta.model_name):
                pipeline = pipelines_for(
                    app_label=self.app_label,
                    entity=model._meta.model_name,  # type: ignore[arg-type]  # never None
                ).first()
                if pipeline is not None:
                    return redirect(self._url("board_pipeline", pipeline.pk))
        raise Http404("There is no pipeline to show yet. Create one under Pipelines.")

    def _board_target(
        self, request: HttpRequest, pipeline_id: int
    ) -> tuple[Any, type[Record], Any]:
        pipeline_model = kit_model(self.app_label, "Pipeline")
        pipeline = get_object_or_404(pipeline_model, pk=pipeline_id)
        try:
            model = apps.get_model(self.app_label, pipeline.entity)
        except LookupError:
            raise Http404(f"The pipeline {pipeline} is for an unknown entity.") from None
        model_admin = self._registry.get(model)
        if model_admin is None or not issubclass(model, Record) or not model.pipeline_stage_field:
            raise Http404(f"The pipeline {pipeline} has no board.")
        if not model_admin.has_view_permission(request):
            raise PermissionDenied
        return pipeline, model, model_admin

    def board_view(self, request: HttpRequest, pipeline_id: int) -> HttpResponse:
        pipeline, model, model_admin = self._board_target(request, pipeline_id)
        columns = pipeline_board(
            model=model,
            pipeline=pipeline,
            user=request.user,
            amount_field=model_admin.board_amount_field,
            currency_field=model_admin.board_currency_field,
            select_related=model_admin.get_board_select_related(),
        )
        opts = model._meta
        stage_attname = stage_foreign_key(model).attname
        for column in columns:
            column.total_text = totals_text(column)
            column.cards = [
                {
                    "record": record,
                    "url": self._url(f"{opts.app_label}_{opts.model_name}_change", record.pk),
                    "amount": money(
                        getattr(record, model_admin.board_amount_field),
                        getattr(record, model_admin.board_currency_field, "")
                        if model_admin.board_currency_field
                        else "",
                    )
                    if model_admin.board_amount_field
                    else "",
                    "details": card_details(record, model_admin.board_card_fields),
                    "stage_id": getattr(record, stage_attname),
                }
                for record in column.records
            ]
        switcher = [
            {
                "pipeline": other,
                "url": self._url("board_pipeline", other.pk),
                "current": other.pk == pipeline.pk,
            }
            # A model's model_name is never None (the stubs allow None for unprepared Options).
            for other in pipelines_for(app_label=self.app_label, entity=opts.model_name)  # type: ignore[arg-type]
        ]
        context = {
            **self.each_context(request),
            "title": f"{capfirst(opts.verbose_name)} board: {pipeline.name}",
            "opts": opts,
            "pipeline": pipeline,
            "columns": columns,
            "switcher": switcher,
            "can_move": model_admin.has_change_permission(request),
            "move_url": self._url("board_move", pipeline.pk),
            "changelist_url": self._url(f"{opts.app_label}_{opts.model_name}_changelist"),
            "add_url": self._url(f"{opts.app_label}_{opts.model_name}_add")
            if model_admin.has_add_permission(request)
            else None,
        }
        request.current_app = self.name
        return TemplateResponse(request, "crm_kit/board.html", context)

    def board_move_view(self, request: HttpRequest, pipeline_id: int) -> HttpResponse:
        """Move one record to a stage (POST from a board card); CSRF-checked by Django."""
        pipeline, _model, model_admin = self._board_target(request, pipeline_id)
        if not model_admin.has_change_permission(request):
            raise PermissionDenied
        record_id, stage_id = _posted_id(request, "record_id"), _posted_id(request, "stage_id")
        record = (
            model_admin.get_queryset(request).filter(deleted_at__isnull=True, pk=record_id).first()
            if record_id
            else None
        )
        if record is None:
            raise Http404("This record does not exist or you may not see it.")
        if not model_admin.has_change_permission(request, record):
            raise PermissionDenied
        stage_model = kit_model(self.app_label, "Stage")
        stage = (
            stage_model.objects.filter(pk=stage_id, pipeline__entity=pipeline.entity).first()
            if stage_id
            else None
        )
        board_url = self._url("board_pipeline", pipeline.pk)
        if stage is None:
            messages.error(request, "Pick one of the pipeline's stages to move the record to.")
            return redirect(board_url)
        moved = records_move_stage(records=[record], stage=stage)
        if moved:
            model_admin.log_change(request, record, f"Moved to the stage {stage.name}.")
            messages.success(request, f"“{record}” moved to {stage.name}.")
        return redirect(board_url)

    # Attachments.

    def attachment_download_view(self, request: HttpRequest, pk: int) -> FileResponse:
        """The file of one attachment, for a user who may view attachments and its record.

        A record the user may not see answers 404 like an unknown attachment, so the
        download does not reveal which attachments exist.
        """
        attachment_model = kit_model(self.app_label, "Attachment")
        attachment_admin = self._registry.get(attachment_model)
        if attachment_admin is None:
            raise Http404("Attachments are not part of this CRM.")
        if not attachment_admin.has_view_permission(request):
            raise PermissionDenied
        attachment = get_object_or_404(attachment_model, pk=pk)
        if not self._attachment_target_visible(request, attachment):
            raise Http404("This attachment does not exist or you may not see its record.")
        try:
            stored = attachment.file.open("rb")
        except FileNotFoundError:
            raise Http404(
                "The file of this attachment is missing from storage. Upload it again."
            ) from None
        return FileResponse(
            stored, as_attachment=True, filename=posixpath.basename(attachment.file.name)
        )

    def _attachment_target_visible(self, request: HttpRequest, attachment: Any) -> bool:
        """True when the attachment is about nothing, or about a record the user may see."""
        if attachment.target_type_id is None:
            return True
        target_model = attachment.target_type.model_class()
        if target_model is None:
            return False
        target_admin = self._registry.get(target_model)
        if target_admin is not None and not target_admin.has_view_permission(request):
            return False
        # Archived records stay visible on their admin page, so their files do too.
        candidates = target_model._base_manager.filter(pk=attachment.target_id)
        return records_visible_to(request.user, candidates).exists()
