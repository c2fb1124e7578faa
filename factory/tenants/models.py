"""Tenants, who may use them, their releases, backups and API keys.

The database is the source of truth for what every tenant runs: a ``TenantRelease`` holds
the spec snapshot, the generated code, the migration files and plan, and the check report;
each process materialises the live and preview releases' code at start. Models only hold
data and derived names; every write goes through ``factory.tenants.services``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from factory.tenants.naming import (
    SLUG_MAX_LENGTH,
    live_app_label,
    preview_app_label,
    tenant_slug_problem,
)


def validate_tenant_slug(value: str) -> None:
    from django.core.exceptions import ValidationError

    problem = tenant_slug_problem(value)
    if problem:
        raise ValidationError(problem, code="invalid_slug")


class Tenant(models.Model):
    slug = models.CharField(
        "slug",
        max_length=SLUG_MAX_LENGTH,
        unique=True,
        validators=[validate_tenant_slug],
        help_text="Names the host (<slug>.<base domain>) and the app (t_<slug>); never changes.",
    )
    name = models.CharField("name", max_length=120)
    created_at = models.DateTimeField("created", auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"

    @property
    def app_label(self) -> str:
        return live_app_label(self.slug)

    @property
    def preview_app_label(self) -> str:
        return preview_app_label(self.slug)


class MembershipRole(models.TextChoices):
    BUILDER = "builder", "Builder"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"
    VIEWER = "viewer", "Viewer"


class Membership(models.Model):
    """A user's access to one tenant; a user may belong to several tenants."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tenant_memberships"
    )
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField("role", max_length=16, choices=MembershipRole)
    created_at = models.DateTimeField("created", auto_now_add=True)

    class Meta:
        ordering = ["tenant", "user"]
        constraints = [
            models.UniqueConstraint(fields=["user", "tenant"], name="tenants_membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.tenant.slug} · {self.get_role_display()}"


class ReleaseStatus(models.TextChoices):
    BUILDING = "building", "Building"
    PREVIEW = "preview", "In preview"
    LIVE = "live", "Live"
    RETIRED = "retired", "Retired"
    FAILED = "failed", "Failed"


class TenantRelease(models.Model):
    """One build of a tenant's app: everything needed to run it, frozen.

    ``files`` and ``migration_files`` map paths inside the app package (``models.py``,
    ``migrations/0002_...py``) to their text; ``migration_files`` is the app's whole
    migration history at this release. ``preview_files`` is the same app compiled under the
    preview label with its own fresh migrations. ``code_digest``/``preview_digest`` name the
    materialised folders so a process only writes code it does not have yet.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="releases")
    number = models.PositiveIntegerField("number")
    base_release = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The live release this one was built on (its migrations continue from it).",
    )
    status = models.CharField(
        "status", max_length=16, choices=ReleaseStatus, default=ReleaseStatus.BUILDING
    )
    spec = models.JSONField("spec snapshot")
    files = models.JSONField("generated files", default=dict, blank=True)
    migration_files = models.JSONField("migration files", default=dict, blank=True)
    preview_files = models.JSONField("preview files", default=dict, blank=True)
    code_digest = models.CharField(max_length=64, blank=True)
    preview_digest = models.CharField(max_length=64, blank=True)
    migration_plan = models.JSONField(
        "migration plan",
        default=dict,
        blank=True,
        help_text="Changes from the base release with their classification, and new migrations.",
    )
    check_report = models.JSONField("check report", default=dict, blank=True)
    error = models.TextField("error", blank=True)
    created_at = models.DateTimeField("created", auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    deployed_at = models.DateTimeField("deployed", null=True, blank=True)

    class Meta:
        ordering = ["tenant", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "number"], name="tenants_release_unique_number"
            ),
            models.UniqueConstraint(
                fields=["tenant"],
                condition=Q(status="live"),
                name="tenants_release_one_live",
            ),
            models.UniqueConstraint(
                fields=["tenant"],
                condition=Q(status="preview"),
                name="tenants_release_one_preview",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tenant.slug} release {self.number} ({self.get_status_display().lower()})"

    @property
    def check_ok(self) -> bool:
        return bool(self.check_report.get("ok"))


class TenantBackup(models.Model):
    """A copy of a tenant's tables taken before a deploy or a rollback.

    The rows live in a JSON file under ``FACTORY_BACKUPS_DIR`` (``path`` is relative to
    it); ``tables`` maps each table to its row count and ``migrations`` lists the app's
    applied migrations, so a restore rebuilds exactly this schema before loading rows.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="backups")
    release = models.ForeignKey(
        TenantRelease,
        on_delete=models.PROTECT,
        related_name="backups",
        help_text="The release that was live when the backup was taken.",
    )
    taken_before = models.ForeignKey(
        TenantRelease,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="backups_before",
        help_text="The release whose deploy (or rollback) this backup precedes.",
    )
    reason = models.CharField("reason", max_length=200)
    created_at = models.DateTimeField("taken", auto_now_add=True)
    tables = models.JSONField("row counts", default=dict)
    migrations = models.JSONField("applied migrations", default=list)
    path = models.CharField("file", max_length=300)
    size = models.PositiveBigIntegerField("size (bytes)", default=0)

    class Meta:
        ordering = ["tenant", "-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.tenant.slug} backup of release {self.release.number} ({self.reason})"

    @property
    def row_count(self) -> int:
        return sum(self.tables.values())


class TenantApiKey(models.Model):
    """A key to one tenant's API, acting as one member with that member's role.

    Only a SHA-256 digest of the secret is stored: the key is random and long, so a fast
    digest is as safe as a password hash here and keeps each API call cheap. ``prefix`` is
    the public part used to find the row; revoking sets ``revoked_at``.
    """

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField("name", max_length=120)
    prefix = models.CharField("prefix", max_length=16, unique=True)
    secret_digest = models.CharField(max_length=64)
    created_at = models.DateTimeField("created", auto_now_add=True)
    last_used_at = models.DateTimeField("last used", null=True, blank=True)
    revoked_at = models.DateTimeField("revoked", null=True, blank=True)

    class Meta:
        ordering = ["membership", "-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
