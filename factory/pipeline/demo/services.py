"""Writes of the offline demo: the demo builder, the demo tenant, its sample data.

The demo tenant is an ordinary tenant built by the ordinary pipeline; only its setup lives
here: a builder account with a known password (a demo on a developer's machine, never a
production credential), removing a previous demo tenant cleanly (its tables and rows), and
filling the live app with sample rows in a subprocess that loads the new release.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from factory.pipeline.models import ChangeRequest, RequestState
from factory.tenants import backups
from factory.tenants.models import MembershipRole, Tenant
from factory.tenants.selectors import release_live, tenant_get

DEMO_BUILDER_USERNAME = "builder"
DEMO_BUILDER_PASSWORD = "builder-demo"
DEMO_API_KEY_NAME = "demo"
SAMPLE_ROWS_PER_MODEL = 6


class DemoFailed(RuntimeError):
    pass


@transaction.atomic
def demo_builder_ensure() -> Any:
    """The demo's builder: staff (the console), password reset to the demo one."""
    user, _created = get_user_model().objects.get_or_create(
        username=DEMO_BUILDER_USERNAME, defaults={"email": "builder@example.com"}
    )
    user.is_staff = True
    user.is_active = True
    user.set_password(DEMO_BUILDER_PASSWORD)
    user.save()
    return user


def demo_request_deployed(*, slug: str, request_text: str) -> ChangeRequest | None:
    """The demo's deployed request, when the tenant still runs its release."""
    tenant = tenant_get(slug=slug)
    if tenant is None:
        return None
    live = release_live(tenant=tenant)
    return (
        ChangeRequest.objects.filter(
            tenant=tenant, state=RequestState.DEPLOYED, text=request_text.strip(), release=live
        )
        .exclude(release=None)
        .first()
    )


def scratch_tenant_remove(*, slug: str) -> bool:
    """Remove a demo or eval tenant: its live and preview tables, then its rows (requests,
    releases, backups' records, memberships). Only for tenants made by the demo or evals."""
    tenant = tenant_get(slug=slug)
    if tenant is None:
        return False
    for label in (tenant.app_label, tenant.preview_app_label):
        backups.app_tables_drop(app_label=label)
    with transaction.atomic():
        ChangeRequest.objects.filter(tenant=tenant).delete()
        Tenant.objects.filter(pk=tenant.pk).delete()
    return True


def demo_tenant_create(*, slug: str, name: str, builder: Any) -> Tenant:
    from factory.tenants.services import membership_set, tenant_create

    tenant = tenant_create(slug=slug, name=name, actor=builder)
    membership_set(tenant=tenant, user=builder, role=MembershipRole.BUILDER)
    return tenant


def _run_in_tenant(*, tenant: Tenant, args: list[str]) -> dict[str, Any] | None:
    from factory.tenants.services import tenant_manage

    live = release_live(tenant=tenant)
    if live is None:
        raise DemoFailed(f"{tenant.slug} has no live release to fill with sample data.")
    process = tenant_manage(args=args, pinned={tenant.app_label: live.pk})
    lines = process.stdout.strip().splitlines()
    if process.returncode != 0 or not lines:
        return None
    return json.loads(lines[-1])


def demo_sample_data(*, tenant: Tenant) -> tuple[int, str]:
    """Fill the live app: the demo's realistic rows when they fit the app, else generic
    sample rows per table (a live run's model may have named things differently).
    Returns (rows written, which kind)."""
    from factory.pipeline.demo import SEED_PATH

    seeded = _run_in_tenant(
        tenant=tenant,
        args=["demo_seed", tenant.app_label, "--file", str(SEED_PATH), "--tenant", tenant.slug],
    )
    if seeded is not None:
        return sum(seeded["seeded"].values()), "demo rows"
    generic = _run_in_tenant(
        tenant=tenant,
        args=[
            "tenant_migrate",
            tenant.app_label,
            "--tenant",
            tenant.slug,
            "--sample-data",
            str(SAMPLE_ROWS_PER_MODEL),
        ],
    )
    if generic is None:
        raise DemoFailed("The sample data could not be written in the tenant's app.")
    return sum(generic.get("sample_rows", {}).values()), "generic sample rows"


def demo_api_key(*, tenant: Tenant, builder: Any) -> str:
    """A fresh API key of the tenant for the demo builder (earlier demo keys revoked)."""
    from factory.tenants.models import Membership, TenantApiKey
    from factory.tenants.services import api_key_create, api_key_revoke

    membership = Membership.objects.get(tenant=tenant, user=builder)
    for old in TenantApiKey.objects.filter(
        membership=membership, name=DEMO_API_KEY_NAME, revoked_at=None
    ):
        api_key_revoke(api_key=old)
    _key, secret = api_key_create(membership=membership, name=DEMO_API_KEY_NAME)
    return secret


def demo_console_token(*, builder: Any) -> str:
    from rest_framework.authtoken.models import Token

    token, _created = Token.objects.get_or_create(user=builder)
    return token.key
