"""Release builders for pipeline tests.

``spec_only_release_build`` compiles nothing: it records the spec with a passing report, so
the pipeline's own logic (states, agents, merges, summaries) is tested in milliseconds.
``failing_release_build`` reports failed checks. The tests that deploy and serve a tenant
use the tenants tests' builder (real compiler and migrations, no sandbox), and the real
builder runs in the tenants' and compiler's own tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from factory.spec.models import AppSpec
from factory.tenants.building import ReleaseArtifacts

SPEC_ONLY = "tests.pipeline.builders.spec_only_release_build"
FAILING = "tests.pipeline.builders.failing_release_build"
FAST = "tests.tenants.builders.unchecked_release_build"


def spec_only_release_build(
    *,
    spec: AppSpec,
    slug: str,
    base_spec: AppSpec | None,
    base_migration_files: Mapping[str, str],
    fill_values: Mapping[str, Any] | None = None,
    with_preview: bool = True,
) -> ReleaseArtifacts:
    return ReleaseArtifacts(
        files={"__init__.py": "", "models.py": f"# {len(spec.entities)} entities, not compiled\n"},
        migration_files={},
        check_report={"ok": True, "text": "Not checked: the pipeline tests' spec-only builder."},
        ok=True,
    )


def failing_release_build(**kwargs: Any) -> ReleaseArtifacts:
    return ReleaseArtifacts(
        files={"__init__.py": ""},
        migration_files={},
        check_report={"ok": False, "text": "tests: 3 of 40 failed"},
        ok=False,
        error="Sandbox check failed: tests: 3 of 40 failed",
    )
