"""Shared fixtures and the services rule: with FACTORY_REQUIRE_SERVICES=1 a test marked
``services`` fails when PostgreSQL, Redis or a worker is missing, instead of skipping."""

from __future__ import annotations

import os
from io import StringIO

import pytest
from django.core.management import call_command


def services_required() -> bool:
    return os.environ.get("FACTORY_REQUIRE_SERVICES", "") in {"1", "true", "yes"}


def skip_or_fail(reason: str) -> None:
    """Skip on a developer machine; fail in CI, where every service must be there."""
    if services_required():
        pytest.fail(f"{reason} (FACTORY_REQUIRE_SERVICES=1, so this is a failure)")
    pytest.skip(reason)


def command_run(*argv: str) -> tuple[int, str, str]:
    """Run a management command in this process: (exit code, stdout, stderr)."""
    out, err = StringIO(), StringIO()
    try:
        call_command(*argv, stdout=out, stderr=err)
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    return code, out.getvalue(), err.getvalue()


def factory_run(*argv: str) -> tuple[int, str, str]:
    """``manage.py factory ARGV`` in this process: (exit code, stdout, stderr)."""
    return command_run("factory", *argv)


@pytest.fixture
def user(db):
    from crm.factories import UserFactory

    return UserFactory(username="alice")


@pytest.fixture
def superuser(db):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_superuser("root", "root@example.com", "password")
