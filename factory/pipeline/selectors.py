"""Reads of the pipeline: which requests a user may see, a request's runs, its diffs.

A builder sees the change requests of the tenants where they are a builder (superusers
see every tenant's), through ``change_requests_visible``: the console and the API both
start from it, so neither can reach another tenant's request. Nothing here writes.
"""

from __future__ import annotations

import difflib
from typing import Any

from django.db.models import QuerySet

from factory.agents.models import AgentRun, AgentTurn
from factory.pipeline.models import ChangeRequest
from factory.spec.io import spec_dump
from factory.spec.models import AppSpec
from factory.tenants.models import Tenant, TenantRelease
from factory.tenants.selectors import tenants_visible_in_console

MAX_DIFF_LINES = 4000


def tenants_of_builder(*, user: Any) -> QuerySet[Tenant]:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Tenant.objects.none()
    return tenants_visible_in_console(user=user)


def change_requests_visible(*, user: Any) -> QuerySet[ChangeRequest]:
    return ChangeRequest.objects.filter(tenant__in=tenants_of_builder(user=user)).select_related(
        "tenant", "builder", "release"
    )


def change_request_runs(*, change_request: ChangeRequest) -> QuerySet[AgentRun]:
    return AgentRun.objects.filter(pipeline_step__change_request=change_request).order_by("id")


def change_request_turns(*, change_request: ChangeRequest) -> QuerySet[AgentTurn]:
    return (
        AgentTurn.objects.filter(run__pipeline_step__change_request=change_request)
        .select_related("run", "run__pipeline_step")
        .order_by("run_id", "index")
    )


def _unified(before: str, after: str, *, old_name: str, new_name: str) -> str:
    lines = list(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=old_name,
            tofile=new_name,
        )
    )
    if len(lines) > MAX_DIFF_LINES:
        lines = [*lines[:MAX_DIFF_LINES], f"… {len(lines) - MAX_DIFF_LINES} more lines\n"]
    return "".join(lines)


def change_request_spec_diff(*, change_request: ChangeRequest) -> str:
    """The spec before and after the request, as a unified diff of their YAML."""
    if not change_request.spec_base or not change_request.spec_working:
        return ""
    return _unified(
        spec_dump(AppSpec.model_validate(change_request.spec_base)),
        spec_dump(AppSpec.model_validate(change_request.spec_working)),
        old_name="spec before",
        new_name="spec after",
    )


def release_code_diff(*, release: TenantRelease | None) -> str:
    """The generated code of a release against the release it was built on."""
    if release is None:
        return ""
    base = release.base_release
    before = {**(base.files if base else {}), **(base.migration_files if base else {})}
    after = {**release.files, **release.migration_files}
    parts = []
    for path in sorted(set(before) | set(after)):
        if before.get(path) == after.get(path):
            continue
        parts.append(
            _unified(
                before.get(path, ""),
                after.get(path, ""),
                old_name=f"a/{path}" if path in before else "/dev/null",
                new_name=f"b/{path}" if path in after else "/dev/null",
            )
        )
    return "".join(parts)


def tenant_site_url(*, slug: str, preview: bool = False, request: Any = None) -> str:
    """The address of a tenant's site (or its preview), on the port the console is served
    on, so the link works on a development server too."""
    from django.conf import settings

    from factory.tenants.naming import tenant_host_name

    host = tenant_host_name(slug, base_domain=settings.FACTORY_BASE_DOMAIN, preview=preview)
    scheme, port = "http", ""
    if request is not None:
        scheme = request.scheme
        request_port = request.get_port()
        if request_port not in {"80", "443"}:
            port = f":{request_port}"
    return f"{scheme}://{host}{port}/"


def release_site_url(*, change_request: ChangeRequest, request: Any = None) -> str:
    """Where the request's release can be tried: its preview, or the live site once deployed."""
    release = change_request.release
    if release is None or release.status not in {"preview", "live"}:
        return ""
    return tenant_site_url(
        slug=change_request.tenant.slug, preview=release.status == "preview", request=request
    )
