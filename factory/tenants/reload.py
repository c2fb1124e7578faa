"""Telling web and worker processes to restart gracefully after a deploy.

A process loads tenant apps once, at start (the app registry is never re-populated), so a
new release reaches users when the processes serving them are replaced:

- gunicorn (run without ``--preload``): SIGHUP to the master, found through its pid file;
  it starts new workers, which load the new release, then stops the old ones gracefully;
- a Celery worker started with ``--pidfile`` and detached from a terminal: SIGHUP makes it
  finish its tasks and re-execute itself; with FACTORY_RELOAD_CELERY_BROADCAST a
  ``shutdown`` broadcast reaches workers on every host, for a supervisor to restart;
- the development server: touching the reload stamp, which its autoreloader watches.

This module only signals; it never imports tenant code.
"""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)

RELOAD_STAMP_NAME = "reload.stamp"
# A pid file can outlive its process and the pid be reused: only signal processes whose
# command line names one of these programs.
SIGNALLED_PROGRAMS = ("gunicorn", "celery")


def reload_stamp_path() -> Path:
    return Path(settings.FACTORY_APPS_DIR) / RELOAD_STAMP_NAME


def _watch_reload_stamp(sender: Any, **kwargs: Any) -> None:
    stamp = reload_stamp_path()
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.touch(exist_ok=True)  # must exist before the reloader's first look
    sender.extra_files.add(stamp)


def connect_dev_server_reload() -> None:
    from django.utils.autoreload import autoreload_started

    autoreload_started.connect(_watch_reload_stamp, dispatch_uid="tenants_watch_reload_stamp")


def _pid_from(pidfile: Path) -> int | None:
    try:
        text = pidfile.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _is_signallable(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not cmdline.exists():
        return True  # no /proc: trust the pid file
    command = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
    return any(program in command for program in SIGNALLED_PROGRAMS)


def processes_reload() -> list[str]:
    """Ask every known web and worker process to restart; return one line per action."""
    actions = []
    for pidfile in map(Path, settings.FACTORY_RELOAD_PIDFILES):
        pid = _pid_from(pidfile)
        if pid is None or not _is_signallable(pid):
            continue
        os.kill(pid, signal.SIGHUP)
        actions.append(f"Sent a graceful reload (HUP) to process {pid} ({pidfile.name}).")
    stamp = reload_stamp_path()
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.touch()
    os.utime(stamp)
    actions.append("Touched the reload stamp (the development server restarts).")
    if settings.FACTORY_RELOAD_CELERY_BROADCAST and not settings.CELERY_TASK_ALWAYS_EAGER:
        from config.celery import app

        app.control.shutdown()
        actions.append(
            "Broadcast a warm shutdown to Celery workers (their supervisor restarts them)."
        )
    for action in actions:
        logger.info(action)
    return actions
