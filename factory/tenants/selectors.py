"""Reads about tenants: who belongs where, which release is live or in preview, backups.

Every function is a query with keyword-only arguments; nothing here writes. Callers that
need a consistent view during a deploy read under the deploy lock.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.db.models import QuerySet

from factory.tenants.models import (
    Membership,
    MembershipRole,
    ReleaseStatus,
    Tenant,
    TenantApiKey,
    TenantBackup,
    TenantRelease,
)

# Tenants are never deleted and slugs never change, so a process may remember the id.
_tenant_ids_by_slug: dict[str, int] = {}


def tenant_get(*, slug: str) -> Tenant | None:
    return Tenant.objects.filter(slug=slug).first()


def tenant_for_host(*, slug: str) -> Tenant | None:
    """The tenant a request's host names, with one cheap query per request at most."""
    tenant_id = _tenant_ids_by_slug.get(slug)
    if tenant_id is not None:
        return Tenant(id=tenant_id, slug=slug)
    tenant = Tenant.objects.filter(slug=slug).only("id", "slug").first()
    if tenant is not None:
        _tenant_ids_by_slug[slug] = tenant.id
    return tenant


def tenants_list() -> QuerySet[Tenant]:
    return Tenant.objects.order_by("slug")


def tenants_visible_in_console(*, user: Any) -> QuerySet[Tenant]:
    """Superusers see every tenant; a builder sees the tenants where they are a builder."""
    if user.is_superuser:
        return Tenant.objects.all()
    return Tenant.objects.filter(
        memberships__user=user, memberships__role=MembershipRole.BUILDER
    ).distinct()


def membership_get(*, user: Any, tenant: Tenant) -> Membership | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return Membership.objects.filter(user=user, tenant_id=tenant.id).first()


def membership_exists(*, user: Any, tenant: Tenant) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return Membership.objects.filter(user=user, tenant_id=tenant.id).exists()


def release_live(*, tenant: Tenant) -> TenantRelease | None:
    return tenant.releases.filter(status=ReleaseStatus.LIVE).first()


def release_preview(*, tenant: Tenant) -> TenantRelease | None:
    return tenant.releases.filter(status=ReleaseStatus.PREVIEW).first()


def release_get(*, tenant: Tenant, number: int) -> TenantRelease | None:
    return tenant.releases.filter(number=number).first()


def releases_of(*, tenant: Tenant) -> QuerySet[TenantRelease]:
    return tenant.releases.order_by("-number")


def release_next_number(*, tenant: Tenant) -> int:
    last = tenant.releases.order_by("-number").values_list("number", flat=True).first()
    return (last or 0) + 1


def backup_for_rollback_to(*, tenant: Tenant, release: TenantRelease) -> TenantBackup | None:
    """The newest backup taken while ``release`` was live, just before it was replaced."""
    return (
        tenant.backups.filter(release=release, taken_before__isnull=False)
        .exclude(taken_before=release)
        .order_by("-created_at", "-id")
        .first()
    )


def api_key_by_prefix(*, prefix: str) -> TenantApiKey | None:
    return (
        TenantApiKey.objects.select_related("membership__user", "membership__tenant")
        .filter(prefix=prefix)
        .first()
    )


def api_keys_of(*, tenant: Tenant) -> QuerySet[TenantApiKey]:
    return TenantApiKey.objects.filter(membership__tenant=tenant).select_related("membership__user")


def loaded_tenant_apps() -> list[str]:
    """The labels of the tenant apps this process loaded at start."""
    return [
        label for label in getattr(settings, "FACTORY_TENANT_APPS", []) if label in apps.app_configs
    ]


def project_migrations_unapplied() -> list[str]:
    """The project's migrations not yet applied (tenant apps aside: deploys migrate them)."""
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    tenant_labels = set(loaded_tenant_apps())
    targets = [node for node in executor.loader.graph.leaf_nodes() if node[0] not in tenant_labels]
    return [f"{m.app_label}.{m.name}" for m, _backwards in executor.migration_plan(targets)]
