"""A faster release builder for tenant tests: the real compiler and migrations, no sandbox.

The production builder (``factory.tenants.building.release_artifacts_build``) also runs the
sandbox check with the generated tests, which costs tens of seconds per release; one test
goes through it. Runtime tests (deploy, rollback, routing, isolation, reload) use this one,
selected with FACTORY_RELEASE_BUILDER=tests.tenants.builders.unchecked_release_build.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from factory.spec.models import AppSpec
from factory.tenants.building import ReleaseArtifacts, release_code_make
from factory.tenants.naming import live_app_label, preview_app_label


def unchecked_release_build(
    *,
    spec: AppSpec,
    slug: str,
    base_spec: AppSpec | None,
    base_migration_files: Mapping[str, str],
    fill_values: Mapping[str, Any] | None = None,
    with_preview: bool = True,
) -> ReleaseArtifacts:
    code, migrations, plan = release_code_make(
        spec=spec,
        app_label=live_app_label(slug),
        base_spec=base_spec,
        base_migration_files=base_migration_files,
        fill_values=fill_values,
    )
    artifacts = ReleaseArtifacts(
        files=code,
        migration_files=migrations,
        check_report={"ok": True, "text": "Not checked: built by the tests' fast builder."},
        ok=True,
        migration_plan=plan,
    )
    if with_preview:
        preview_code, preview_migrations, _plan = release_code_make(
            spec=spec, app_label=preview_app_label(slug), base_spec=None, base_migration_files={}
        )
        artifacts.preview_files = {**preview_code, **preview_migrations}
    return artifacts


BROKEN_PREVIEW_MIGRATION = """from django.db import migrations


def fail(apps, schema_editor):
    raise RuntimeError("the preview migration fails, as this test wants")


class Migration(migrations.Migration):
    dependencies = [({label!r}, {last!r})]
    operations = [migrations.RunPython(fail)]
"""


def preview_breaking_release_build(*, spec: AppSpec, slug: str, **kwargs: Any) -> ReleaseArtifacts:
    """``unchecked_release_build``, whose preview package gets a migration that fails (after
    the preview tables were dropped and rebuilt) when the spec is named "Broken preview"."""
    artifacts = unchecked_release_build(spec=spec, slug=slug, **kwargs)
    if spec.name == "Broken preview" and artifacts.preview_files:
        last = max(
            Path(path).stem
            for path in artifacts.preview_files
            if path.startswith("migrations/0") and path.endswith(".py")
        )
        artifacts.preview_files["migrations/9999_broken.py"] = BROKEN_PREVIEW_MIGRATION.format(
            label=preview_app_label(slug), last=last
        )
    return artifacts
