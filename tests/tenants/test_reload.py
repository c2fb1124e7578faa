"""After a deploy: web and worker processes are signalled through their pid files, never a
stranger whose pid a stale file names; the development server's stamp is touched."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from factory.tenants.reload import RELOAD_STAMP_NAME, _watch_reload_stamp, processes_reload

# A stand-in server: its command line names gunicorn, and it records the HUP it receives.
FAKE_SERVER = """
import os, signal, sys, time
from pathlib import Path
def hup(*_):
    # Written aside then renamed, so a reader never sees the file half written.
    Path(sys.argv[1] + ".part").write_text("reloaded")
    os.replace(sys.argv[1] + ".part", sys.argv[1])
signal.signal(signal.SIGHUP, hup)
Path(sys.argv[1] + ".ready").write_text("ready")
time.sleep(30)
"""


def _start(tmp_path: Path, *args: str) -> subprocess.Popen:
    process = subprocess.Popen(args)
    deadline = time.monotonic() + 10
    marker = Path(args[-2] + ".ready") if len(args) > 2 else None
    while marker is not None and not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return process


def test_a_deploy_sends_hup_to_the_processes_in_the_pid_files(settings, tmp_path: Path) -> None:
    record = tmp_path / "record"
    server = _start(tmp_path, sys.executable, "-c", FAKE_SERVER, str(record), "gunicorn")
    stranger = subprocess.Popen(["sleep", "30"])  # a reused pid: must be left alone
    try:
        (tmp_path / "gunicorn.pid").write_text(str(server.pid))
        (tmp_path / "stale.pid").write_text(str(stranger.pid))
        settings.FACTORY_RELOAD_PIDFILES = [
            str(tmp_path / "gunicorn.pid"),
            str(tmp_path / "stale.pid"),
            str(tmp_path / "missing.pid"),
        ]
        settings.FACTORY_APPS_DIR = tmp_path / "apps"
        actions = processes_reload()
        deadline = time.monotonic() + 10
        while not record.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert record.exists(), "the stand-in server never received the HUP"
        assert record.read_text() == "reloaded"
        assert stranger.poll() is None  # not signalled: sleep would have died of a HUP
        assert actions[0] == f"Sent a graceful reload (HUP) to process {server.pid} (gunicorn.pid)."
        assert len(actions) == 2
        assert (tmp_path / "apps" / RELOAD_STAMP_NAME).exists()
    finally:
        for process in (server, stranger):
            process.kill()
            process.wait()


def test_the_development_server_watches_the_reload_stamp(settings, tmp_path: Path) -> None:
    settings.FACTORY_APPS_DIR = tmp_path

    class Reloader:
        extra_files: set[Path] = set()

    _watch_reload_stamp(Reloader)
    stamp = tmp_path / RELOAD_STAMP_NAME
    assert Reloader.extra_files == {stamp}
    assert stamp.exists()  # watched from the start, so the next touch is a change
