"""The URLconf of a tenant host, built from the tenant's loaded app.

A compiled app ships its own ``urls.py`` (its admin site at ``/`` and its API under
``api/``); this module wraps it in a module of its own per app label and adds the OpenAPI
schema and docs of that API alone at ``api/schema/`` and ``api/docs/``. The app's admin
site gets the tenant access rule: members of the tenant log in, staff status is not needed
(that is the console's). The module is built once per process and label, from code already
imported at start; it never imports an app that is not installed.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

from django.apps import apps
from django.contrib.admin import AdminSite
from django.urls import URLPattern, URLResolver, path

from factory.tenants.auth import TenantAuthenticationForm, tenant_site_has_permission

URLCONF_MODULE_PREFIX = "factory.tenants.runtime.urlconfs."


def _docs_patterns(app_label: str, app_urlconf: str) -> list[URLPattern]:
    from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
    from rest_framework.permissions import IsAuthenticated

    # The schema describes the tenant's data model: its members' business, not public.
    schema_view = SpectacularAPIView.as_view(
        urlconf=app_urlconf,
        permission_classes=[IsAuthenticated],
        custom_settings={
            "TITLE": f"{apps.get_app_config(app_label).verbose_name} API",
            "DESCRIPTION": "Authenticate with a header `Authorization: Api-Key <key>`.",
        },
    )
    docs_view = SpectacularSwaggerView.as_view(
        url_name="tenant-api-schema", permission_classes=[IsAuthenticated]
    )
    return [
        path("api/schema/", schema_view, name="tenant-api-schema"),
        path("api/docs/", docs_view, name="tenant-api-docs"),
    ]


def _has_route(patterns: list[URLPattern | URLResolver], route: str) -> bool:
    return any(str(pattern.pattern) == route for pattern in patterns)


def _admin_sites(patterns: list[URLPattern | URLResolver]) -> set[AdminSite]:
    """The admin sites mounted by these patterns (their views carry ``admin_site``)."""
    sites: set[AdminSite] = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            sites |= _admin_sites(list(pattern.url_patterns))
        elif isinstance(site := getattr(pattern.callback, "admin_site", None), AdminSite):
            sites.add(site)
    return sites


def tenant_site_secure(site: AdminSite) -> None:
    """Admit the tenant's members (checked against the request's tenant) and nobody else."""
    site.has_permission = tenant_site_has_permission  # type: ignore[method-assign]
    site.login_form = TenantAuthenticationForm


def tenant_urlconf(app_label: str) -> str:
    """The dotted name of the URLconf module serving ``app_label`` (built on first use)."""
    name = URLCONF_MODULE_PREFIX + app_label
    if name in sys.modules:
        return name
    if not apps.is_installed(app_label):
        raise LookupError(f"The app {app_label!r} is not loaded in this process.")
    app_urlconf = f"{app_label}.urls"
    app_patterns = list(importlib.import_module(app_urlconf).urlpatterns)
    for site in _admin_sites(app_patterns):
        tenant_site_secure(site)
    module = ModuleType(name, f"URLs of the tenant app {app_label}.")
    docs = [] if _has_route(app_patterns, "api/docs/") else _docs_patterns(app_label, app_urlconf)
    # The docs come first: the app's admin site at "" would otherwise try them as its pages.
    module.urlpatterns = [*docs, *app_patterns]  # type: ignore[attr-defined]
    sys.modules[name] = module
    return name
