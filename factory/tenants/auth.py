"""Who may enter a tenant: logins, sessions bound to one host, and per-tenant API keys.

Users are Django users; what they may reach is per tenant (``Membership``). A login on a
tenant host needs a membership of that tenant, and the session it opens is bound to that
host: presented anywhere else it is refused (``TenantAccessMiddleware``). API keys belong
to one membership, are stored as digests, and open only their tenant's API. The console's
DRF tokens are not accepted on tenant hosts. This module checks access; it never grants
roles or writes anything but a key's last-use time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import Any

from django.contrib.auth import user_logged_in
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, TokenAuthentication
from rest_framework.request import Request

from factory.tenants.naming import CONSOLE_HOST
from factory.tenants.selectors import api_key_by_prefix, membership_exists

SESSION_HOST_KEY = "tenants_host"
API_KEY_KEYWORD = "Api-Key"
API_KEY_START = "tk_"
LAST_USED_EVERY = timedelta(minutes=1)


def request_host_key(request: Any) -> str:
    """The site a request is for ("console", "acme", "acme--preview")."""
    return getattr(request, "tenant_host", CONSOLE_HOST).key


def _bind_session_to_host(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_HOST_KEY] = request_host_key(request)


def connect_session_binding() -> None:
    user_logged_in.connect(_bind_session_to_host, dispatch_uid="tenants_bind_session_to_host")


def session_bound_host(request: HttpRequest) -> str:
    """The host a session was opened on; sessions from before the binding are the console's."""
    return request.session.get(SESSION_HOST_KEY, CONSOLE_HOST.key)


class TenantMembershipBackend(ModelBackend):
    """Django's password check, plus: on a tenant host, only that tenant's members log in."""

    def authenticate(self, request: Any, username: Any = None, password: Any = None, **kwargs: Any):
        user = super().authenticate(request, username=username, password=password, **kwargs)
        tenant = getattr(request, "tenant", None)
        if (
            user is not None
            and tenant is not None
            and not membership_exists(user=user, tenant=tenant)
        ):
            return None
        return user


class TenantAuthenticationForm(AuthenticationForm):
    """Login form of a tenant's CRM: members log in; staff status is the console's business."""

    required_css_class = "required"
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": (
            "Please enter the correct %(username)s and password of an account of this CRM. "
            "Both fields may be case-sensitive."
        ),
    }


def tenant_site_has_permission(request: HttpRequest) -> bool:
    """A tenant's admin site admits the active members of that tenant, nobody else."""
    tenant = getattr(request, "tenant", None)
    return tenant is not None and membership_exists(user=request.user, tenant=tenant)


# --- API keys ------------------------------------------------------------------------------


def api_key_generate() -> tuple[str, str, str]:
    """A new key: (the full key shown once, its public prefix, the digest to store)."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    key = f"{API_KEY_START}{prefix}.{secret}"
    return key, prefix, api_key_digest(key)


def api_key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_key_prefix(key: str) -> str | None:
    if not key.startswith(API_KEY_START) or "." not in key:
        return None
    return key[len(API_KEY_START) :].split(".", 1)[0] or None


class TenantApiKeyAuthentication(BaseAuthentication):
    """``Authorization: Api-Key tk_...``: a key of this tenant acts as its member.

    An unknown or revoked key gets 401; a valid key of another tenant gets 403 and opens
    nothing; keys are refused on the console, whose API uses the console's own logins.
    """

    def authenticate_header(self, request: Request) -> str:
        return API_KEY_KEYWORD

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        keyword, _, key = header.partition(" ")
        if keyword != API_KEY_KEYWORD:
            return None
        key = key.strip()
        prefix = api_key_prefix(key)
        api_key = api_key_by_prefix(prefix=prefix) if prefix else None
        if (
            api_key is None
            or not hmac.compare_digest(api_key.secret_digest, api_key_digest(key))
            or not api_key.is_active
            or not api_key.membership.user.is_active
        ):
            raise exceptions.AuthenticationFailed("This API key is not valid or was revoked.")
        tenant = getattr(request._request, "tenant", None)
        if tenant is None or api_key.membership.tenant_id != tenant.id:
            raise exceptions.PermissionDenied("This API key does not open this site's API.")
        now = timezone.now()
        if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_EVERY:
            type(api_key).objects.filter(pk=api_key.pk).update(last_used_at=now)
        return api_key.membership.user, api_key


class ConsoleTokenAuthentication(TokenAuthentication):
    """DRF's user tokens, for the console's API only: a token is not scoped to a tenant,
    so on a tenant host it is ignored (and the request stays anonymous)."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        if getattr(request._request, "tenant", None) is not None:
            return None
        return super().authenticate(request)


class TenantApiKeyScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI docs describe the API key (registered by being defined)."""

    target_class = TenantApiKeyAuthentication
    name = "tenantApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "A tenant API key, sent as `Api-Key tk_...`.",
        }
