"""Shared fixtures and the services rule: with FACTORY_REQUIRE_SERVICES=1 a test marked
``services`` fails when PostgreSQL, Redis or a worker is missing, instead of skipping."""

from __future__ import annotations

import os

import pytest


def services_required() -> bool:
    return os.environ.get("FACTORY_REQUIRE_SERVICES", "") in {"1", "true", "yes"}


def skip_or_fail(reason: str) -> None:
    """Skip on a developer machine; fail in CI, where every service must be there."""
    if services_required():
        pytest.fail(f"{reason} (FACTORY_REQUIRE_SERVICES=1, so this is a failure)")
    pytest.skip(reason)


@pytest.fixture
def user(db):
    from crm.factories import UserFactory

    return UserFactory(username="alice")


@pytest.fixture
def superuser(db):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_superuser("root", "root@example.com", "password")
