"""Writes about tenants: create, memberships and API keys, build, preview, deploy, roll back,
upgrade onto the factory's current compiler and kit.

Every refusal raises ``TenantRefused`` with sentences for the builder, before anything is
written. Building a release runs the compiler and the sandbox (separate processes) before
any row says the release exists in preview. Deploys, previews and rollbacks change tables
only in a ``manage.py tenant_migrate`` subprocess that loads exactly the release it
migrates, under the deploy lock, after a backup; when that subprocess fails, the tenant's
tables are checked against the backup and restored if anything moved, so the tenant stays
on its previous release with its data as before. Web and worker processes are then asked
to reload (``factory.tenants.reload``). Commands and views only call these functions.

A build holds the build lock of its release until the release's status is final; a release
that a killed worker or command left ``building`` is marked failed by the tenant's next build
(``releases_interrupted_settle``), so no release stays ``building`` for ever.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import connections, transaction
from django.utils import timezone

from crm.kit.roles import ROLE_ADMIN, ROLE_MEMBER, ROLE_READ_ONLY, role_group_name
from factory.spec.models import AppSpec
from factory.tenants import backups
from factory.tenants.auth import api_key_generate
from factory.tenants.building import ReleaseArtifacts, database_url_of, release_builder
from factory.tenants.locks import DeployLockBusy, build_lock, build_running, deploy_lock
from factory.tenants.models import (
    Membership,
    MembershipRole,
    ReleaseStatus,
    Tenant,
    TenantApiKey,
    TenantBackup,
    TenantRelease,
)
from factory.tenants.naming import tenant_slug_problem
from factory.tenants.reload import processes_reload
from factory.tenants.runtime.bootstrap import (
    PINNED_RELEASES_ENV,
    loaded_app_folder,
    package_digest,
    package_write,
    release_folder,
)
from factory.tenants.runtime.state import (
    MODE_MAINTENANCE,
    MODE_STRICT,
    change_mode,
    tenant_state_write,
)
from factory.tenants.selectors import (
    backup_for_rollback_to,
    release_get,
    release_live,
    release_next_number,
    release_preview,
    tenant_get,
    tenants_list,
)

MIGRATE_TIMEOUT = 900
INTERRUPTED_BUILD = (
    "Interrupted: the worker or command building this release stopped before the build finished"
)
BUILD_INTERRUPTED = "Interrupted: the build was stopped before it finished."
OUTPUT_TAIL_LINES = 30
# The kit's role group each membership role joins in the tenant's app.
ROLE_GROUPS = {
    MembershipRole.BUILDER: ROLE_ADMIN,
    MembershipRole.ADMIN: ROLE_ADMIN,
    MembershipRole.MEMBER: ROLE_MEMBER,
    MembershipRole.VIEWER: ROLE_READ_ONLY,
}
BUILDERS_GROUP = "Factory builders"


class TenantRefused(Exception):
    """A request that was refused before anything changed; ``problems`` say why and what to do."""

    def __init__(self, *problems: str) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def _tail(text: str) -> str:
    return "\n".join(text.rstrip().splitlines()[-OUTPUT_TAIL_LINES:])


# --- tenants, memberships, API keys --------------------------------------------------------


@transaction.atomic
def tenant_create(*, slug: str, name: str, actor: Any = None) -> Tenant:
    problem = tenant_slug_problem(slug)
    if problem:
        raise TenantRefused(problem)
    if not name.strip():
        raise TenantRefused("A tenant needs a name, e.g. --name 'Acme Recruiting'.")
    if Tenant.objects.filter(slug=slug).exists():
        raise TenantRefused(f"A tenant with the slug {slug!r} already exists; choose another slug.")
    return Tenant.objects.create(slug=slug, name=name.strip(), created_by=actor)


def _role_groups_of_tenant(tenant: Tenant) -> dict[str, Group]:
    """The kit role groups of the tenant's live and preview apps, by role name (created on
    demand: the deploy subprocess gives them their permissions)."""
    groups = {}
    for label in (tenant.app_label, tenant.preview_app_label):
        for role in set(ROLE_GROUPS.values()):
            groups[role_group_name(label, role)], _ = Group.objects.get_or_create(
                name=role_group_name(label, role)
            )
    return groups


def membership_groups_sync(*, membership: Membership) -> None:
    """Put the member in exactly the role groups of their role, in this tenant's apps."""
    groups = _role_groups_of_tenant(membership.tenant)
    wanted = {
        groups[role_group_name(label, ROLE_GROUPS[MembershipRole(membership.role)])]
        for label in (membership.tenant.app_label, membership.tenant.preview_app_label)
    }
    user = membership.user
    user.groups.remove(*[group for group in groups.values() if group not in wanted])
    user.groups.add(*wanted)
    if membership.role == MembershipRole.BUILDER:
        builders, _ = Group.objects.get_or_create(name=BUILDERS_GROUP)
        builders_permissions_install(group=builders)
        user.groups.add(builders)
        if not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])


def builders_permissions_install(*, group: Group) -> None:
    """What builders may do in the console: see their tenants, releases and backups."""
    from django.contrib.auth.models import Permission

    codenames = [
        "view_tenant",
        "view_membership",
        "view_tenantrelease",
        "view_tenantbackup",
        "view_tenantapikey",
    ]
    group.permissions.set(
        Permission.objects.filter(content_type__app_label="tenants", codename__in=codenames)
    )


@transaction.atomic
def membership_set(*, tenant: Tenant, user: Any, role: str) -> Membership:
    if role not in MembershipRole.values:
        raise TenantRefused(
            f"{role!r} is not a role; use one of {', '.join(MembershipRole.values)}."
        )
    membership, _created = Membership.objects.update_or_create(
        user=user, tenant=tenant, defaults={"role": role}
    )
    membership_groups_sync(membership=membership)
    return membership


@transaction.atomic
def membership_remove(*, tenant: Tenant, user: Any) -> None:
    membership = Membership.objects.filter(tenant=tenant, user=user).first()
    if membership is None:
        raise TenantRefused(f"{user} is not a member of {tenant.slug}; nothing to remove.")
    groups = _role_groups_of_tenant(tenant)
    user.groups.remove(*groups.values())
    membership.delete()  # its API keys go with it


@transaction.atomic
def api_key_create(*, membership: Membership, name: str) -> tuple[TenantApiKey, str]:
    """A new key for one member of one tenant; the full key is returned once, never stored."""
    if not name.strip():
        raise TenantRefused("Give the API key a name that says what uses it, e.g. 'website'.")
    key, prefix, digest = api_key_generate()
    api_key = TenantApiKey.objects.create(
        membership=membership, name=name.strip(), prefix=prefix, secret_digest=digest
    )
    return api_key, key


@transaction.atomic
def api_key_revoke(*, api_key: TenantApiKey) -> TenantApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


# --- the tenant_migrate subprocess ---------------------------------------------------------


def tenant_manage(
    *, args: list[str], pinned: Mapping[str, int], timeout: float = MIGRATE_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """Run ``manage.py ARGS`` in a fresh process that loads exactly the ``pinned`` releases
    (label → release id) and works on this process's database."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings.local"),
        "DATABASE_URL": database_url_of(connections["default"].settings_dict),
        "FACTORY_LOAD_TENANT_APPS": "1",
        PINNED_RELEASES_ENV: ",".join(f"{label}={pk}" for label, pk in pinned.items()),
        "FACTORY_APPS_DIR": str(settings.FACTORY_APPS_DIR),
    }
    command = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), *args]
    try:
        return subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as error:
        return subprocess.CompletedProcess(
            command, 124, str(error.stdout or ""), f"Timed out after {timeout:.0f} s."
        )


@dataclass
class MigrateRun:
    ok: bool
    output: str
    summary: dict[str, Any] = field(default_factory=dict)


def _tenant_migrate(
    *,
    tenant: Tenant,
    label: str,
    release: TenantRelease,
    reset: bool = False,
    restore: Path | None = None,
    sample_data: int = 0,
) -> MigrateRun:
    args = ["tenant_migrate", label, "--tenant", tenant.slug]
    if reset:
        args.append("--reset")
    if restore is not None:
        args += ["--restore", str(restore)]
    if sample_data:
        args += ["--sample-data", str(sample_data)]
    process = tenant_manage(args=args, pinned={label: release.id})
    summary: dict[str, Any] = {}
    lines = process.stdout.strip().splitlines()
    if process.returncode == 0 and lines:
        try:
            summary = json.loads(lines[-1])
        except json.JSONDecodeError:
            summary = {}
    return MigrateRun(
        ok=process.returncode == 0,
        output=_tail(f"{process.stdout}\n{process.stderr}"),
        summary=summary,
    )


# --- backups -------------------------------------------------------------------------------


def tenant_backup_take(
    *, tenant: Tenant, release: TenantRelease, taken_before: TenantRelease | None, reason: str
) -> tuple[TenantBackup, dict[str, Any]]:
    """Copy the tenant's live tables to a file and record it; return the row and the snapshot."""
    snapshot = backups.tables_snapshot(app_label=tenant.app_label)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S%f")
    relative = Path(tenant.slug) / f"{stamp}-release{release.number}.json.gz"
    size = backups.snapshot_write(
        snapshot=snapshot, path=Path(settings.FACTORY_BACKUPS_DIR) / relative
    )
    backup = TenantBackup.objects.create(
        tenant=tenant,
        release=release,
        taken_before=taken_before,
        reason=reason,
        tables=backups.snapshot_row_counts(snapshot),
        migrations=snapshot["migrations"],
        path=str(relative),
        size=size,
    )
    return backup, snapshot


def backup_file(backup: TenantBackup) -> Path:
    return Path(settings.FACTORY_BACKUPS_DIR) / backup.path


def _tables_match(snapshot: Mapping[str, Any], *, app_label: str) -> bool:
    """True when the app's tables hold exactly the snapshot's rows and migrations."""
    current = backups.tables_snapshot(app_label=app_label)
    return (
        current["migrations"] == snapshot["migrations"]
        and set(current["tables"]) == set(snapshot["tables"])
        and not backups.snapshots_compare(before=snapshot, after=current)
    )


def _restore_release_data(
    *, tenant: Tenant, release: TenantRelease, backup: TenantBackup
) -> MigrateRun:
    """Rebuild the tenant's tables at ``release`` and load ``backup`` into them."""
    run = _tenant_migrate(
        tenant=tenant,
        label=tenant.app_label,
        release=release,
        reset=True,
        restore=backup_file(backup),
    )
    if run.ok and run.summary.get("row_counts") != backup.tables:
        run.ok = False
        run.output += (
            f"\nRow counts after the restore {run.summary.get('row_counts')} differ from the "
            f"backup's {backup.tables}."
        )
    return run


# --- building releases ---------------------------------------------------------------------


@dataclass
class BuildOutcome:
    release: TenantRelease
    plan_text: str = ""
    preview_published: bool = False
    # When the preview could not be prepared: what became of the release already in preview.
    preview_note: str = ""

    @property
    def ok(self) -> bool:
        return self.release.status == ReleaseStatus.PREVIEW


def _live_impact(*, tenant: Tenant, base: TenantRelease, diff: Any) -> Any:
    """Count the live values the diff touches, with the live release's own code: in this
    process when it runs that release, else in a scratch process (a long-running worker may
    still run an older one)."""
    from factory.evolution.impact import spec_diff_impact
    from factory.evolution.services import app_impact_count

    folder = release_folder(Path(settings.FACTORY_APPS_DIR), tenant.app_label, base.code_digest)
    if loaded_app_folder(tenant.app_label) == str(folder):
        return spec_diff_impact(diff, app_label=tenant.app_label)
    package_write(
        folder=folder, label=tenant.app_label, files={**base.files, **base.migration_files}
    )
    return app_impact_count(
        diff=diff,
        app_dir=folder / tenant.app_label,
        app_label=tenant.app_label,
        database_url=database_url_of(connections["default"].settings_dict),
    )


def _change_plan(
    *, tenant: Tenant, base: TenantRelease | None, spec: AppSpec, fill_values: Mapping[str, Any]
) -> tuple[dict[str, Any], str, list[str]]:
    """(the plan as data, as text, the sentences of its destructive changes with counts)."""
    if base is None:
        return {"classification": "safe", "changes": []}, "A new app: every table is created.", []
    from factory.evolution.diff import ChangeClass, spec_diff
    from factory.evolution.impact import spec_diff_impact_text

    diff = spec_diff(old=AppSpec.model_validate(base.spec), new=spec, fill_values=fill_values)
    impact = _live_impact(tenant=tenant, base=base, diff=diff)
    destructive = [
        item.sentence
        for item in impact.impacts
        if item.change.classification == ChangeClass.DESTRUCTIVE
    ]
    return impact.to_jsonable(), spec_diff_impact_text(impact), destructive


@transaction.atomic
def releases_interrupted_settle(
    *, tenant: Tenant, replaced_by: int | None = None
) -> list[TenantRelease]:
    """Mark failed the tenant's releases left ``building`` by builds no longer running.

    A build holds its release's build lock until the status is final, and the lock dies with
    the process, so a release in building whose lock is free will never finish. Safe to call
    at any time, by several processes at once: a release whose build runs is left alone, and
    a release is settled once. ``replaced_by`` names the release the caller is about to build.
    """
    Tenant.objects.select_for_update().filter(pk=tenant.pk).first()
    error = f"{INTERRUPTED_BUILD}; " + (
        f"release {replaced_by} replaced it."
        if replaced_by is not None
        else "nothing of it was previewed or deployed."
    )
    settled = []
    for release in tenant.releases.filter(status=ReleaseStatus.BUILDING).order_by("number"):
        if build_running(release_id=release.pk):
            continue
        # Only while still building: its own build may have finished since the query.
        if TenantRelease.objects.filter(pk=release.pk, status=ReleaseStatus.BUILDING).update(
            status=ReleaseStatus.FAILED, error=error
        ):
            release.status, release.error = ReleaseStatus.FAILED, error
            settled.append(release)
    return settled


@transaction.atomic
def _release_reserve(
    *, tenant: Tenant, base: TenantRelease | None, spec: AppSpec, actor: Any, hold: ExitStack
) -> TenantRelease:
    """The next release number, taken at once (status building) so two builds never share it.

    Its build lock is taken before the row is committed (so no other build ever sees it
    building and unlocked) and stays in ``hold`` until the build has written the final
    status. Releases left building by builds that died are settled first.
    """
    Tenant.objects.select_for_update().filter(pk=tenant.pk).first()
    number = release_next_number(tenant=tenant)
    releases_interrupted_settle(tenant=tenant, replaced_by=number)
    release = TenantRelease.objects.create(
        tenant=tenant,
        number=number,
        base_release=base,
        status=ReleaseStatus.BUILDING,
        spec=spec.to_jsonable(),
        created_by=actor,
    )
    hold.enter_context(build_lock(release_id=release.pk))
    return release


def release_build(
    *,
    tenant: Tenant,
    spec: AppSpec,
    actor: Any = None,
    confirm_destructive: bool = False,
    fill_values: Mapping[str, Any] | None = None,
    publish_preview: bool = True,
) -> BuildOutcome:
    """Build a new release of the tenant's app from ``spec`` and put it in preview.

    Refused, with nothing changed, when the spec fails validation or holds destructive
    changes that were not confirmed. A release whose checks fail is kept as ``failed`` with
    its report. With ``publish_preview`` the preview app's tables are rebuilt with sample
    data and the processes reload, so the preview host serves it; a release whose preview
    could not be prepared is kept as ``failed`` too (the live release is never touched). The
    release already in preview retires only once the new one is in preview: until then it
    stays deployable, and it stays in preview when the new one fails
    (``release_preview_publish``). A build stopped by an exception, Ctrl-C or SystemExit
    marks its release failed and lets the exception through.
    """
    from factory.spec.validation import SpecInvalid, validate_app_spec

    problems = validate_app_spec(spec)
    if problems:
        raise TenantRefused(str(SpecInvalid(problems)))
    base = release_live(tenant=tenant)
    fill_values = dict(fill_values or {})
    plan, plan_text, destructive = _change_plan(
        tenant=tenant, base=base, spec=spec, fill_values=fill_values
    )
    if destructive and not confirm_destructive:
        raise TenantRefused(
            "This change is destructive and needs an explicit confirmation:",
            *[f"- {sentence}" for sentence in destructive],
            "Nothing was changed. Run again with --confirm-destructive to build it; the "
            "deploy backs up the tables first and a rollback restores them.",
        )
    from factory.evolution.plan import EvolutionRefused

    # The build lock is held until the status below is final; a killed build leaves the
    # release building and unlocked, for the next build to settle.
    with ExitStack() as building:
        release = _release_reserve(tenant=tenant, base=base, spec=spec, actor=actor, hold=building)
        outcome = BuildOutcome(release=release, plan_text=plan_text)
        try:
            try:
                artifacts = release_builder()(
                    spec=spec,
                    slug=tenant.slug,
                    base_spec=AppSpec.model_validate(base.spec) if base else None,
                    base_migration_files=base.migration_files if base else {},
                    fill_values=fill_values,
                    with_preview=publish_preview,
                )
            except EvolutionRefused as error:
                release.delete()  # a refusal leaves nothing behind
                raise TenantRefused(*error.problems, "Nothing was changed.") from None
            _release_artifacts_save(
                release=release,
                artifacts=artifacts,
                plan=plan,
                confirmed_destructive=bool(destructive),
            )
            if artifacts.ok and publish_preview and release.preview_files:
                outcome.preview_published, outcome.preview_note = release_preview_publish(
                    release=release
                )
            elif artifacts.ok:
                _release_into_preview(release=release)
        except TenantRefused:
            raise
        except Exception as error:
            _release_fail(release=release, error=f"The build stopped: {error!r}")
            raise
        except BaseException:
            # Ctrl-C or SystemExit: say so at once rather than leave the release building
            # until the next build settles it. The interruption goes on up whatever happens
            # here; if the database fails now, the next build settles the release.
            with suppress(Exception):
                _release_fail(release=release, error=BUILD_INTERRUPTED)
            raise
    return outcome


@transaction.atomic
def _release_artifacts_save(
    *,
    release: TenantRelease,
    artifacts: ReleaseArtifacts,
    plan: Mapping[str, Any],
    confirmed_destructive: bool,
) -> None:
    """Store what the build made; a release that failed its checks gets its final status.

    One that passed stays ``building`` (under its build lock) until it goes into preview:
    the preview subprocess reads its files from the database, so they are committed first.
    """
    release.status = ReleaseStatus.BUILDING if artifacts.ok else ReleaseStatus.FAILED
    release.files = artifacts.files
    release.migration_files = artifacts.migration_files
    release.preview_files = artifacts.preview_files
    release.code_digest = package_digest({**artifacts.files, **artifacts.migration_files})
    release.preview_digest = (
        package_digest(artifacts.preview_files) if artifacts.preview_files else ""
    )
    release.migration_plan = {
        **plan,
        **artifacts.migration_plan,
        "confirmed_destructive": confirmed_destructive,
    }
    release.check_report = artifacts.check_report
    release.error = artifacts.error
    release.save()


@transaction.atomic
def _release_into_preview(*, release: TenantRelease) -> None:
    """The switch: the release goes into preview and the one that was there retires."""
    Tenant.objects.select_for_update().filter(pk=release.tenant_id).first()
    release.tenant.releases.filter(status=ReleaseStatus.PREVIEW).exclude(pk=release.pk).update(
        status=ReleaseStatus.RETIRED
    )
    release.status = ReleaseStatus.PREVIEW
    release.save(update_fields=["status"])


def _release_fail(*, release: TenantRelease, error: str) -> None:
    """Mark failed a release whose build has not written its final status yet."""
    if TenantRelease.objects.filter(pk=release.pk, status=ReleaseStatus.BUILDING).update(
        status=ReleaseStatus.FAILED, error=error
    ):
        release.status, release.error = ReleaseStatus.FAILED, error


def tenant_provision(
    *, slug: str, name: str, spec: AppSpec, actor: Any = None
) -> tuple[Tenant, BuildOutcome]:
    """Create a tenant and build its release 1 from ``spec`` (not yet deployed).

    A build the factory refuses leaves no tenant behind, so the slug stays free; a build
    that fails its checks keeps the tenant with its failed release, for the report.
    """
    tenant = tenant_create(slug=slug, name=name, actor=actor)
    try:
        outcome = release_build(tenant=tenant, spec=spec, actor=actor, publish_preview=False)
    except TenantRefused:
        with transaction.atomic():
            tenant.delete()
        raise
    return tenant, outcome


def release_preview_publish(*, release: TenantRelease, sample_rows: int = 5) -> tuple[bool, str]:
    """Prepare the preview site of a release that passed its checks, then put it in preview.

    The preview app's tables (never the live ones) are rebuilt with sample data under the
    deploy lock; only once that worked does the release go into preview, retiring the one
    that was there, and the processes reload. When it fails the release is marked failed
    with the reason (a release in preview must be served by the preview host) and the
    release already in preview stays there, its preview site prepared again (the failed
    attempt dropped its tables). Returns (published, a sentence on the release that stays
    in preview, or "").
    """
    tenant = release.tenant
    label = tenant.preview_app_label
    try:
        with deploy_lock():
            # Read under the lock, as deploys switch statuses under it too.
            staying = release_preview(tenant=tenant)
            tenant_state_write(app_label=label, release_id=release.id, mode=MODE_MAINTENANCE)
            run = _tenant_migrate(
                tenant=tenant, label=label, release=release, reset=True, sample_data=sample_rows
            )
            if not run.ok:
                error = f"The preview could not be prepared:\n{run.output}"
                _release_fail(release=release, error=error)
                note, restore_output = _preview_site_restore(
                    release=staying, sample_rows=sample_rows
                )
                if staying is not None and restore_output:
                    release.error = (
                        f"{error}\nThe preview site of release {staying.number} could not be "
                        f"prepared again:\n{restore_output}"
                    )
                    release.save(update_fields=["error"])
                return False, note
            tenant_state_write(app_label=label, release_id=release.id, mode=MODE_STRICT)
            _release_into_preview(release=release)
    except DeployLockBusy as busy:
        _release_fail(release=release, error=f"The preview could not be prepared: {busy}")
        staying = release_preview(tenant=tenant)
        return False, (
            f"Release {staying.number} stays in preview, with its preview site as it was."
            if staying
            else ""
        )
    processes_reload()
    return True, ""


def _preview_site_restore(*, release: TenantRelease | None, sample_rows: int) -> tuple[str, str]:
    """Prepare again the preview site of the release that stays in preview (the preview
    tables are one set, and a failed preparation of another release dropped them). Returns a
    sentence saying so, and the subprocess's output when that failed too. Called under the
    deploy lock.

    No reload: the processes already run this release's preview code (the releases in
    preview did not change), and the state file written back lets them serve it again.
    """
    if release is None:
        return "", ""
    if not release.preview_files:
        return f"Release {release.number} stays in preview (it has no preview site).", ""
    tenant = release.tenant
    label = tenant.preview_app_label
    run = _tenant_migrate(
        tenant=tenant, label=label, release=release, reset=True, sample_data=sample_rows
    )
    if not run.ok:
        # The state file still names the failed release, so the preview host keeps answering
        # 503 rather than serving this release's code on broken tables.
        return (
            f"Release {release.number} stays in preview and can be deployed, but its preview "
            "site could not be prepared again (see below): the preview host answers 503 until "
            "a spec is applied again."
        ), run.output
    tenant_state_write(app_label=label, release_id=release.id, mode=MODE_STRICT)
    return (
        f"Release {release.number} stays in preview; its preview site was prepared again, "
        "with new sample data."
    ), ""


# --- deploy --------------------------------------------------------------------------------


@dataclass
class DeployOutcome:
    release: TenantRelease
    ok: bool
    backup: TenantBackup | None = None
    error: str = ""
    data_unchanged: bool | None = None
    reload_actions: list[str] = field(default_factory=list)


def _deployable(*, tenant: Tenant, number: int | None) -> TenantRelease:
    if number is None:
        release = release_preview(tenant=tenant)
        if release is None:
            raise TenantRefused(
                f"{tenant.slug} has no release in preview; build one with "
                f"`factory apply {tenant.slug} SPEC_FILE` first."
            )
    else:
        release = release_get(tenant=tenant, number=number)
        if release is None:
            raise TenantRefused(f"{tenant.slug} has no release {number}.")
    if release.status != ReleaseStatus.PREVIEW:
        raise TenantRefused(
            f"Release {release.number} of {tenant.slug} is {release.get_status_display().lower()};"
            " only a release in preview can be deployed (to go back to an older release, use"
            " `factory rollback`)."
        )
    if not release.check_ok:
        raise TenantRefused(
            f"Release {release.number} did not pass its checks; it cannot be deployed."
        )
    live = release_live(tenant=tenant)
    if (live.pk if live else None) != release.base_release_id:
        raise TenantRefused(
            f"Release {release.number} was built on another release than the live one "
            f"({live.number if live else 'none'}); apply the spec again to build on the live "
            "release."
        )
    return release


def release_deploy(
    *, tenant: Tenant, number: int | None = None, actor: Any = None
) -> DeployOutcome:
    """Deploy a release in preview: backup, migrate under the lock, switch, reload.

    On a failed migration the release is marked failed with the error, the tables are
    compared with the backup and restored if anything moved, and the previous release stays
    live.
    """
    _deployable(tenant=tenant, number=number)
    with deploy_lock():
        release = _deployable(tenant=tenant, number=number)  # again, now that we hold the lock
        live = release_live(tenant=tenant)
        backup, snapshot = None, None
        if live is not None:
            backup, snapshot = tenant_backup_take(
                tenant=tenant,
                release=live,
                taken_before=release,
                reason=f"before deploying release {release.number}",
            )
        tenant_state_write(
            app_label=tenant.app_label,
            release_id=release.id,
            mode=change_mode(release.migration_plan),
        )
        run = _tenant_migrate(tenant=tenant, label=tenant.app_label, release=release)
        if not run.ok:
            unchanged = _after_failed_migrate(
                tenant=tenant, live=live, backup=backup, snapshot=snapshot
            )
            tenant_state_write(
                app_label=tenant.app_label,
                release_id=live.id if live else None,
                mode=MODE_STRICT,
            )
            release.status = ReleaseStatus.FAILED
            staying = f"release {live.number} stays live" if live else "no release is live"
            release.error = f"The migration failed; {staying}.\n{run.output}"
            release.save(update_fields=["status", "error"])
            return DeployOutcome(
                release=release, ok=False, backup=backup, error=run.output, data_unchanged=unchanged
            )
        with transaction.atomic():
            if live is not None:
                TenantRelease.objects.filter(pk=live.pk).update(status=ReleaseStatus.RETIRED)
            release.status = ReleaseStatus.LIVE
            release.deployed_at = timezone.now()
            release.error = ""
            release.save(update_fields=["status", "deployed_at", "error"])
    return DeployOutcome(release=release, ok=True, backup=backup, reload_actions=processes_reload())


def _after_failed_migrate(
    *,
    tenant: Tenant,
    live: TenantRelease | None,
    backup: TenantBackup | None,
    snapshot: Mapping[str, Any] | None,
) -> bool:
    """Put the tables back as they were before the failed migration; True when they are."""
    if live is None or backup is None or snapshot is None:
        # A first deploy: no data yet, so no table of the app may remain.
        backups.app_tables_drop(app_label=tenant.app_label)
        return not backups.app_tables(app_label=tenant.app_label)
    if _tables_match(snapshot, app_label=tenant.app_label):
        return True
    run = _restore_release_data(tenant=tenant, release=live, backup=backup)
    return run.ok and _tables_match(snapshot, app_label=tenant.app_label)


# --- upgrade onto the current compiler and kit ---------------------------------------------


@dataclass
class UpgradeOutcome:
    """What ``tenant_upgrade`` did: nothing (``up_to_date``), or a build and maybe a deploy."""

    tenant: Tenant
    live: TenantRelease
    up_to_date: bool = False
    build: BuildOutcome | None = None
    deploy: DeployOutcome | None = None


def tenants_for_upgrade(*, slugs: list[str], every: bool) -> list[Tenant]:
    """The tenants named (each must have a live release), or with ``every`` all tenants
    that have one. Refuses, before anything is built, what cannot be upgraded."""
    slugs = list(dict.fromkeys(slugs))
    if slugs and every:
        raise TenantRefused("Name the tenants to upgrade or give --all, not both.")
    if every:
        return [tenant for tenant in tenants_list() if release_live(tenant=tenant) is not None]
    if not slugs:
        raise TenantRefused(
            "Name the tenants to upgrade, or give --all to upgrade every tenant with a live "
            "release."
        )
    tenants = []
    for slug in slugs:
        tenant = tenant_get(slug=slug)
        if tenant is None:
            raise TenantRefused(
                f"There is no tenant {slug!r}; `factory tenant list` shows the tenants."
            )
        tenants.append(tenant)
    idle = [tenant.slug for tenant in tenants if release_live(tenant=tenant) is None]
    if idle:
        one = len(idle) == 1
        raise TenantRefused(
            f"{', '.join(idle)} {'has' if one else 'have'} no live release, so there is "
            f"nothing to upgrade; leave {'it' if one else 'them'} out or deploy a release "
            "first. Nothing was changed."
        )
    return tenants


def release_on_current_kit(*, tenant: Tenant, release: TenantRelease) -> bool:
    """True when compiling the release's spec today gives exactly its files and migrations.

    The kit's abstract models are inherited, not copied, so a kit change leaves the compiled
    code as it was: only making the migrations against the release's own history (which
    compares them with today's models) shows that the tables are behind. A spec that no
    longer compiles is not current either; the build then says why.
    """
    from factory.tenants.building import ReleaseCodeFailed, release_code_make

    spec = AppSpec.model_validate(release.spec)
    try:
        code, migrations, _plan = release_code_make(
            spec=spec,
            app_label=tenant.app_label,
            base_spec=spec,
            base_migration_files=release.migration_files,
        )
    except ReleaseCodeFailed:
        return False
    return code == release.files and migrations == release.migration_files


def tenant_upgrade(*, tenant: Tenant, deploy: bool = True, actor: Any = None) -> UpgradeOutcome:
    """Bring the tenant's live app onto the factory's current compiler and kit.

    Builds a release from the live release's spec, exactly as ``factory apply`` would (same
    checks, change classification, migrations against the live release's history), and
    deploys it (backup, lock, migrate, reload); with ``deploy`` false it stays in preview,
    with its preview site prepared. When the spec compiles today to the live release's
    files, nothing is built. A release waiting in preview was built on the live release and
    is replaced by this one. Refused (``TenantRefused``) when no release is live.
    """
    live = release_live(tenant=tenant)
    if live is None:
        raise TenantRefused(
            f"{tenant.slug} has no live release, so there is nothing to upgrade; deploy a "
            f"release first with `factory deploy {tenant.slug}`."
        )
    outcome = UpgradeOutcome(tenant=tenant, live=live)
    if release_on_current_kit(tenant=tenant, release=live):
        outcome.up_to_date = True
        return outcome
    # The preview site is prepared only for a release that stays in preview: once deployed,
    # a release is served by the live host and its preview app is no longer loaded.
    outcome.build = release_build(
        tenant=tenant,
        spec=AppSpec.model_validate(live.spec),
        actor=actor,
        publish_preview=not deploy,
    )
    if outcome.build.ok and deploy:
        outcome.deploy = release_deploy(
            tenant=tenant, number=outcome.build.release.number, actor=actor
        )
    return outcome


# --- rollback ------------------------------------------------------------------------------


@dataclass
class RollbackPlan:
    tenant: Tenant
    current: TenantRelease
    target: TenantRelease
    backup: TenantBackup
    changes: dict[str, backups.TableChanges]
    dropped_columns: dict[str, list[str]]

    @property
    def rows_lost(self) -> int:
        return sum(change.total for change in self.changes.values())

    def sentences(self) -> list[str]:
        lines = [
            f"Rolling {self.tenant.slug} back from release {self.current.number} to release "
            f"{self.target.number} restores the code of release {self.target.number} and the "
            f"data as of {self.backup.created_at:%Y-%m-%d %H:%M:%S} UTC "
            f"({self.backup.reason}, {self.backup.row_count:,} rows)."
        ]
        if not self.changes and not self.dropped_columns:
            lines.append("Nothing written since that backup would be lost.")
        else:
            lines.append(f"What would be lost ({self.rows_lost:,} rows written since the backup):")
            for table, change in self.changes.items():
                lines.append(
                    f"- {table}: {change.added:,} added, {change.changed:,} changed, "
                    f"{change.removed:,} removed since the backup"
                )
            for table, columns in self.dropped_columns.items():
                lines.append(
                    f"- {table}: the values of {', '.join(columns)} (added after release "
                    f"{self.target.number})"
                )
        return lines


def _rollback_target(
    *, tenant: Tenant, current: TenantRelease, number: int | None
) -> TenantRelease:
    if number is None:
        last = tenant.backups.filter(taken_before=current).order_by("-created_at", "-id").first()
        if last is None:
            raise TenantRefused(
                f"Release {current.number} of {tenant.slug} was not deployed over another "
                "release; there is nothing to roll back to."
            )
        return last.release
    target = release_get(tenant=tenant, number=number)
    if target is None:
        raise TenantRefused(f"{tenant.slug} has no release {number}.")
    if target.pk == current.pk:
        raise TenantRefused(f"Release {number} is already live; nothing to roll back.")
    if target.status != ReleaseStatus.RETIRED:
        raise TenantRefused(
            f"Release {number} was never live (it is {target.get_status_display().lower()}); "
            "a rollback returns to a release that was live before."
        )
    return target


def _columns_of(snapshot: Mapping[str, Any]) -> dict[str, set[str]]:
    return {table: set(content["columns"]) for table, content in snapshot["tables"].items()}


def rollback_plan(*, tenant: Tenant, number: int | None = None) -> RollbackPlan:
    """What a rollback would do and lose; reads only."""
    current = release_live(tenant=tenant)
    if current is None:
        raise TenantRefused(f"{tenant.slug} has no live release; there is nothing to roll back.")
    target = _rollback_target(tenant=tenant, current=current, number=number)
    backup = backup_for_rollback_to(tenant=tenant, release=target)
    if backup is None or not backup_file(backup).exists():
        raise TenantRefused(
            f"There is no backup of {tenant.slug}'s data under release {target.number}; the "
            "rollback cannot restore it."
        )
    expected = sorted(
        Path(path).stem for path in target.migration_files if Path(path).stem != "__init__"
    )
    if sorted(backup.migrations) != expected:
        raise TenantRefused(
            f"The backup of release {target.number} was taken at another migration state than "
            "that release's; it cannot be restored with its code."
        )
    before = backups.snapshot_read(path=backup_file(backup))
    now = backups.tables_snapshot(app_label=tenant.app_label)
    common = {
        table: sorted(columns & _columns_of(now).get(table, set()))
        for table, columns in _columns_of(before).items()
    }
    dropped = {
        table: sorted(columns - set(common.get(table, [])))
        for table, columns in _columns_of(now).items()
        if table in common and columns - set(common[table])
    }
    changes = backups.snapshots_compare(
        before=backups.snapshot_project(before, common), after=backups.snapshot_project(now, common)
    )
    return RollbackPlan(
        tenant=tenant,
        current=current,
        target=target,
        backup=backup,
        changes=changes,
        dropped_columns=dropped,
    )


@dataclass
class RollbackOutcome:
    plan: RollbackPlan
    ok: bool
    safety_backup: TenantBackup
    error: str = ""
    reload_actions: list[str] = field(default_factory=list)


def release_rollback(
    *, tenant: Tenant, number: int | None = None, actor: Any = None
) -> RollbackOutcome:
    """Roll back to an earlier release: its code, and the data of its last backup.

    Takes a safety backup of the current tables first (so the rollback itself can be undone
    with ``rollback`` to the current release). If the restore fails, the current release's
    tables are restored from that safety backup and it stays live.
    """
    with deploy_lock():
        plan = rollback_plan(tenant=tenant, number=number)
        safety, _snapshot = tenant_backup_take(
            tenant=tenant,
            release=plan.current,
            taken_before=plan.target,
            reason=f"before rolling back to release {plan.target.number}",
        )
        label = tenant.app_label
        tenant_state_write(app_label=label, release_id=plan.target.id, mode=MODE_MAINTENANCE)
        run = _restore_release_data(tenant=tenant, release=plan.target, backup=plan.backup)
        if not run.ok:
            _restore_release_data(tenant=tenant, release=plan.current, backup=safety)
            tenant_state_write(app_label=label, release_id=plan.current.id, mode=MODE_STRICT)
            return RollbackOutcome(plan=plan, ok=False, safety_backup=safety, error=run.output)
        tenant_state_write(app_label=label, release_id=plan.target.id, mode=MODE_STRICT)
        with transaction.atomic():
            TenantRelease.objects.filter(pk=plan.current.pk).update(status=ReleaseStatus.RETIRED)
            TenantRelease.objects.filter(pk=plan.target.pk).update(
                status=ReleaseStatus.LIVE, deployed_at=timezone.now()
            )
    return RollbackOutcome(
        plan=plan, ok=True, safety_backup=safety, reload_actions=processes_reload()
    )
