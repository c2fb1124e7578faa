"""Who is acting right now, for the automatic created_by/updated_by stamps and the timeline.

A request sets it through ``CurrentUserMiddleware``; commands, tasks and services that act
for someone wrap their work in ``acting_as(user)``. Nothing here touches the database.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_current_user: ContextVar[Any | None] = ContextVar("crm_current_user", default=None)


def get_current_user() -> Any | None:
    user = _current_user.get()
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user


@contextmanager
def acting_as(user: Any | None) -> Iterator[None]:
    token = _current_user.set(user)
    try:
        yield
    finally:
        _current_user.reset(token)
