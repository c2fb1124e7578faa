"""What a process may serve while a tenant's tables are changing under it.

Between a migration and the moment the reloaded workers take over, the old workers still
run the previous release's code against the new tables. Whether that is harmless depends
on the change, so deploys, previews and rollbacks write a small state file per app label
(``FACTORY_APPS_DIR/<label>.state``) naming the release the tables belong to and a mode:

- ``additive`` (only new tables, new optional columns, relabels...): old code can still read,
  so GET, HEAD and OPTIONS pass; writes get 503 with Retry-After until the process runs
  that release (an insert could miss a new NOT NULL column);
- ``strict`` (renames, removals, narrowing, a rollback): every request gets 503 until then;
- ``maintenance`` (the tables are being rebuilt): every request gets 503.

A process running the release the state names is never held back. The state is read with
one ``stat`` per request and parsed again only when the file changes. Files are local to
the host: with web processes on several hosts, the apps folder must be shared.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from factory.tenants.runtime.bootstrap import loaded_release_id

MODE_ADDITIVE = "additive"
MODE_STRICT = "strict"
MODE_MAINTENANCE = "maintenance"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RETRY_AFTER_SECONDS = 5

# Spec changes that old code survives: it reads and updates rows as before.
ADDITIVE_CHANGE_KINDS = frozenset(
    {
        "app_changed",
        "entity_added",
        "entity_relabelled",
        "entity_options_changed",
        "field_added",
        "field_relabelled",
        "field_widened",
        "field_made_optional",
        "field_default_changed",
        "field_unique_removed",
        "field_index_changed",
        "computed_added",
        "computed_removed",
        "computed_changed",
        "choice_list_added",
        "choice_list_changed",
        "choice_option_added",
        "choice_option_changed",
        "pipeline_added",
        "pipeline_changed",
        "stage_added",
        "stage_changed",
        "automation_added",
        "automation_removed",
        "automation_changed",
        "role_added",
        "role_removed",
        "role_changed",
    }
)

_cache: dict[str, tuple[int, dict[str, Any] | None]] = {}


def state_path(app_label: str) -> Path:
    return Path(settings.FACTORY_APPS_DIR) / f"{app_label}.state"


def change_mode(migration_plan: dict[str, Any]) -> str:
    """``additive`` when every change of the plan is one old code survives, else ``strict``."""
    kinds = {change.get("kind") for change in migration_plan.get("changes", [])}
    return MODE_ADDITIVE if kinds <= ADDITIVE_CHANGE_KINDS else MODE_STRICT


def tenant_state_write(*, app_label: str, release_id: int | None, mode: str) -> None:
    path = state_path(app_label)
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.{os.getpid()}")
    scratch.write_text(json.dumps({"release": release_id, "mode": mode}))
    scratch.replace(path)


def tenant_state_read(app_label: str) -> dict[str, Any] | None:
    path = state_path(app_label)
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return None
    cached = _cache.get(app_label)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        state = None
    _cache[app_label] = (stamp, state)
    return state


def request_held_back(request: HttpRequest, app_label: str) -> HttpResponse | None:
    """A 503 when this process's code does not fit the tables for this request, else None."""
    state = tenant_state_read(app_label)
    if state is None or state.get("release") == loaded_release_id(app_label):
        return None
    if state.get("mode") == MODE_ADDITIVE and request.method in READ_METHODS:
        return None
    response = HttpResponse(
        "This CRM is being updated; try again in a few seconds.\n",
        status=503,
        content_type="text/plain; charset=utf-8",
    )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
