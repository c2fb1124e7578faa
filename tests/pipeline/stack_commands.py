"""Commands run inside a pipeline test stack (``python -m tests.pipeline.stack_commands``).

The stack's processes share its own database; this module does, in a fresh process with
the stack's settings, what a test needs written there: ``setup`` a tenant with its builder,
console token and tenant API key; ``create`` a change request whose scripted agents'
answers are stored in the request (so that the worker that runs the steps plays them).
It prints one JSON line.
"""

from __future__ import annotations

import json
import os
import sys


def setup(slug: str, name: str) -> dict:
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from factory.tenants.services import api_key_create, membership_set, tenant_create

    user = get_user_model().objects.create_user("ada", password="pw-ada-123", is_staff=True)
    tenant = tenant_create(slug=slug, name=name)
    membership = membership_set(tenant=tenant, user=user, role="builder")
    _key, secret = api_key_create(membership=membership, name="tests")
    return {"token": Token.objects.create(user=user).key, "api_key": secret}


def create(slug: str) -> dict:
    from django.contrib.auth import get_user_model

    from factory.pipeline.services import change_request_create
    from factory.pipeline.tasks import steps_send
    from factory.tenants.models import Tenant
    from tests.pipeline import scripts

    change_request, steps = change_request_create(
        tenant=Tenant.objects.get(slug=slug),
        builder=get_user_model().objects.get(username="ada"),
        text=scripts.REQUEST,
        provider_config=scripts.scripted(),
    )
    steps_send(steps)
    return {"id": change_request.pk}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    import django

    django.setup()
    command, *arguments = sys.argv[1:]
    result = {"setup": setup, "create": create}[command](*arguments)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
