"""Tenant services in this process: refusals that change nothing, memberships and their role
groups, and ``tenant create`` starting from the template spec. The subprocess side (deploy,
rollback) is covered end to end by ``test_stack``."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from factory.spec.models import AppSpec
from factory.spec.template import template_app_spec
from factory.tenants import services
from factory.tenants.building import ReleaseArtifacts
from factory.tenants.models import (
    Membership,
    ReleaseStatus,
    Tenant,
    TenantApiKey,
    TenantBackup,
    TenantRelease,
)
from factory.tenants.services import (
    TenantRefused,
    api_key_create,
    membership_remove,
    membership_set,
    release_build,
    release_deploy,
    rollback_plan,
    tenant_create,
)
from tests.conftest import factory_run

pytestmark = pytest.mark.django_db


def _state() -> tuple:
    return (
        list(Tenant.objects.values_list("slug", "name")),
        list(TenantRelease.objects.values_list("tenant__slug", "number", "status")),
        TenantBackup.objects.count(),
    )


@pytest.mark.parametrize(
    ("slug", "name", "message"),
    [
        ("Bad Slug", "X", "is not valid"),
        ("www", "X", "is reserved"),
        ("acme", "X", "already exists"),
        ("fresh", "  ", "needs a name"),
    ],
)
def test_tenant_create_refuses_and_changes_nothing(slug: str, name: str, message: str) -> None:
    Tenant.objects.create(slug="acme", name="Acme")
    before = _state()
    with pytest.raises(TenantRefused, match=message):
        tenant_create(slug=slug, name=name)
    assert _state() == before


def test_the_create_command_refuses_a_bad_slug_before_building(monkeypatch) -> None:
    monkeypatch.setattr(services, "release_builder", lambda: pytest.fail("built anyway"))
    code, _out, err = factory_run("tenant", "create", "Not-OK", "--name", "X")
    assert code == 2
    assert "The slug 'Not-OK' is not valid" in err
    assert _state() == ([], [], 0)


def test_tenant_create_clones_the_template_spec_into_release_one(monkeypatch) -> None:
    seen: dict[str, Any] = {}

    def builder(**kwargs: Any) -> ReleaseArtifacts:
        seen.update(kwargs)
        return ReleaseArtifacts({"models.py": ""}, {}, {"ok": True, "text": "checked"}, ok=True)

    def deploy(*, tenant: Tenant, **_kwargs: Any) -> Any:
        seen["deployed"] = tenant.slug
        return services.DeployOutcome(release=tenant.releases.get(), ok=True)

    monkeypatch.setattr(services, "release_builder", lambda: builder)
    monkeypatch.setattr(services, "release_deploy", deploy)
    code, out, err = factory_run("tenant", "create", "acme", "--name", "Acme Recruiting")
    assert code == 0, err
    assert seen["spec"] == template_app_spec()
    assert (seen["slug"], seen["base_spec"], seen["with_preview"]) == ("acme", None, False)
    assert seen["deployed"] == "acme"
    release = TenantRelease.objects.get()
    assert (release.number, release.status) == (1, ReleaseStatus.PREVIEW)
    assert release.spec == template_app_spec().to_jsonable()
    assert "is live at http://acme.localhost/" in out


def test_an_invalid_spec_is_refused_and_nothing_is_built(monkeypatch) -> None:
    monkeypatch.setattr(services, "release_builder", lambda: pytest.fail("built anyway"))
    tenant = Tenant.objects.create(slug="acme", name="Acme")
    before = _state()
    spec = AppSpec(name="No task lists")  # the kit's tasks need two choice lists
    with pytest.raises(TenantRefused, match="task_status"):
        release_build(tenant=tenant, spec=spec)
    assert _state() == before


def test_an_unconfirmed_destructive_change_is_refused_naming_what_it_removes(monkeypatch) -> None:
    from factory.evolution.impact import spec_diff_uncounted

    monkeypatch.setattr(services, "release_builder", lambda: pytest.fail("built anyway"))
    monkeypatch.setattr(
        services, "_live_impact", lambda *, tenant, base, diff: spec_diff_uncounted(diff)
    )
    tenant = Tenant.objects.create(slug="acme", name="Acme")
    template = template_app_spec()
    TenantRelease.objects.create(
        tenant=tenant, number=1, status=ReleaseStatus.LIVE, spec=template.to_jsonable()
    )
    smaller = template.model_copy(deep=True)
    company = smaller.entity("company")
    company.fields = [field for field in company.fields if field.name != "city"]
    company.admin.search_fields = [name for name in company.admin.search_fields if name != "city"]
    company.api.search_fields = [name for name in company.api.search_fields if name != "city"]
    company.api.filter_fields = [name for name in company.api.filter_fields if name != "city"]
    company.api.ordering_fields = [name for name in company.api.ordering_fields if name != "city"]
    company.admin.list_filter = [name for name in company.admin.list_filter if name != "city"]
    company.admin.list_display = [name for name in company.admin.list_display if name != "city"]
    before = _state()
    with pytest.raises(TenantRefused) as refusal:
        release_build(tenant=tenant, spec=smaller)
    text = str(refusal.value)
    assert "destructive" in text
    assert "city" in text
    assert "--confirm-destructive" in text
    assert _state() == before


def test_deploy_refuses_what_cannot_be_deployed() -> None:
    tenant = Tenant.objects.create(slug="acme", name="Acme")
    with pytest.raises(TenantRefused, match="no release in preview"):
        release_deploy(tenant=tenant)
    live = TenantRelease.objects.create(
        tenant=tenant, number=1, status=ReleaseStatus.LIVE, spec={}, check_report={"ok": True}
    )
    failed = TenantRelease.objects.create(
        tenant=tenant,
        number=2,
        status=ReleaseStatus.PREVIEW,
        base_release=live,
        spec={},
        check_report={"ok": False},
    )
    before = _state()
    with pytest.raises(TenantRefused, match="did not pass its checks"):
        release_deploy(tenant=tenant)
    with pytest.raises(TenantRefused, match="only a release in preview"):
        release_deploy(tenant=tenant, number=1)
    with pytest.raises(TenantRefused, match="has no release 9"):
        release_deploy(tenant=tenant, number=9)
    failed.check_report = {"ok": True}
    failed.base_release = None
    failed.save()
    with pytest.raises(TenantRefused, match="built on another release than the live one"):
        release_deploy(tenant=tenant)
    assert _state() == before


def test_rollback_refuses_without_a_live_release_or_to_a_release_never_live() -> None:
    tenant = Tenant.objects.create(slug="acme", name="Acme")
    with pytest.raises(TenantRefused, match="no live release"):
        rollback_plan(tenant=tenant)
    TenantRelease.objects.create(tenant=tenant, number=1, status=ReleaseStatus.LIVE, spec={})
    TenantRelease.objects.create(tenant=tenant, number=2, status=ReleaseStatus.FAILED, spec={})
    with pytest.raises(TenantRefused, match="nothing to roll back to"):
        rollback_plan(tenant=tenant)
    with pytest.raises(TenantRefused, match="was never live"):
        rollback_plan(tenant=tenant, number=2)
    with pytest.raises(TenantRefused, match="already live"):
        rollback_plan(tenant=tenant, number=1)


def test_memberships_follow_roles_and_removal_takes_keys_and_groups_away() -> None:
    user = get_user_model().objects.create_user("dana", password="dana-password-1")
    tenant = Tenant.objects.create(slug="acme", name="Acme")
    membership = membership_set(tenant=tenant, user=user, role="member")
    assert set(user.groups.values_list("name", flat=True)) == {"t_acme: Member", "p_acme: Member"}
    membership_set(tenant=tenant, user=user, role="viewer")
    assert set(user.groups.values_list("name", flat=True)) == {
        "t_acme: Read-only",
        "p_acme: Read-only",
    }
    api_key_create(membership=membership, name="sync")
    membership_remove(tenant=tenant, user=user)
    assert not Membership.objects.exists()
    assert not TenantApiKey.objects.exists()
    assert not user.groups.exists()
    assert Group.objects.filter(name="t_acme: Member").exists()


def test_a_role_that_does_not_exist_is_refused() -> None:
    user = get_user_model().objects.create_user("erin", password="erin-password-1")
    tenant = Tenant.objects.create(slug="acme", name="Acme")
    with pytest.raises(TenantRefused, match="is not a role"):
        membership_set(tenant=tenant, user=user, role="owner")
    assert not Membership.objects.exists()
    assert not user.groups.exists()


@pytest.mark.django_db
def test_a_refused_first_build_leaves_no_tenant_behind(monkeypatch):
    def refuse(**kwargs: Any) -> None:
        raise services.TenantRefused("The spec asks for something the factory refuses.")

    monkeypatch.setattr(services, "release_build", refuse)

    with pytest.raises(services.TenantRefused, match="refuses"):
        services.tenant_provision(slug="acme", name="Acme", spec=template_app_spec())

    assert services.Tenant.objects.filter(slug="acme").count() == 0


def test_a_first_build_that_fails_its_checks_keeps_the_tenant_and_says_what_next(
    monkeypatch,
) -> None:
    def builder(**_kwargs: Any) -> ReleaseArtifacts:
        report = {"ok": False, "text": "import failed: boom"}
        return ReleaseArtifacts({"models.py": ""}, {}, report, ok=False, error=report["text"])

    monkeypatch.setattr(services, "release_builder", lambda: builder)
    monkeypatch.setattr(services, "release_deploy", lambda **_: pytest.fail("deployed anyway"))
    code, out, err = factory_run("tenant", "create", "acme", "--name", "Acme Recruiting")
    assert code == 1
    assert out.splitlines()[0] == "Created tenant acme; its release 1 was compiled from the spec."
    release = TenantRelease.objects.get()
    assert (release.tenant.slug, release.number, release.status) == (
        "acme",
        1,
        ReleaseStatus.FAILED,
    )
    assert err == (
        "Release 1 of acme failed its checks and was not deployed:\n"
        "import failed: boom\n"
        "The tenant acme exists without a live release. Once the cause is fixed, build and "
        "deploy a release: `factory apply acme SPEC_FILE`, then `factory deploy acme`.\n"
    )
    assert release.error == "import failed: boom"
    assert TenantBackup.objects.count() == 0
