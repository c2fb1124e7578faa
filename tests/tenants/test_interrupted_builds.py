"""Releases left ``building`` by a build that died (a Celery worker killed mid-build, a
command stopped): the tenant's next build marks them failed, saying what happened, and a
build that is still running is never touched. ``factory apply`` exits 1 when the preview
could not be prepared, keeping that release as failed and the live release as it was.

A killed build is made directly: a release row in ``building`` whose build lock nobody
holds, exactly what a SIGKILLed worker leaves (its lock dies with it)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from factory.spec.io import spec_dump
from factory.spec.template import template_app_spec
from factory.tenants import services
from factory.tenants.building import ReleaseArtifacts
from factory.tenants.locks import build_lock, build_running, deploy_lock
from factory.tenants.models import ReleaseStatus, Tenant, TenantBackup, TenantRelease
from factory.tenants.services import (
    MigrateRun,
    release_build,
    releases_interrupted_settle,
)
from tests.conftest import factory_run

pytestmark = pytest.mark.django_db

INTERRUPTED = (
    "Interrupted: the worker or command building this release stopped before the build finished"
)


def _builder(during: Callable[[], None] = lambda: None, *, preview: bool = False) -> Any:
    """A release builder that passes at once, calling ``during`` while it "builds"."""

    def build(**kwargs: Any) -> ReleaseArtifacts:
        during()
        return ReleaseArtifacts(
            {"models.py": "# built\n"},
            {},
            {"ok": True, "text": "checked"},
            ok=True,
            preview_files={"models.py": "# preview\n"} if preview else {},
        )

    return lambda: build


def _left_building(tenant: Tenant, number: int) -> TenantRelease:
    """What a worker killed in the middle of a build leaves: the row, and no lock."""
    return TenantRelease.objects.create(
        tenant=tenant,
        number=number,
        status=ReleaseStatus.BUILDING,
        spec=template_app_spec().to_jsonable(),
    )


def _releases(tenant: Tenant) -> list[tuple[int, str, str]]:
    return list(tenant.releases.order_by("number").values_list("number", "status", "error"))


def test_a_new_build_fails_the_release_a_killed_build_left_building(monkeypatch) -> None:
    monkeypatch.setattr(services, "release_builder", _builder())
    tenant = Tenant.objects.create(slug="acme", name="Acme")
    _left_building(tenant, 1)

    outcome = release_build(tenant=tenant, spec=template_app_spec(), publish_preview=False)

    assert (outcome.release.number, outcome.release.status) == (2, ReleaseStatus.PREVIEW)
    assert _releases(tenant) == [
        (1, "failed", f"{INTERRUPTED}; release 2 replaced it."),
        (2, "preview", ""),
    ]


def test_a_release_whose_build_still_runs_is_left_building(monkeypatch) -> None:
    monkeypatch.setattr(services, "release_builder", _builder())
    tenant = Tenant.objects.create(slug="acme", name="Acme")
    running = _left_building(tenant, 1)

    with build_lock(release_id=running.pk):  # its build is alive, in another process
        release_build(tenant=tenant, spec=template_app_spec(), publish_preview=False)
        assert releases_interrupted_settle(tenant=tenant) == []
        assert _releases(tenant) == [(1, "building", ""), (2, "preview", "")]

    # That build then dies without writing a status: the next look settles it, once.
    settled = releases_interrupted_settle(tenant=tenant)
    assert [(release.number, release.status) for release in settled] == [(1, "failed")]
    assert releases_interrupted_settle(tenant=tenant) == []
    assert _releases(tenant) == [
        (1, "failed", f"{INTERRUPTED}; nothing of it was previewed or deployed."),
        (2, "preview", ""),
    ]


def test_a_build_holds_its_release_lock_until_the_status_is_final(monkeypatch) -> None:
    tenant = Tenant.objects.create(slug="acme", name="Acme")
    seen: dict[str, Any] = {}

    def during() -> None:
        release = tenant.releases.get()
        seen["during"] = (release.status, build_running(release_id=release.pk))
        # Another build of the same tenant starting now must not take it for dead.
        seen["settled"] = releases_interrupted_settle(tenant=tenant)

    monkeypatch.setattr(services, "release_builder", _builder(during))
    outcome = release_build(tenant=tenant, spec=template_app_spec(), publish_preview=False)

    assert seen == {"during": ("building", True), "settled": []}
    assert build_running(release_id=outcome.release.pk) is False
    assert _releases(tenant) == [(1, "preview", "")]


def test_builds_of_two_tenants_at_once_settle_only_their_own_dead_releases(monkeypatch) -> None:
    acme = Tenant.objects.create(slug="acme", name="Acme")
    beta = Tenant.objects.create(slug="beta", name="Beta")
    _left_building(acme, 1)
    _left_building(beta, 1)
    seen: dict[str, Any] = {}

    def during() -> None:
        if "beta" in seen:
            return
        acme_release = acme.releases.get(number=2)
        seen["beta"] = "started"
        # beta's build runs while acme's is in the middle of its own.
        beta_outcome = release_build(tenant=beta, spec=template_app_spec(), publish_preview=False)
        seen["beta"] = beta_outcome.release.number
        seen["acme while beta built"] = _releases(acme)
        seen["acme still locked"] = build_running(release_id=acme_release.pk)

    monkeypatch.setattr(services, "release_builder", _builder(during))
    release_build(tenant=acme, spec=template_app_spec(), publish_preview=False)

    assert seen == {
        "beta": 2,
        "acme while beta built": [
            (1, "failed", f"{INTERRUPTED}; release 2 replaced it."),
            (2, "building", ""),
        ],
        "acme still locked": True,
    }
    for tenant in (acme, beta):
        assert _releases(tenant) == [
            (1, "failed", f"{INTERRUPTED}; release 2 replaced it."),
            (2, "preview", ""),
        ]


def test_a_build_that_raises_fails_its_release_and_frees_its_lock(monkeypatch) -> None:
    def broken() -> None:
        raise RuntimeError("the compiler crashed")

    monkeypatch.setattr(services, "release_builder", _builder(broken))
    tenant = Tenant.objects.create(slug="acme", name="Acme")

    with pytest.raises(RuntimeError, match="the compiler crashed"):
        release_build(tenant=tenant, spec=template_app_spec(), publish_preview=False)

    release = tenant.releases.get()
    assert build_running(release_id=release.pk) is False
    assert _releases(tenant) == [
        (1, "failed", "The build stopped: RuntimeError('the compiler crashed')")
    ]


# --- factory apply when the preview cannot be prepared ---------------------------------------


@pytest.fixture
def live_tenant(monkeypatch, settings, tmp_path: Path) -> Tenant:
    """acme with release 1 live, a spec file for release 2, and a builder that passes."""
    from factory.evolution.impact import spec_diff_uncounted

    settings.FACTORY_APPS_DIR = tmp_path / "apps"
    monkeypatch.setattr(services, "release_builder", _builder(preview=True))
    monkeypatch.setattr(
        services, "_live_impact", lambda *, tenant, base, diff: spec_diff_uncounted(diff)
    )
    tenant = Tenant.objects.create(slug="acme", name="Acme")
    TenantRelease.objects.create(
        tenant=tenant,
        number=1,
        status=ReleaseStatus.LIVE,
        spec=template_app_spec().to_jsonable(),
        files={"models.py": "# release 1\n"},
        check_report={"ok": True},
    )
    (tmp_path / "spec.yaml").write_text(spec_dump(template_app_spec()), encoding="utf-8")
    return tenant


def _live_row(tenant: Tenant) -> dict[str, Any]:
    return TenantRelease.objects.values().get(tenant=tenant, number=1)


def test_apply_exits_1_when_the_preview_could_not_be_prepared(
    live_tenant: Tenant, monkeypatch, settings, tmp_path: Path
) -> None:
    migrated: list[str] = []

    def migrate_fails(*, tenant: Tenant, label: str, **kwargs: Any) -> MigrateRun:
        migrated.append(label)
        return MigrateRun(ok=False, output="sample data: IntegrityError on p_acme_company")

    monkeypatch.setattr(services, "_tenant_migrate", migrate_fails)
    live_before = _live_row(live_tenant)

    code, out, err = factory_run("apply", "acme", str(tmp_path / "spec.yaml"))

    assert code == 1
    assert err == (
        "Release 2 of acme passed its checks, but its preview could not be prepared, so it is "
        "kept as failed and cannot be deployed. Release 1 stays live, with its data as before. "
        "Apply the spec again once the reason below is fixed.\n"
        "The preview could not be prepared:\nsample data: IntegrityError on p_acme_company\n"
    )
    assert "is in preview" not in out
    assert migrated == ["p_acme"]  # only the preview's tables; the live ones never
    assert _releases(live_tenant) == [
        (1, "live", ""),
        (
            2,
            "failed",
            "The preview could not be prepared:\nsample data: IntegrityError on p_acme_company",
        ),
    ]
    assert _live_row(live_tenant) == live_before
    assert TenantBackup.objects.count() == 0


def test_apply_exits_1_when_another_deploy_holds_the_lock(
    live_tenant: Tenant, monkeypatch, settings, tmp_path: Path
) -> None:
    settings.FACTORY_DEPLOY_LOCK_TIMEOUT = 0.2
    monkeypatch.setattr(
        services, "_tenant_migrate", lambda **kwargs: pytest.fail("migrated without the lock")
    )
    live_before = _live_row(live_tenant)

    with deploy_lock(timeout=0):
        code, _out, err = factory_run("apply", "acme", str(tmp_path / "spec.yaml"))

    busy = (
        "The preview could not be prepared: Another deploy or rollback is running on this "
        "database (waited 0 s); try again when it has finished."
    )
    assert code == 1
    assert err.endswith(
        f"Release 1 stays live, with its data as before. Apply the spec again "
        f"once the reason below is fixed.\n{busy}\n"
    )
    assert _releases(live_tenant) == [(1, "live", ""), (2, "failed", busy)]
    assert _live_row(live_tenant) == live_before
    assert TenantBackup.objects.count() == 0
