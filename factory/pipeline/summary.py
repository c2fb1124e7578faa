"""The plain-language summary a builder reads before deploying: what changes, what data
each change touches, what was assumed, what is left open.

Built from the release's change plan (``factory.evolution``: each change classified safe,
needs a default or destructive, with the live values it touches counted) when the tenant
has a live release, or from the difference with the template for a first release, whose
tables start empty. Reads only; returns text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from factory.evolution.diff import ChangeClass, spec_diff
from factory.evolution.impact import CLASS_WORDS, spec_diff_uncounted
from factory.spec.models import AppSpec

MAX_LISTED_CHANGES = 60


def release_changes(
    *, base_spec: AppSpec, spec: AppSpec, migration_plan: Mapping[str, Any], first_release: bool
) -> tuple[list[dict[str, Any]], bool]:
    """(the changes as {classification, sentence}, whether live values were counted)."""
    if not first_release and migration_plan.get("changes") is not None:
        changes = [
            {
                "classification": item.get("classification", ChangeClass.SAFE),
                "sentence": item.get("impact") or item.get("sentence", ""),
            }
            for item in migration_plan["changes"]
        ]
        return changes, bool(migration_plan.get("counted"))
    impact = spec_diff_uncounted(spec_diff(old=base_spec, new=spec))
    return (
        [
            {"classification": item.change.classification.value, "sentence": item.sentence}
            for item in impact.impacts
        ],
        False,
    )


def change_summary_text(
    *,
    tenant_name: str,
    release_number: int,
    changes: Sequence[Mapping[str, Any]],
    counted: bool,
    first_release: bool,
    assumptions: Sequence[str] = (),
    open_points: Sequence[str] = (),
    pending: Sequence[str] = (),
) -> str:
    lines = [f"Release {release_number} of {tenant_name} is ready in preview."]
    if not changes:
        lines.append("It changes nothing in the app.")
    else:
        count = len(changes)
        lines.append(f"What changes ({count} change{'s' if count != 1 else ''}):")
        for change in changes[:MAX_LISTED_CHANGES]:
            words = CLASS_WORDS.get(ChangeClass(change["classification"]), "safe")
            lines.append(f"- [{words}] {change['sentence']}.")
        if count > MAX_LISTED_CHANGES:
            lines.append(f"- … and {count - MAX_LISTED_CHANGES} more (see the spec diff).")
    if first_release:
        lines.append(
            "Data touched: none yet. This is the tenant's first release, so every table starts "
            "empty (the preview has sample rows)."
        )
    elif counted:
        lines.append("Data touched: the counts above are the live values each change reaches.")
    else:
        lines.append(
            "Data touched: the live values were not counted here; the deploy backs up every "
            "table first, and a rollback restores it."
        )
    destructive = [item for item in changes if item["classification"] == ChangeClass.DESTRUCTIVE]
    if destructive:
        lines.append(
            f"{len(destructive)} change(s) remove or narrow data: the deploy takes a backup "
            "first, and a rollback restores it."
        )
    for title, items in (
        ("Assumptions (questions nobody answered, or details the request left open)", assumptions),
        ("Open points the QA check left", open_points),
        ("Edits not applied, waiting for your confirmation (they remove data)", pending),
    ):
        if items:
            lines.append(f"{title}:")
            lines += [f"- {item}" for item in items]
    return "\n".join(lines)
