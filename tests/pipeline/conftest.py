"""Fixtures of the pipeline tests: a tenant with its builder, another tenant with another
builder, the fast spec-only release builder, and ``send``, which runs the steps the
services return in this process (Celery is eager in the tests) once they are committed."""

from __future__ import annotations

import pytest

from tests.pipeline.builders import SPEC_ONLY


@pytest.fixture
def spec_only_builder(settings):
    settings.FACTORY_RELEASE_BUILDER = SPEC_ONLY


@pytest.fixture
def builder(db):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user("ada", password="pw-ada-123", is_staff=True)


@pytest.fixture
def tenant(db, builder):
    from factory.tenants.services import membership_set, tenant_create

    tenant = tenant_create(slug="bikes", name="Velo Rent")
    membership_set(tenant=tenant, user=builder, role="builder")
    return tenant


@pytest.fixture
def other_builder(db):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user("bob", password="pw-bob-123", is_staff=True)


@pytest.fixture
def other_tenant(db, other_builder):
    from factory.tenants.services import membership_set, tenant_create

    tenant = tenant_create(slug="hotel", name="Hotel Mar")
    membership_set(tenant=tenant, user=other_builder, role="builder")
    return tenant


@pytest.fixture
def send(django_capture_on_commit_callbacks):
    from factory.pipeline.tasks import steps_send

    def run(steps):
        with django_capture_on_commit_callbacks(execute=True):
            steps_send(steps)

    return run
