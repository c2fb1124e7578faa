"""Admin screens of the base CRM: its models registered on ``crm_site`` with the kit's admins.

This is what the compiler produces from the template spec: column, filter, search, inline
and CSV choices per model, and nothing else. Behaviour lives in ``crm.kit.admin``.
"""

from __future__ import annotations

from django.contrib import admin

from crm import models
from crm.kit.admin import (
    AttachmentAdmin,
    ChoiceListAdmin,
    NoteAdmin,
    PipelineAdmin,
    RecordAdmin,
    RolePolicyAdmin,
    StageChangeAdmin,
    TagAdmin,
    TaskAdmin,
    TimelineEntryAdmin,
    VisibleRecordsInlineMixin,
)
from crm.kit.admin_site import CRMAdminSite
from crm.kit.normalise import normalise_domain, normalise_email

crm_site = CRMAdminSite(name="crm", app_label="crm")


class CompanyContactInline(VisibleRecordsInlineMixin, admin.TabularInline):
    model = models.Contact
    fields = ("first_name", "last_name", "email", "phone", "job_title")
    extra = 0
    show_change_link = True


class ContactEmailInline(admin.TabularInline):
    model = models.ContactEmail
    fields = ("email", "label")
    extra = 0


class ContactPhoneInline(admin.TabularInline):
    model = models.ContactPhone
    fields = ("number", "label")
    extra = 0


class DealContactInline(admin.TabularInline):
    model = models.DealContact
    fields = ("contact", "role")
    autocomplete_fields = ("contact",)
    extra = 0


@admin.register(models.Company, site=crm_site)
class CompanyAdmin(RecordAdmin):
    list_display = ("name", "domain", "industry", "city", "country", "owner")
    list_filter = ("industry", "country", "owner")
    search_fields = ("name", "domain", "city")
    fields = (
        "name",
        "domain",
        "industry",
        "phone",
        "address",
        "city",
        "country",
        "description",
        "owner",
    )
    inlines = [CompanyContactInline]
    csv_fields = ("domain", "name", "industry", "phone", "address", "city", "country")
    csv_import_key = "domain"
    csv_key_normaliser = staticmethod(normalise_domain)


@admin.register(models.Contact, site=crm_site)
class ContactAdmin(RecordAdmin):
    list_display = ("last_name", "first_name", "email", "phone", "company", "job_title", "owner")
    list_display_links = ("last_name", "first_name")
    list_filter = ("owner", "company__industry")
    search_fields = ("first_name", "last_name", "email", "phone", "company__name")
    fields = ("first_name", "last_name", "email", "phone", "job_title", "company", "owner")
    inlines = [ContactEmailInline, ContactPhoneInline]
    csv_fields = ("email", "first_name", "last_name", "phone", "job_title", "company")
    csv_import_key = "email"
    csv_key_normaliser = staticmethod(normalise_email)


@admin.register(models.Deal, site=crm_site)
class DealAdmin(RecordAdmin):
    list_display = (
        "name",
        "company",
        "pipeline",
        "stage",
        "amount",
        "currency",
        "expected_close",
        "owner",
    )
    list_filter = ("pipeline", "stage", "currency", "expected_close", "owner")
    search_fields = ("name", "company__name")
    fields = (
        "name",
        "company",
        "pipeline",
        "stage",
        "amount",
        "currency",
        "expected_close",
        "owner",
    )
    inlines = [DealContactInline]
    csv_fields = ("name", "company", "pipeline", "stage", "amount", "currency", "expected_close")
    board_amount_field = "amount"
    board_currency_field = "currency"
    board_card_fields = ("company", "expected_close")


crm_site.register(models.Task, TaskAdmin)
crm_site.register(models.Note, NoteAdmin)
crm_site.register(models.Tag, TagAdmin)
crm_site.register(models.Attachment, AttachmentAdmin)
crm_site.register(models.ChoiceList, ChoiceListAdmin)
crm_site.register(models.Pipeline, PipelineAdmin)
crm_site.register(models.TimelineEntry, TimelineEntryAdmin)
crm_site.register(models.StageChange, StageChangeAdmin)
crm_site.register(models.RolePolicy, RolePolicyAdmin)
