"""Host routing: which site a request is for, and who may enter it.

``TenantHostMiddleware`` (before sessions and CommonMiddleware) reads the host:
``<slug>.<FACTORY_BASE_DOMAIN>`` serves the tenant's live app through its own URLconf,
``<slug>--preview.<base>`` its preview app, the base domain (and FACTORY_CONSOLE_HOSTS) the
builders' console; any other host, or a tenant whose app this process has not loaded, gets
the same bare 404. While a deploy changes a tenant's tables, requests this process's code
cannot serve get a 503 (``runtime.state``). ``TenantAccessMiddleware`` (after
authentication) refuses a session opened on another host, or whose user is not a member of
this tenant, with a bare 403.
Neither middleware writes anything.
"""

from __future__ import annotations

from collections.abc import Callable

from django.apps import apps
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, HttpResponseNotFound
from django.http.request import split_domain_port

from factory.tenants.auth import session_bound_host
from factory.tenants.naming import CONSOLE_HOST, tenant_host_parse
from factory.tenants.runtime.state import request_held_back
from factory.tenants.runtime.urls import tenant_urlconf
from factory.tenants.selectors import membership_exists, tenant_for_host


def not_found() -> HttpResponse:
    """The same answer for every host or page that does not exist: nothing to learn from it."""
    return HttpResponseNotFound("Not found.\n", content_type="text/plain; charset=utf-8")


def forbidden() -> HttpResponse:
    return HttpResponseForbidden("Forbidden.\n", content_type="text/plain; charset=utf-8")


class TenantHostMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.base_domain = settings.FACTORY_BASE_DOMAIN
        self.console_hosts = frozenset(host.lower() for host in settings.FACTORY_CONSOLE_HOSTS)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        domain, _port = split_domain_port(request.get_host())
        host = tenant_host_parse(
            domain, base_domain=self.base_domain, console_hosts=self.console_hosts
        )
        request.tenant_host = host  # type: ignore[attr-defined]
        request.tenant = None  # type: ignore[attr-defined]
        if host.kind == "console":
            return self.get_response(request)
        if host.kind != "tenant" or host.app_label not in apps.app_configs:
            return not_found()
        tenant = tenant_for_host(slug=host.slug)
        if tenant is None:
            return not_found()
        request.tenant = tenant  # type: ignore[attr-defined]
        held_back = request_held_back(request, host.app_label)
        if held_back is not None:
            return held_back
        request.urlconf = tenant_urlconf(host.app_label)
        return self.get_response(request)


class TenantAccessMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        if session is not None and session.get(SESSION_KEY) is not None:
            host = getattr(request, "tenant_host", CONSOLE_HOST)
            if session_bound_host(request) != host.key:
                return forbidden()
            tenant = getattr(request, "tenant", None)
            if tenant is not None and not membership_exists(user=request.user, tenant=tenant):
                return forbidden()
        return self.get_response(request)
