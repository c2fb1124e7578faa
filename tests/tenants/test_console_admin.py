"""The builders' console: a builder reaches only the tenants they build; nothing else."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import path

from factory.tenants.models import Membership, ReleaseStatus, Tenant, TenantRelease
from factory.tenants.services import membership_set

urlpatterns = [path("admin/", admin.site.urls)]

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.tenants.test_console_admin")]


@pytest.fixture
def console(client):
    users = get_user_model().objects
    carol = users.create_user("carol", password="carol-password-1")
    acme = Tenant.objects.create(slug="acme", name="Acme")
    beta = Tenant.objects.create(slug="beta", name="Beta")
    membership_set(tenant=acme, user=carol, role="builder")
    membership_set(tenant=beta, user=carol, role="viewer")  # a member, not a builder, of beta
    for tenant in (acme, beta):
        TenantRelease.objects.create(
            tenant=tenant, number=1, status=ReleaseStatus.LIVE, spec={"name": tenant.name}
        )
    client.force_login(carol)
    return {"client": client, "carol": carol, "acme": acme, "beta": beta}


def test_a_builder_becomes_staff_with_view_rights_on_tenants(console) -> None:
    carol = console["carol"]
    carol.refresh_from_db()
    assert carol.is_staff
    assert not carol.is_superuser
    assert carol.has_perm("tenants.view_tenant")
    assert not carol.has_perm("tenants.change_tenantrelease")
    assert set(carol.groups.values_list("name", flat=True)) == {
        "Factory builders",
        "t_acme: Admin",
        "p_acme: Admin",
        "t_beta: Read-only",
        "p_beta: Read-only",
    }


def test_the_console_lists_only_the_builders_tenants(console) -> None:
    client = console["client"]
    page = client.get("/admin/tenants/tenant/")
    assert page.status_code == 200
    assert list(page.context["cl"].queryset.values_list("slug", flat=True)) == ["acme"]
    releases = client.get("/admin/tenants/tenantrelease/")
    assert releases.status_code == 200
    assert list(releases.context["cl"].queryset.values_list("tenant__slug", flat=True)) == ["acme"]


def test_another_tenants_page_is_not_reachable_and_nothing_changes(console) -> None:
    client, beta = console["client"], console["beta"]
    before = _state()
    for url in (
        f"/admin/tenants/tenant/{beta.pk}/change/",
        f"/admin/tenants/tenantrelease/{beta.releases.get().pk}/change/",
    ):
        answer = client.get(url)
        assert answer.status_code == 302  # "does not exist" back to the console's index
        assert answer["Location"] == "/admin/"
    answer = client.post(f"/admin/tenants/tenant/{beta.pk}/change/", {"name": "Taken over"})
    assert answer.status_code == 403  # a viewer of beta may look, never change
    assert _state() == before
    assert Tenant.objects.get(pk=beta.pk).name == "Beta"


def _state() -> dict[str, list[dict]]:
    """Every row of the tenants' tables: to assert nothing changed."""
    return {
        model.__name__: list(model.objects.order_by("pk").values())
        for model in (Tenant, Membership, TenantRelease)
    }


def test_a_superuser_sees_every_tenant(client, superuser, console) -> None:
    client.force_login(superuser)
    page = client.get("/admin/tenants/tenant/")
    assert list(page.context["cl"].queryset.values_list("slug", flat=True)) == ["acme", "beta"]
