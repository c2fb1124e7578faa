"""The builders' console (the bare domain's Django admin): tenants, releases, backups, keys.

Every screen shows only the tenants the user builds (``Membership`` with the role builder);
superusers see them all. Releases and backups are records of what happened and are never
edited here; memberships go through ``membership_set`` so the role groups follow. The
console shows; deploys and rollbacks run from ``factory deploy`` / ``factory rollback``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from factory.tenants.models import Membership, Tenant, TenantApiKey, TenantBackup, TenantRelease
from factory.tenants.selectors import tenants_visible_in_console
from factory.tenants.services import membership_set


class BuilderScopedAdmin(admin.ModelAdmin):
    """Rows of the tenants the user builds; ``tenant_path`` leads from the row to its tenant."""

    tenant_path = "tenant"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        visible = tenants_visible_in_console(user=request.user)
        lookup = f"{self.tenant_path}__in" if self.tenant_path else "pk__in"
        return queryset.filter(**{lookup: visible.values("pk")})


class ReadOnlyAdmin(BuilderScopedAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Tenant)
class TenantAdmin(BuilderScopedAdmin):
    tenant_path = ""
    list_display = ("slug", "name", "live_release", "preview_release", "created_at")
    search_fields = ("slug", "name")
    readonly_fields = ("created_at", "created_by")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # `factory tenant create` makes a tenant with its first release

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # The slug names the host and the app's tables: it never changes once created.
        return (*self.readonly_fields, "slug") if obj is not None else self.readonly_fields

    @admin.display(description="live")
    def live_release(self, tenant: Tenant) -> str:
        release = tenant.releases.filter(status="live").first()
        return str(release.number) if release else "-"

    @admin.display(description="preview")
    def preview_release(self, tenant: Tenant) -> str:
        release = tenant.releases.filter(status="preview").first()
        return str(release.number) if release else "-"


@admin.register(Membership)
class MembershipAdmin(BuilderScopedAdmin):
    list_display = ("tenant", "user", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("tenant__slug", "user__username")
    autocomplete_fields = ("tenant",)
    raw_id_fields = ("user",)

    def save_model(self, request: HttpRequest, obj: Membership, form: Any, change: bool) -> None:
        membership = membership_set(tenant=obj.tenant, user=obj.user, role=obj.role)
        obj.pk = membership.pk


@admin.register(TenantRelease)
class TenantReleaseAdmin(ReadOnlyAdmin):
    list_display = ("tenant", "number", "status", "classification", "created_at", "deployed_at")
    list_filter = ("status",)
    search_fields = ("tenant__slug",)
    exclude = ("files", "migration_files", "preview_files")
    readonly_fields = ("check_text", "migration_plan", "error")

    @admin.display(description="change")
    def classification(self, release: TenantRelease) -> str:
        return release.migration_plan.get("classification", "-")

    @admin.display(description="check report")
    def check_text(self, release: TenantRelease) -> str:
        return release.check_report.get("text", "")


@admin.register(TenantBackup)
class TenantBackupAdmin(ReadOnlyAdmin):
    list_display = ("tenant", "release", "reason", "created_at", "row_count", "size")
    search_fields = ("tenant__slug", "reason")


@admin.register(TenantApiKey)
class TenantApiKeyAdmin(ReadOnlyAdmin):
    tenant_path = "membership__tenant"
    list_display = ("prefix", "name", "membership", "created_at", "last_used_at", "revoked_at")
    exclude = ("secret_digest",)
