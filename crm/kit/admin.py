"""Admin building blocks of the kit, for the base CRM and every app built on the kit.

``RecordAdmin`` is the base admin of business records: visibility limited by role
(``records_visible_to``), an "Archived" filter over ``all_objects``, read-only stamps, the
record's timeline on its page, notes/tasks/tags/attachments inlines, bulk actions (archive,
restore, mark done, move stage, export CSV), CSV import with a preview, and list pages
that run a fixed number of queries whatever the number of rows. "Delete" on a record,
alone or in bulk, archives it as the API's DELETE does; only a superuser deletes a record
permanently, and only one already archived, through ``records_erase`` (which also erases
its history and attached rows and files). The other admins cover the kit's own tables
(tasks, notes, tags, choice lists, pipelines, history, role policies). Everything
resolves the concrete kit models from the admin's app label, so a tenant app reuses these
classes as they are. Writes go through ``crm.kit.services`` and ``crm.kit.importing``;
nothing here holds business rules.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.contrib.admin.exceptions import DisallowedModelAdminToField
from django.contrib.admin.options import IS_POPUP_VAR, TO_FIELD_VAR, csrf_protect_m
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.contrib.admin.widgets import AdminFileWidget
from django.contrib.contenttypes.admin import GenericTabularInline
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db import models
from django.db.models import Count, OuterRef, Subquery
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html
from django.utils.text import capfirst

from crm.kit.dashboard import history_visible_to, stages_for
from crm.kit.fields import ChoiceListField
from crm.kit.importing import (
    MAX_FILE_BYTES,
    CsvConfig,
    CsvFileError,
    column_title,
    csv_decode,
    csv_export,
    csv_fields_default,
    csv_import_apply,
    csv_import_preview,
)
from crm.kit.models import Record
from crm.kit.permissions import ARCHIVE, permission_name
from crm.kit.registry import kit_model
from crm.kit.roles import record_owner_check, records_visible_to
from crm.kit.selectors import choice_list_fields_using, records_erasure_plan
from crm.kit.services import (
    erased_record_label,
    records_archive,
    records_erase,
    records_move_stage,
    records_restore,
    rows_counted,
    tasks_mark_done,
)
from crm.kit.timeline import timeline_for

STAMP_FIELDS = ("created_at", "created_by", "updated_at", "updated_by", "deleted_at")
# The "post" value of the archive confirmation form; Django's delete pages post "yes".
ARCHIVE_CONFIRMED = "archive"
# Records listed on the archive confirmation page; the rest are counted.
ARCHIVE_PAGE_ROWS = 20
_HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_IMPORT_SESSION_KEY = "crm_kit_import:{label}"


def colour_badge(label: str, colour: str | None) -> str:
    """A label with a coloured dot; the colour is used only when it is a plain hex value."""
    safe_colour = colour if colour and _HEX_COLOUR.match(colour) else "#6c757d"
    return format_html(
        '<span class="crm-badge"><span class="crm-dot" style="background:{}"></span>{}</span>',
        safe_colour,
        label,
    )


def admin_change_url(site_name: str, record: models.Model) -> str | None:
    opts = record._meta
    try:
        return reverse(
            f"{site_name}:{opts.app_label}_{opts.model_name}_change",
            args=[record.pk],
            current_app=site_name,
        )
    except NoReverseMatch:
        return None


def record_link(site_name: str, record: models.Model | None, text: str | None = None) -> str:
    """A link to the record's admin page; its name alone when it is gone or not registered."""
    if record is None:
        return text or "-"
    url = admin_change_url(site_name, record)
    label = text or str(record)
    return format_html('<a href="{}">{}</a>', url, label) if url else label


def attachment_download_url(site_name: str, attachment: models.Model) -> str:
    """The site's permission-checked download of an attachment (media is never public)."""
    return reverse(f"{site_name}:attachment_download", args=[attachment.pk], current_app=site_name)


def _restore_hint(count: int) -> str:
    them = "it" if count == 1 else "them"
    return f"To bring {them} back, filter the list on “Archived” and use the action “Restore”."


def record_models(app_label: str) -> list[type[Record]]:
    return [
        model for model in apps.get_app_config(app_label).get_models() if issubclass(model, Record)
    ]


# --- List filters -------------------------------------------------------------------


class ArchivedListFilter(admin.SimpleListFilter):
    """Active records by default; archived ones on demand, so they can be restored."""

    title = "archive"
    parameter_name = "archived"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Archived"), ("all", "Active and archived")]

    def choices(self, changelist: ChangeList) -> Any:
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": "Active",
        }
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: models.QuerySet) -> models.QuerySet:
        if self.value() == "yes":
            return queryset.filter(deleted_at__isnull=False)
        if self.value() == "all":
            return queryset
        return queryset.filter(deleted_at__isnull=True)


class ChoiceListFieldListFilter(admin.FieldListFilter):
    """Filter on a choice-list column by option label, in the list's order."""

    def __init__(
        self,
        field: Any,
        request: HttpRequest,
        params: Any,
        model: Any,
        model_admin: Any,
        field_path: str,
    ) -> None:
        self.lookup_kwarg = f"{field_path}__exact"
        self.lookup_val = params.get(self.lookup_kwarg)
        super().__init__(field, request, params, model, model_admin, field_path)
        self.options = field.options()

    def expected_parameters(self) -> list[str | None]:
        return [self.lookup_kwarg]

    def choices(self, changelist: ChangeList) -> Any:
        selected = self.lookup_val[-1] if isinstance(self.lookup_val, list) else self.lookup_val
        yield {
            "selected": selected is None,
            "query_string": changelist.get_query_string(remove=[self.lookup_kwarg]),
            "display": "All",
        }
        for value, label in self.options:
            yield {
                "selected": selected == value,
                "query_string": changelist.get_query_string({self.lookup_kwarg: value}),
                "display": label,
            }


admin.FieldListFilter.register(
    lambda field: isinstance(field, ChoiceListField), ChoiceListFieldListFilter, take_priority=True
)


# --- Inlines ------------------------------------------------------------------------

if TYPE_CHECKING:
    # To the type checker the admin mixins below are the admin classes they always join.
    _AdminMixinBase = admin.options.BaseModelAdmin
else:
    _AdminMixinBase = object


class VisibleRecordsInlineMixin(_AdminMixinBase):
    """Inline rows are limited to the records the user may see, like list pages."""

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        return records_visible_to(request.user, super().get_queryset(request))


class KitGenericInline(VisibleRecordsInlineMixin, GenericTabularInline):
    ct_field = "target_type"
    ct_fk_field = "target_id"
    extra = 0


class NoteInline(KitGenericInline):
    fields = ("body", "created_by", "created_at")
    readonly_fields = ("created_by", "created_at")
    formfield_overrides = {models.TextField: {"widget": forms.Textarea(attrs={"rows": 2})}}


class TaskInline(KitGenericInline):
    fields = ("title", "assignee", "due_date", "status", "priority")
    show_change_link = True


class TaggedItemInline(KitGenericInline):
    fields = ("tag",)
    verbose_name = "tag"
    verbose_name_plural = "tags"


class AttachmentDownload:
    """Stands for a stored file in the upload widget: its name, linked to the download view."""

    def __init__(self, name: str, url: str) -> None:
        self.name = name
        self.url = url

    def __str__(self) -> str:
        return self.name


class AttachmentFileWidget(AdminFileWidget):
    """The admin's file input whose "Currently" link goes through the download view."""

    def __init__(self, *args: Any, site_name: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.site_name = site_name

    def format_value(self, value: Any) -> Any:
        attachment = getattr(value, "instance", None)
        if not self.is_initial(value) or attachment is None or attachment.pk is None:
            return super().format_value(value)
        return AttachmentDownload(value.name, attachment_download_url(self.site_name, attachment))


class AttachmentFileMixin(_AdminMixinBase):
    """Attachment forms link the stored file to the download view, never to its media URL."""

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "file":
            kwargs["widget"] = AttachmentFileWidget(site_name=self.admin_site.name)
        return super().formfield_for_dbfield(db_field, request, **kwargs)


class AttachmentInline(AttachmentFileMixin, KitGenericInline):
    fields = ("file", "name", "uploaded_by", "uploaded_at")
    readonly_fields = ("uploaded_by", "uploaded_at")


RECORD_INLINES = {
    "notes": (NoteInline, "Note"),
    "tasks": (TaskInline, "Task"),
    "tags": (TaggedItemInline, "TaggedItem"),
    "attachments": (AttachmentInline, "Attachment"),
}


@cache
def kit_inline(app_label: str, name: str) -> type[admin.options.InlineModelAdmin]:
    """The inline ``name`` (notes, tasks, tags, attachments) bound to an app's kit model."""
    base, model_name = RECORD_INLINES[name]
    model = kit_model(app_label, model_name)
    return type(f"{model.__name__}Inline", (base,), {"model": model})


# --- Forms --------------------------------------------------------------------------


class StageChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.pipeline} → {obj.name}"


class MoveStageForm(forms.Form):
    stage = StageChoiceField(queryset=None, label="Move to stage", empty_label=None)

    def __init__(self, *args: Any, stages: models.QuerySet, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["stage"]).queryset = stages


class OwnerCheckedFormMixin(forms.ModelForm):
    """A record form that refuses an owner the acting user may not give (see
    ``record_owner_check``); ``RecordAdmin.get_form`` sets ``acting_user``."""

    acting_user: Any = None

    def clean_owner(self) -> Any:
        owner = self.cleaned_data.get("owner")
        record_owner_check(
            user=self.acting_user,
            model=self._meta.model,
            owner=owner,
            creating=self.instance._state.adding,
        )
        return owner


class CsvUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="A file saved as CSV (UTF-8), with a header row naming the columns.",
    )


# --- The change list ----------------------------------------------------------------


class RecordChangeList(ChangeList):
    """Adds the choice labels and prefetches the list needs, so its queries stay constant."""

    model_admin: RecordAdmin

    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> Any:
        queryset = super().get_queryset(request, exclude_parameters)
        return self.model_admin.list_queryset(queryset)


def _choice_column(model_field: ChoiceListField) -> Any:
    label_attr, colour_attr = f"_{model_field.name}_label", f"_{model_field.name}_colour"

    @admin.display(description=capfirst(model_field.verbose_name), ordering=model_field.name)
    def column(obj: models.Model) -> str:
        value = getattr(obj, model_field.attname)
        if not value:
            return "-"
        return colour_badge(
            getattr(obj, label_attr, None) or value, getattr(obj, colour_attr, None)
        )

    column.__name__ = model_field.name
    return column


# --- RecordAdmin --------------------------------------------------------------------


class RecordAdmin(admin.ModelAdmin):
    """Base admin of every business record (companies, contacts, deals, tenant entities)."""

    change_list_template = "crm_kit/change_list.html"
    change_form_template = "crm_kit/change_form.html"
    # Permanent deletion of archived records (superusers): Django's pages, worded as such.
    delete_confirmation_template = "crm_kit/delete_confirmation.html"
    delete_selected_confirmation_template = "crm_kit/delete_selected_confirmation.html"
    list_per_page = 50
    show_full_result_count = False
    actions = ["delete_selected", "archive_selected", "restore_selected", "export_csv"]
    # Kit inlines added to the record's page (see RECORD_INLINES).
    record_inlines: tuple[str, ...] = ("notes", "tasks", "tags", "attachments")
    # Related objects the list prefetches (generic relations, many-to-many).
    list_prefetch_related: tuple[str, ...] = ()
    # CSV: columns (None: every editable field), the import key (None: no import).
    csv_fields: tuple[str, ...] | None = None
    csv_import_key: str | None = None
    csv_key_normaliser: Any = None
    csv_relation_keys: dict[str, str] = {}
    # Board: the amount summed per stage, its currency, fields shown on each card.
    board_amount_field: str | None = None
    board_currency_field: str | None = None
    board_card_fields: tuple[str, ...] = ()

    def __init__(self, model: type[Record], admin_site: admin.AdminSite) -> None:
        super().__init__(model, admin_site)
        extra_actions = []
        if model.pipeline_stage_field:
            extra_actions.append("move_stage")
        if hasattr(model, "done_status"):
            extra_actions.append("mark_done")
        if self.actions is not None:  # None means "no actions at all"
            # "delete_selected" always names this class's action: a subclass listing its own
            # actions must not get back the site's, which deletes live records for good.
            self.actions = list(dict.fromkeys(["delete_selected", *self.actions, *extra_actions]))
        self._choice_fields = {
            f.name: f for f in model._meta.concrete_fields if isinstance(f, ChoiceListField)
        }

    # Queryset and visibility.

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        queryset = self.model.all_objects.all()
        ordering = self.get_ordering(request)
        if ordering:
            queryset = queryset.order_by(*ordering)
        return records_visible_to(request.user, queryset)

    def is_visible(self, request: HttpRequest, obj: Record) -> bool:
        cache_ = request.__dict__.setdefault("_crm_kit_visible", {})
        key = (obj._meta.label, obj.pk)
        if key not in cache_:
            queryset = self.model.all_objects.filter(pk=obj.pk)
            visible = records_visible_to(request.user, queryset)
            cache_[key] = visible is queryset or visible.exists()
        return cache_[key]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        allowed = super().has_view_permission(request, obj)
        return allowed and (obj is None or self.is_visible(request, obj))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or self.is_visible(request, obj))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Delete on a live record archives it: the delete right (``ARCHIVE``). Delete on an
        archived record erases it, which only a superuser may do (see ``delete_view``)."""
        allowed = super().has_delete_permission(request, obj)
        if obj is not None and obj.deleted_at is not None:
            allowed = allowed and self.has_permanent_delete_permission(request)
        return allowed and (obj is None or self.is_visible(request, obj))

    def has_archive_permission(self, request: HttpRequest) -> bool:
        """Archive and restore: the API's rule (``ARCHIVE``), so both offer them to the same
        roles; the list shows only records the user may see."""
        return request.user.has_perm(permission_name(ARCHIVE, self.model))

    def has_permanent_delete_permission(self, request: HttpRequest) -> bool:
        """Erasing archived records (for example on a person's erasure request) cannot be
        undone and takes the record's notes, tasks and attachments with it: superusers only."""
        return bool(request.user.is_active and request.user.is_superuser)

    def get_search_results(self, request: HttpRequest, queryset: Any, search_term: str) -> Any:
        # Pickers (autocomplete) offer active records only, never archived ones.
        match = request.resolver_match
        if match is not None and match.url_name == "autocomplete":
            queryset = queryset.filter(deleted_at__isnull=True)
        return super().get_search_results(request, queryset, search_term)

    # The list page.

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return RecordChangeList

    def get_list_display(self, request: HttpRequest) -> Any:
        return [
            _choice_column(self._choice_fields[item])
            if isinstance(item, str) and item in self._choice_fields
            else item
            for item in super().get_list_display(request)
        ]

    def get_list_filter(self, request: HttpRequest) -> Any:
        return [*super().get_list_filter(request), ArchivedListFilter]

    def get_list_select_related(self, request: HttpRequest) -> Any:
        if self.list_select_related not in (True, False):
            return self.list_select_related
        related = []
        for item in self.list_display:
            try:
                model_field = self.model._meta.get_field(item) if isinstance(item, str) else None
            except FieldDoesNotExist:
                continue
            if model_field is not None and (model_field.many_to_one or model_field.one_to_one):
                related.append(item)
        return related

    def list_queryset(self, queryset: models.QuerySet) -> models.QuerySet:
        """The list's rows with choice labels annotated and relations prefetched."""
        option_model = kit_model(self.model._meta.app_label, "ChoiceOption")
        shown = {item for item in self.list_display if isinstance(item, str)}
        annotations = {}
        for name, model_field in self._choice_fields.items():
            if name not in shown:
                continue
            options = option_model.objects.filter(
                choice_list__key=model_field.choice_list, value=OuterRef(model_field.attname)
            )
            annotations[f"_{name}_label"] = Subquery(options.values("label")[:1])
            annotations[f"_{name}_colour"] = Subquery(options.values("colour")[:1])
        if annotations:
            queryset = queryset.annotate(**annotations)
        if self.list_prefetch_related:
            queryset = queryset.prefetch_related(*self.list_prefetch_related)
        return queryset

    # The change page.

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [*super().get_readonly_fields(request, obj), *STAMP_FIELDS]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if self.fieldsets:
            return super().get_fieldsets(request, obj)
        fields = [name for name in self.get_fields(request, obj) if name not in STAMP_FIELDS]
        fieldsets: list[tuple[str | None, dict[str, Any]]] = [(None, {"fields": fields})]
        if obj is not None:
            fieldsets.append(("Record", {"fields": STAMP_FIELDS, "classes": ["collapse"]}))
        return fieldsets

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        if "owner" not in form.base_fields:
            return form
        return type(form.__name__, (OwnerCheckedFormMixin, form), {"acting_user": request.user})

    def get_inlines(self, request: HttpRequest, obj: Any) -> Any:
        app_label = self.model._meta.app_label
        kit_inlines = [kit_inline(app_label, name) for name in self.record_inlines]
        return [*super().get_inlines(request, obj), *kit_inlines]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        app_label = self.model._meta.app_label
        entity = self.model._meta.model_name
        if db_field.name == self.model.pipeline_stage_field:
            kwargs["queryset"] = stages_for(app_label=app_label, entity=entity)
            kwargs.setdefault("form_class", StageChoiceField)
        elif db_field.related_model is kit_model(app_label, "Pipeline"):
            kwargs["queryset"] = db_field.related_model.objects.filter(entity=entity)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_autocomplete_fields(self, request: HttpRequest) -> Any:
        """Explicit ``autocomplete_fields``, else every relation whose admin has a search."""
        if self.autocomplete_fields:
            return self.autocomplete_fields
        names = []
        for model_field in self.model._meta.get_fields():
            if not (model_field.many_to_one or model_field.many_to_many) or not getattr(
                model_field, "editable", False
            ):
                continue
            if model_field.many_to_many and not model_field.remote_field.through._meta.auto_created:
                continue
            related_admin = self.admin_site._registry.get(model_field.related_model)
            if related_admin is not None and related_admin.search_fields:
                names.append(model_field.name)
        return names

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        obj = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if obj is not None:
            context["record_timeline"] = list(timeline_for(obj)[:100])
            context["record_is_archived"] = obj.deleted_at is not None
            context["record_can_restore"] = self.has_archive_permission(request)
            context["record_can_delete_permanently"] = (
                obj.deleted_at is not None and self.has_delete_permission(request, obj)
            )
        return super().change_view(request, object_id, form_url, context)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        instances = formset.save(commit=False)
        # A record ticked "Delete" in an inline (a company's contacts, notes, tasks) is
        # archived, as by the Delete button; links and files (tags, attachments) are deleted.
        deleted = formset.deleted_objects
        records_archive(records=[obj for obj in deleted if isinstance(obj, Record)])
        for obj in deleted:
            if not isinstance(obj, Record):
                obj.delete()
        for instance in instances:
            # Attachments remember who uploaded them.
            if hasattr(instance, "uploaded_by_id") and instance.uploaded_by_id is None:
                instance.uploaded_by = request.user
            instance.save()
        formset.save_m2m()

    # Delete: archives a live record; erases an archived one (superusers only).

    @csrf_protect_m
    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: Any = None
    ) -> HttpResponse:
        """Delete on a live record asks, then archives it, as the API's DELETE does. On an
        archived record it is Django's permanent deletion, whose page lists what goes with
        the record; ``has_delete_permission`` lets only superusers reach it."""
        to_field = request.POST.get(TO_FIELD_VAR, request.GET.get(TO_FIELD_VAR))
        if to_field and not self.to_field_allowed(request, to_field):
            raise DisallowedModelAdminToField(f"The field {to_field} cannot be referenced.")
        obj = self.get_object(request, unquote(object_id), to_field)
        if obj is None or obj.deleted_at is not None:
            return super().delete_view(request, object_id, extra_context)
        if not self.has_delete_permission(request, obj):
            raise PermissionDenied
        if request.method == "POST" and request.POST.get("post") == ARCHIVE_CONFIRMED:
            records_archive(records=[obj])
            if IS_POPUP_VAR in request.POST:
                # Django's popup answer: the picker that opened the popup drops the record.
                obj_id = obj.serializable_value(to_field or self.opts.pk.attname)
                return self.response_delete(request, str(obj), obj_id)
            self.message_user(
                request,
                f"The {self.opts.verbose_name} “{obj}” was archived. {_restore_hint(1)}",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(self._after_archive_url(request))
        return self.archive_confirmation(
            request, live=[obj], selected=[obj], obj=obj, extra_context=extra_context
        )

    def archive_confirmation(
        self,
        request: HttpRequest,
        *,
        live: Sequence[Record] | models.QuerySet,
        selected: Sequence[Record] | models.QuerySet,
        obj: Record | None = None,
        extra_context: Any = None,
    ) -> TemplateResponse:
        """The page that confirms a Delete: it archives ``live`` and says how to restore;
        ``obj`` is the record of a change page's Delete, None for the bulk action."""
        count = len(live)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Delete {self.opts.verbose_name}"
            if obj is not None
            else f"Delete {count} {self._noun(count)}",
            "subtitle": None,
            "opts": self.opts,
            "object": obj,
            "noun": self._noun(count),
            "count": count,
            "shown": list(live[:ARCHIVE_PAGE_ROWS]),
            "more": max(count - ARCHIVE_PAGE_ROWS, 0),
            "already_archived": len(selected) - count,
            "restore_hint": _restore_hint(count),
            "selected_pks": [record.pk for record in selected],
            "post_value": ARCHIVE_CONFIRMED,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "preserved_filters": self.get_preserved_filters(request),
            "is_popup": IS_POPUP_VAR in request.POST or IS_POPUP_VAR in request.GET,
            "is_popup_var": IS_POPUP_VAR,
            "to_field": request.POST.get(TO_FIELD_VAR, request.GET.get(TO_FIELD_VAR)),
            "to_field_var": TO_FIELD_VAR,
            "media": self.media,
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "crm_kit/archive_confirmation.html", context)

    def _after_archive_url(self, request: HttpRequest) -> str:
        """Where Django's delete view goes after deleting: the list, keeping its filters."""
        if not self.has_view_or_change_permission(request):
            return reverse(f"{self.admin_site.name}:index", current_app=self.admin_site.name)
        return add_preserved_filters(
            {"preserved_filters": self.get_preserved_filters(request), "opts": self.opts},
            self._changelist_url(),
        )

    def render_delete_form(self, request: HttpRequest, context: dict) -> HttpResponse:
        # Only archived records reach Django's delete page (see delete_view).
        if not (context["perms_lacking"] or context["protected"]):
            context["title"] = f"Delete this {self.opts.verbose_name} permanently"
            context.update(self._erasure_context([context["object"]]))
        return super().render_delete_form(request, context)

    def _erasure_context(self, records: Sequence[Record]) -> dict[str, Any]:
        """What Django's delete page does not list: the rows that stay but lose their link
        to the erased records (``on_delete=SET_NULL``), and the nameless trace kept."""
        plan = records_erasure_plan(records=records)
        unlinked = [
            rows_counted(model=model, count=count)
            for model, count in sorted(plan.unlinked.items(), key=lambda item: item[0]._meta.label)
        ]
        labels = [erased_record_label(type(record), record.pk) for record in records]
        trace = ", ".join(labels[:ARCHIVE_PAGE_ROWS])
        if len(labels) > ARCHIVE_PAGE_ROWS:
            trace += f" and {len(labels) - ARCHIVE_PAGE_ROWS} more"
        return {"erasure_unlinked": unlinked, "erasure_trace": trace}

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        # A live record is archived first, never erased in one step: whatever calls this
        # hook, the views above route a live record to archiving.
        if obj.deleted_at is None:
            raise PermissionDenied
        records_erase(records=[obj], actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: models.QuerySet) -> None:
        # Same rule for the bulk action: a record restored since the confirmation stays.
        records_erase(records=queryset.filter(deleted_at__isnull=False), actor=request.user)

    def log_deletions(self, request: HttpRequest, queryset: Any) -> Any:
        # Django would log each record by name; ``records_erase`` logs a nameless trace.
        return []

    # Actions.

    @admin.action(description="Delete selected %(verbose_name_plural)s", permissions=["archive"])
    def delete_selected(self, request: HttpRequest, queryset: models.QuerySet) -> Any:
        """Django's "Delete selected" as a business user expects it: after a confirmation
        page, the live records are archived. A superuser who selects archived records only
        deletes them permanently, through Django's own action and its page listing what goes
        with them; a selection with live records archives those and leaves the others."""
        plural = self.opts.verbose_name_plural
        live = queryset.filter(deleted_at__isnull=True)
        confirmed = request.POST.get("post")
        if confirmed == ARCHIVE_CONFIRMED:
            count = records_archive(records=live)
            self.message_user(
                request,
                f"Archived {count} {self._noun(count)}. {_restore_hint(count)}",
                messages.SUCCESS,
            )
            return None
        live_records = list(live)
        if live_records and confirmed == "yes":
            # Django's page confirmed a permanent deletion; some were restored since.
            verb = "is" if len(live_records) == 1 else "are"
            self.message_user(
                request,
                f"{len(live_records)} of the selected {plural} {verb} no longer archived, so "
                "nothing was deleted. Select archived records only to delete them permanently.",
                messages.ERROR,
            )
            return None
        if live_records:
            return self.archive_confirmation(request, live=live_records, selected=list(queryset))
        if not self.has_permanent_delete_permission(request):
            self.message_user(
                request,
                f"The selected {plural} are already archived, so nothing changed. Only a "
                f"superuser can delete archived {plural} permanently.",
                messages.WARNING,
            )
            return None
        response = django_delete_selected(self, request, queryset)
        if isinstance(response, TemplateResponse):
            context, count = cast(dict, response.context_data), len(queryset)
            if not (context["perms_lacking"] or context["protected"]):
                context["title"] = f"Delete {count} archived {self._noun(count)} permanently"
                context.update(self._erasure_context(list(queryset)))
        return response

    @admin.action(description="Archive selected %(verbose_name_plural)s", permissions=["archive"])
    def archive_selected(self, request: HttpRequest, queryset: models.QuerySet) -> None:
        count = records_archive(records=queryset.filter(deleted_at__isnull=True))
        self.message_user(request, f"Archived {count} {self._noun(count)}.", messages.SUCCESS)

    @admin.action(description="Restore selected %(verbose_name_plural)s", permissions=["archive"])
    def restore_selected(self, request: HttpRequest, queryset: models.QuerySet) -> None:
        count = records_restore(records=queryset.filter(deleted_at__isnull=False))
        self.message_user(request, f"Restored {count} {self._noun(count)}.", messages.SUCCESS)

    @admin.action(
        description="Mark selected %(verbose_name_plural)s as done", permissions=["change"]
    )
    def mark_done(self, request: HttpRequest, queryset: models.QuerySet) -> None:
        count = tasks_mark_done(tasks=queryset)
        self.message_user(request, f"Marked {count} {self._noun(count)} as done.", messages.SUCCESS)

    @admin.action(
        description="Move selected %(verbose_name_plural)s to a stage", permissions=["change"]
    )
    def move_stage(self, request: HttpRequest, queryset: models.QuerySet) -> Any:
        stages = stages_for(
            app_label=self.model._meta.app_label, entity=self.model._meta.model_name
        )
        form = MoveStageForm(request.POST if "apply" in request.POST else None, stages=stages)
        if form.is_valid():
            stage = form.cleaned_data["stage"]
            count = records_move_stage(records=queryset, stage=stage)
            self.message_user(
                request,
                f"Moved {count} {self._noun(count)} to {stage.pipeline} → {stage.name}.",
                messages.SUCCESS,
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": f"Move {self.model._meta.verbose_name_plural} to another stage",
            "opts": self.model._meta,
            "form": form,
            "queryset": queryset,
            "moving": [
                (record, getattr(record, self.model.pipeline_stage_field))
                for record in queryset.select_related(self.model.pipeline_stage_field)[:20]
            ],
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "crm_kit/move_stage.html", context)

    @admin.action(description="Export selected %(verbose_name_plural)s to CSV")
    def export_csv(self, request: HttpRequest, queryset: models.QuerySet) -> StreamingHttpResponse:
        return self.csv_response(queryset)

    def _noun(self, count: int) -> str:
        opts = self.model._meta
        return str(opts.verbose_name if count == 1 else opts.verbose_name_plural)

    # CSV import and export.

    def get_csv_config(self) -> CsvConfig:
        fields = self.csv_fields or csv_fields_default(self.model)
        if self.csv_import_key and self.csv_import_key not in fields:
            fields = (self.csv_import_key, *fields)
        return CsvConfig(
            model=self.model,
            fields=tuple(fields),
            key_field=self.csv_import_key,
            key_normaliser=self.csv_key_normaliser,
            relation_keys=self.csv_relation_keys,
        )

    def csv_response(self, queryset: models.QuerySet) -> StreamingHttpResponse:
        response = StreamingHttpResponse(
            csv_export(config=self.get_csv_config(), queryset=queryset),
            content_type="text/csv; charset=utf-8",
        )
        filename = f"{self.model._meta.verbose_name_plural}.csv".replace(" ", "-")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    def get_urls(self) -> list:
        opts = self.model._meta
        info = opts.app_label, opts.model_name
        wrap = self.admin_site.admin_view
        return [
            path("import/", wrap(self.import_view), name="{}_{}_import".format(*info)),
            path("export/", wrap(self.export_view), name="{}_{}_export".format(*info)),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        context = {
            "can_import": bool(self.csv_import_key) and self._can_import(request),
            **(extra_context or {}),
        }
        return super().changelist_view(request, context)

    def export_view(self, request: HttpRequest) -> StreamingHttpResponse:
        """The current list (with its search and filters) as CSV."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        changelist = self.get_changelist_instance(request)
        return self.csv_response(changelist.get_queryset(request))

    def _can_import(self, request: HttpRequest) -> bool:
        return self.has_add_permission(request) and self.has_change_permission(request)

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """Upload → preview → confirm. The file's text waits in the session in between."""
        request.current_app = self.admin_site.name
        if not self.csv_import_key:
            raise Http404("This list has no CSV import.")
        if not self._can_import(request):
            raise PermissionDenied
        config = self.get_csv_config()
        session_key = _IMPORT_SESSION_KEY.format(label=self.model._meta.label_lower)
        changeable = self.get_queryset(request)
        if request.method == "POST" and "confirm" in request.POST:
            pending = request.session.get(session_key) or {}
            if not pending or pending.get("token") != request.POST.get("token"):
                messages.error(
                    request,
                    "This preview has expired or was replaced by another one. "
                    "Upload the file again.",
                )
                return redirect(request.path)
            try:
                result = csv_import_apply(
                    config=config, text=pending["text"], changeable=changeable, user=request.user
                )
            except CsvFileError as error:
                return self._import_page(request, config, CsvUploadForm(), error=str(error))
            del request.session[session_key]
            self.message_user(
                request,
                f"Import done: {result.created} created, {result.updated} updated, "
                f"{result.unchanged} unchanged, {len(result.error_rows)} rows skipped "
                "because of errors.",
                messages.WARNING if result.error_rows else messages.SUCCESS,
            )
            return redirect(self._changelist_url())
        form = CsvUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                text = csv_decode(content=form.cleaned_data["file"].read(MAX_FILE_BYTES + 1))
                plan = csv_import_preview(config=config, text=text, changeable=changeable)
            except CsvFileError as error:
                return self._import_page(request, config, form, error=str(error))
            token = secrets.token_urlsafe(16)
            request.session[session_key] = {"token": token, "text": text}
            context = {
                **self._import_context(request),
                "title": f"Check the import of {self.model._meta.verbose_name_plural}",
                "plan": plan,
                "token": token,
                "file_name": form.cleaned_data["file"].name,
            }
            return TemplateResponse(request, "crm_kit/import_preview.html", context)
        return self._import_page(request, config, form)

    def _import_page(
        self, request: HttpRequest, config: CsvConfig, form: forms.Form, error: str = ""
    ) -> HttpResponse:
        required = {config.key_field}
        columns = []
        for name in config.fields:
            model_field = config.model_field(name)
            needed = name in required or (
                not model_field.blank and not model_field.has_default() and not model_field.null
            )
            note = "matches existing records" if name == config.key_field else ""
            columns.append({"title": column_title(model_field), "required": needed, "note": note})
        context = {
            **self._import_context(request),
            "title": f"Import {self.model._meta.verbose_name_plural} from a CSV file",
            "form": form,
            "error": error,
            "columns": columns,
            # import_view refuses a list without an import key.
            "key_title": column_title(config.model_field(config.key_field)),  # type: ignore[arg-type]
        }
        return TemplateResponse(request, "crm_kit/import_upload.html", context)

    def _import_context(self, request: HttpRequest) -> dict:
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "changelist_url": self._changelist_url(),
        }

    def _changelist_url(self) -> str:
        opts = self.model._meta
        return reverse(
            f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_changelist",
            current_app=self.admin_site.name,
        )

    # Board.

    def get_board_select_related(self) -> tuple[str, ...]:
        related = ["owner"]
        for name in self.board_card_fields:
            model_field = self.model._meta.get_field(name)
            if model_field.many_to_one:
                related.append(name)
        return tuple(related)


# --- Admins of the kit's own tables -------------------------------------------------


class TargetedRecordAdmin(RecordAdmin):
    """Tasks and notes: records attached to another record."""

    record_inlines = ()
    list_prefetch_related = ("target",)

    @admin.display(description="about")
    def target_link(self, obj: Any) -> str:
        return record_link(self.admin_site.name, obj.target)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "target_type":
            app_label = self.model._meta.app_label
            kit_names = {name.lower() for name in ("Note", "Task")}
            names = [
                model._meta.model_name
                for model in record_models(app_label)
                if model._meta.model_name not in kit_names
            ]
            kwargs["queryset"] = ContentType.objects.filter(app_label=app_label, model__in=names)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class TaskAdmin(TargetedRecordAdmin):
    list_display = ("title", "target_link", "assignee", "due_date", "status", "priority", "owner")
    list_filter = ("status", "priority", "assignee", "due_date")
    search_fields = ("title", "description")
    date_hierarchy = "due_date"
    fields = (
        "title",
        "description",
        "status",
        "priority",
        "assignee",
        "due_date",
        "reminder_at",
        "target_type",
        "target_id",
        "owner",
        "completed_at",
    )
    readonly_fields = ("completed_at",)


class NoteAdmin(TargetedRecordAdmin):
    list_display = ("summary", "target_link", "owner", "created_at")
    list_filter = ("owner", "created_at")
    search_fields = ("body",)
    fields = ("body", "target_type", "target_id", "owner")

    @admin.display(description="note", ordering="body")
    def summary(self, obj: Any) -> str:
        return obj.body if len(obj.body) <= 80 else obj.body[:79] + "…"


class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "colour_badge", "uses")
    search_fields = ("name",)

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        return super().get_queryset(request).annotate(use_count=Count("items"))

    @admin.display(description="colour")
    def colour_badge(self, obj: Any) -> str:
        return colour_badge(obj.colour, obj.colour)

    @admin.display(description="used on", ordering="use_count")
    def uses(self, obj: Any) -> int:
        return obj.use_count


class ChoiceOptionInlineBase(admin.TabularInline):
    fields = ("value", "label", "colour", "order", "is_active")
    extra = 0


class ChoiceListAdmin(admin.ModelAdmin):
    """Editable lists of values; a list a field relies on cannot be deleted or re-keyed."""

    list_display = ("name", "key", "option_count")
    search_fields = ("name", "key")

    def __init__(self, model: Any, admin_site: admin.AdminSite) -> None:
        option_model = kit_model(model._meta.app_label, "ChoiceOption")
        # Per instance: each app's admin gets an inline of its own options model.
        self.inlines = [  # type: ignore[misc]
            type("ChoiceOptionInline", (ChoiceOptionInlineBase,), {"model": option_model})
        ]
        super().__init__(model, admin_site)

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        return super().get_queryset(request).annotate(options_total=Count("options"))

    @admin.display(description="options", ordering="options_total")
    def option_count(self, obj: Any) -> int:
        return obj.options_total

    def in_use(self, obj: Any) -> bool:
        return bool(choice_list_fields_using(app_label=obj._meta.app_label, key=obj.key))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None and self.in_use(obj):
            return ("key",)
        return ()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and self.in_use(obj):
            return False
        return super().has_delete_permission(request, obj)


class StageInlineBase(admin.TabularInline):
    fields = ("name", "kind", "probability", "order")
    extra = 0


class PipelineAdmin(admin.ModelAdmin):
    list_display = ("name", "entity", "is_default", "order", "stage_count")
    list_filter = ("entity",)
    ordering = ("entity", "order", "name")

    def __init__(self, model: Any, admin_site: admin.AdminSite) -> None:
        stage_model = kit_model(model._meta.app_label, "Stage")
        # Per instance: each app's admin gets an inline of its own stage model.
        self.inlines = [type("StageInline", (StageInlineBase,), {"model": stage_model})]  # type: ignore[misc]
        super().__init__(model, admin_site)

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        return super().get_queryset(request).annotate(stages_total=Count("stages"))

    @admin.display(description="stages", ordering="stages_total")
    def stage_count(self, obj: Any) -> int:
        return obj.stages_total

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "entity":
            # Only models that move through stages can have pipelines.
            entities = [
                (model._meta.model_name, capfirst(model._meta.verbose_name))
                for model in record_models(self.model._meta.app_label)
                if model.pipeline_stage_field
            ]
            return forms.ChoiceField(
                choices=entities, label="Entity", help_text="What moves through this pipeline."
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)


class HistoryAdmin(admin.ModelAdmin):
    """Timeline entries and stage changes: written by the kit, read-only for everyone."""

    list_prefetch_related: tuple[str, ...] = ()

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        queryset = super().get_queryset(request).prefetch_related(*self.list_prefetch_related)
        return history_visible_to(
            app_label=self.model._meta.app_label, user=request.user, queryset=queryset
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="record")
    def record_display(self, obj: Any) -> str:
        # Built from the stored type and id: no query per row, and works for deleted records.
        text = getattr(obj, "record_repr", None) or str(obj.record)
        try:
            url = reverse(
                f"{self.admin_site.name}:{obj.record_type.app_label}_{obj.record_type.model}_change",
                args=[obj.record_id],
                current_app=self.admin_site.name,
            )
        except NoReverseMatch:
            return text
        return format_html('<a href="{}">{}</a>', url, text)


class TimelineEntryAdmin(HistoryAdmin):
    list_display = ("at", "record_display", "record_type", "action", "field", "change", "actor")
    list_filter = ("action", "record_type", "actor")
    list_select_related = ("actor", "record_type")
    search_fields = ("record_repr", "field", "old_value", "new_value")
    date_hierarchy = "at"

    @admin.display(description="change")
    def change(self, obj: Any) -> str:
        if not obj.field:
            return ""
        return format_html("{}: {} → {}", obj.field, obj.old_value or "∅", obj.new_value or "∅")


class StageChangeAdmin(HistoryAdmin):
    list_prefetch_related = ("record",)
    list_display = ("changed_at", "record_display", "from_stage", "to_stage", "changed_by")
    list_filter = ("to_stage__pipeline", "to_stage", "changed_by")
    list_select_related = ("from_stage", "to_stage", "changed_by", "record_type")
    date_hierarchy = "changed_at"


class RolePolicyAdmin(admin.ModelAdmin):
    list_display = ("group", "own_records_only")
    list_editable = ("own_records_only",)
    list_select_related = ("group",)


class AttachmentAdmin(AttachmentFileMixin, admin.ModelAdmin):
    list_display = ("__str__", "download_link", "target_link", "uploaded_by", "uploaded_at")
    list_select_related = ("uploaded_by",)
    fields = ("file", "name", "target_type", "target_id")

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        return super().get_queryset(request).prefetch_related("target")

    @admin.display(description="about")
    def target_link(self, obj: Any) -> str:
        return record_link(self.admin_site.name, obj.target)

    @admin.display(description="file")
    def download_link(self, obj: Any) -> str:
        return format_html(
            '<a href="{}">Download</a>', attachment_download_url(self.admin_site.name, obj)
        )

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if obj.uploaded_by_id is None:
            obj.uploaded_by = request.user
        super().save_model(request, obj, form, change)
