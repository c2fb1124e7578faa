"""The production builder end to end: compile, make migrations, check in the sandbox (import,
check, makemigrations, migrate on a scratch database, the generated tests) before any
process of the project could load the code. Slow (about 20 s): one small spec, one build."""

from __future__ import annotations

import pytest

from factory.spec.io import spec_load
from factory.tenants.building import release_artifacts_build
from tests.tenants.conftest import WEBSITE_FIELD, company_spec

pytestmark = pytest.mark.django_db


def test_a_release_is_checked_in_the_sandbox_with_its_generated_tests() -> None:
    spec = spec_load(text=company_spec(WEBSITE_FIELD))
    artifacts = release_artifacts_build(
        spec=spec, slug="realbuild", base_spec=None, base_migration_files={}, with_preview=False
    )
    report = artifacts.check_report
    assert artifacts.ok, report["text"]
    assert [step["name"] for step in report["steps"]] == [
        "import",
        "check",
        "makemigrations",
        "migrate",
        "tests",
    ]
    assert report["tests"]["total"] > 0
    assert report["tests"]["passed"] == report["tests"]["total"]
    assert list(artifacts.migration_files) == ["migrations/0001_initial.py"]
    assert "website" in artifacts.files["models.py"]
    assert "class Company(" in artifacts.files["models.py"]
    assert artifacts.migration_plan["new_migrations"] == ["migrations/0001_initial.py"]
