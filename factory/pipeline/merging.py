"""Merging the patches that specialists made in parallel, with conflict detection.

Specialists of one wave all start from the same spec. Each one's patch is a list of tool
calls (``SpecOperation``); merging re-applies them, task after task in plan order, through
the same checked tools (``spec_patch_apply``), so the merged spec is valid by
construction. Two patches conflict when they change the same part of the spec (the same
field, the same list of columns, the same role's permission on an entity), even if both
would apply: the later one would silently overwrite the earlier. A conflicting patch is
left out and its task reported, so the pipeline can run it again on the merged spec.

Pure functions on specs: no database, no model, no Celery.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from factory.agents.tools import SpecOperation, SpecPatchError, spec_patch_apply
from factory.spec.models import AppSpec

SpecPath = tuple[str, ...]
# What identifies an item of a list of objects in the spec (entities, fields, options...).
IDENTITY_KEYS = ("id", "key", "value")


def _identity(item: Any) -> str | None:
    if not isinstance(item, Mapping):
        return None
    for key in IDENTITY_KEYS:
        if isinstance(item.get(key), str):
            return f"{key}={item[key]}"
    return None


def _keyed(items: Sequence[Any]) -> dict[str, Any] | None:
    """A list of identified objects as a mapping, or None when it is a plain value list."""
    keyed: dict[str, Any] = {}
    for item in items:
        identity = _identity(item)
        if identity is None or identity in keyed:
            return None
        keyed[identity] = item
    return keyed


def spec_changed_paths(before: Any, after: Any, prefix: SpecPath = ()) -> set[SpecPath]:
    """The smallest parts of the spec that differ, as paths of keys and item identities.

    Lists of objects are compared by identity (an entity by its id, an option by its value),
    so adding two different fields to one entity changes two different paths; a list of
    plain values (the columns of a list screen) is one value.
    """
    if before == after:
        return set()
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        paths: set[SpecPath] = set()
        for key in set(before) | set(after):
            paths |= spec_changed_paths(before.get(key), after.get(key), (*prefix, str(key)))
        return paths
    if isinstance(before, list) and isinstance(after, list):
        old, new = _keyed(before), _keyed(after)
        if old is not None and new is not None:
            paths = set()
            for identity in set(old) | set(new):
                paths |= spec_changed_paths(
                    old.get(identity), new.get(identity), (*prefix, identity)
                )
            if [_identity(item) for item in before if _identity(item) in new] != [
                _identity(item) for item in after if _identity(item) in old
            ]:
                paths.add((*prefix, "(order)"))
            return paths
    return {prefix}


def paths_overlap(first: Iterable[SpecPath], second: Iterable[SpecPath]) -> list[SpecPath]:
    """Paths of ``first`` equal to, inside or around a path of ``second``."""
    second = list(second)
    found = []
    for path in first:
        for other in second:
            shorter = min(len(path), len(other))
            if path[:shorter] == other[:shorter]:
                found.append(path if len(path) <= len(other) else other)
                break
    return sorted(set(found))


def path_words(path: SpecPath) -> str:
    return "/".join(part.split("=", 1)[-1] for part in path) or "the whole spec"


@dataclass(frozen=True)
class TaskPatch:
    key: str
    operations: tuple[SpecOperation, ...]


@dataclass
class MergeOutcome:
    spec: AppSpec
    merged: list[str] = field(default_factory=list)
    conflicts: dict[str, str] = field(default_factory=dict)  # task key -> why


def patches_merge(base: AppSpec, patches: Sequence[TaskPatch]) -> MergeOutcome:
    """Apply the patches of one wave to ``base`` in order; leave out those that conflict."""
    base_data = base.to_jsonable()
    outcome = MergeOutcome(spec=base)
    touched: dict[str, set[SpecPath]] = {}
    for patch in patches:
        try:
            alone = spec_patch_apply(base, list(patch.operations))
        except SpecPatchError as error:
            outcome.conflicts[patch.key] = f"its edits no longer apply to the spec: {error}"
            continue
        paths = spec_changed_paths(base_data, alone.to_jsonable())
        clashes = {
            other: overlap
            for other, other_paths in touched.items()
            if (overlap := paths_overlap(paths, other_paths))
        }
        if clashes:
            outcome.conflicts[patch.key] = "; ".join(
                f"task {other} changed {', '.join(path_words(path) for path in overlap)} too"
                for other, overlap in clashes.items()
            )
            continue
        try:
            outcome.spec = spec_patch_apply(outcome.spec, list(patch.operations))
        except SpecPatchError as error:
            outcome.conflicts[patch.key] = (
                f"its edits do not apply on top of the other tasks' edits: {error}"
            )
            continue
        touched[patch.key] = paths
        outcome.merged.append(patch.key)
    return outcome
