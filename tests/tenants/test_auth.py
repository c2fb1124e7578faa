"""Per-tenant access: API keys (hashed, scoped, revocable), logins needing a membership,
sessions bound to their host, console tokens kept off tenant hosts."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import RequestFactory
from rest_framework import exceptions
from rest_framework.authtoken.models import Token
from rest_framework.request import Request

from factory.tenants.auth import (
    ConsoleTokenAuthentication,
    TenantApiKeyAuthentication,
    TenantMembershipBackend,
    api_key_digest,
    api_key_prefix,
    tenant_site_has_permission,
)
from factory.tenants.models import Membership, Tenant, TenantApiKey
from factory.tenants.naming import TenantHost
from factory.tenants.services import api_key_create, api_key_revoke, membership_set

pytestmark = pytest.mark.django_db


@pytest.fixture
def tenants() -> dict[str, Any]:
    users = get_user_model().objects
    alice = users.create_user("alice", password="alice-password-1")
    bob = users.create_user("bob", password="bob-password-1")
    acme = Tenant.objects.create(slug="acme", name="Acme")
    beta = Tenant.objects.create(slug="beta", name="Beta")
    alice_membership = membership_set(tenant=acme, user=alice, role="admin")
    membership_set(tenant=beta, user=bob, role="viewer")
    api_key, key = api_key_create(membership=alice_membership, name="website")
    return {"alice": alice, "bob": bob, "acme": acme, "beta": beta, "api_key": api_key, "key": key}


def _api_request(tenant: Tenant | None, header: str = "") -> Request:
    django_request = RequestFactory().get("/api/companies/", HTTP_AUTHORIZATION=header)
    django_request.tenant = tenant
    return Request(django_request)


def test_an_api_key_is_shown_once_and_stored_as_a_digest(tenants) -> None:
    api_key, key = tenants["api_key"], tenants["key"]
    assert key.startswith("tk_")
    assert api_key_prefix(key) == api_key.prefix
    assert api_key.secret_digest == api_key_digest(key)
    stored = TenantApiKey.objects.values_list("prefix", "secret_digest", "name").get()
    assert key not in "".join(stored)


def test_an_api_key_authenticates_on_its_tenant(tenants) -> None:
    user, api_key = TenantApiKeyAuthentication().authenticate(
        _api_request(tenants["acme"], f"Api-Key {tenants['key']}")
    )
    assert (user, api_key) == (tenants["alice"], tenants["api_key"])
    api_key.refresh_from_db()
    assert api_key.last_used_at is not None


ELSEWHERE = "This API key does not open this site's API."
NOT_VALID = "This API key is not valid or was revoked."


@pytest.mark.parametrize(
    ("where", "header", "error", "message"),
    [
        ("beta", "valid", exceptions.PermissionDenied, ELSEWHERE),
        ("console", "valid", exceptions.PermissionDenied, ELSEWHERE),
        ("acme", "Api-Key tk_000000000000.wrong", exceptions.AuthenticationFailed, NOT_VALID),
        ("acme", "tampered", exceptions.AuthenticationFailed, NOT_VALID),
        ("acme", "Api-Key not-a-key", exceptions.AuthenticationFailed, NOT_VALID),
    ],
)
def test_a_key_is_refused_elsewhere_or_when_wrong(tenants, where, header, error, message) -> None:
    key = tenants["key"]
    header = {"valid": f"Api-Key {key}", "tampered": f"Api-Key {key[:-2]}xx"}.get(header, header)
    tenant = None if where == "console" else tenants[where]
    before = list(TenantApiKey.objects.values())
    with pytest.raises(error) as raised:
        TenantApiKeyAuthentication().authenticate(_api_request(tenant, header))
    assert str(raised.value.detail) == message
    assert list(TenantApiKey.objects.values()) == before
    assert TenantApiKey.objects.get().last_used_at is None


def test_a_revoked_key_or_an_inactive_member_opens_nothing(tenants) -> None:
    api_key_revoke(api_key=tenants["api_key"])
    _other, key = api_key_create(membership=Membership.objects.get(user__username="bob"), name="x")
    tenants["bob"].is_active = False
    tenants["bob"].save()
    before = list(TenantApiKey.objects.order_by("pk").values())
    assert before[0]["revoked_at"] is not None
    with pytest.raises(exceptions.AuthenticationFailed) as revoked:
        TenantApiKeyAuthentication().authenticate(
            _api_request(tenants["acme"], f"Api-Key {tenants['key']}")
        )
    with pytest.raises(exceptions.AuthenticationFailed) as inactive:
        TenantApiKeyAuthentication().authenticate(_api_request(tenants["beta"], f"Api-Key {key}"))
    assert (str(revoked.value.detail), str(inactive.value.detail)) == (NOT_VALID, NOT_VALID)
    assert list(TenantApiKey.objects.order_by("pk").values()) == before
    assert [row["last_used_at"] for row in before] == [None, None]


def test_other_authorization_schemes_are_left_to_other_classes(tenants) -> None:
    assert TenantApiKeyAuthentication().authenticate(_api_request(tenants["acme"])) is None
    bearer = _api_request(tenants["acme"], "Bearer something")
    assert TenantApiKeyAuthentication().authenticate(bearer) is None


def test_console_tokens_do_not_open_tenant_apis(tenants) -> None:
    token = Token.objects.create(user=tenants["alice"])
    header = f"Token {token.key}"
    assert ConsoleTokenAuthentication().authenticate(_api_request(tenants["acme"], header)) is None
    user, _token = ConsoleTokenAuthentication().authenticate(_api_request(None, header))
    assert user == tenants["alice"]


def _login_request(tenant: Tenant | None) -> Any:
    request = RequestFactory().post("/login/")
    request.tenant = tenant
    return request


def test_a_login_on_a_tenant_host_needs_a_membership_of_that_tenant(tenants) -> None:
    backend = TenantMembershipBackend()
    credentials = {"username": "alice", "password": "alice-password-1"}
    assert backend.authenticate(_login_request(tenants["acme"]), **credentials) == tenants["alice"]
    assert backend.authenticate(_login_request(tenants["beta"]), **credentials) is None
    assert backend.authenticate(_login_request(None), **credentials) == tenants["alice"]
    wrong = {"username": "alice", "password": "nope"}
    assert backend.authenticate(_login_request(tenants["acme"]), **wrong) is None


def test_a_tenant_admin_site_admits_members_only(tenants) -> None:
    request = RequestFactory().get("/")
    request.user = tenants["alice"]
    request.tenant = tenants["acme"]
    assert tenant_site_has_permission(request) is True
    request.tenant = tenants["beta"]
    assert tenant_site_has_permission(request) is False
    request.tenant = None
    assert tenant_site_has_permission(request) is False


def test_a_login_binds_the_session_to_its_host(client, tenants) -> None:
    from django.contrib.auth import login

    request = RequestFactory().post("/login/")
    request.session = client.session
    request.tenant_host = TenantHost("tenant", slug="acme")
    request.user = tenants["alice"]
    login(request, tenants["alice"], backend="factory.tenants.auth.TenantMembershipBackend")
    assert request.session["tenants_host"] == "acme"
