"""The tenant stack: a project instance of its own for end-to-end tenant tests.

Deploys migrate in subprocesses and web processes load tenant apps at start, so these
tests cannot use the test runner's database (in memory on SQLite, and without tenant apps
in this process). ``TenantStack`` is a temporary folder with its own database (a SQLite
file, or a fresh PostgreSQL database when the suite runs on PostgreSQL), apps folder and
backups folder; commands run in a long-lived ``manage.py factory`` driver process, HTTP
goes to a real gunicorn (or the development server), and assertions read the stack's
database directly.
"""

from __future__ import annotations

import http.client
import json
import os
import pty
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import skip_or_fail

BASE_DIR = Path(__file__).resolve().parent.parent.parent
FAST_BUILDER = "tests.tenants.builders.unchecked_release_build"

SPEC_LISTS = """
choice_lists:
  - id: task_status
    key: task_status
    name: Task status
    options: [{value: todo, label: To do}, {value: done, label: Done}]
  - id: task_priority
    key: task_priority
    name: Task priority
    options: [{value: normal, label: Normal}, {value: high, label: High}]
"""


def company_spec(*extra_fields: str, name_unique: bool = False) -> str:
    """A one-entity spec (companies with a name and a city, plus ``extra_fields``)."""
    unique = ", unique: true" if name_unique else ""
    fields = [
        f"{{id: company_name, name: name, label: name, type: text, required: true{unique}}}",
        "{id: company_city, name: city, label: city, type: text}",
        *extra_fields,
    ]
    lines = "\n".join(f"      - {field}" for field in fields)
    return f"""name: Test CRM
entities:
  - id: company
    name: Company
    label: company
    label_plural: companies
    display: [name]
    fields:
{lines}
{SPEC_LISTS}"""


WEBSITE_FIELD = "{id: company_website, name: website, label: website, type: text}"


def uses_postgres() -> bool:
    return os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    cookies: dict[str, str] = field(default_factory=dict)
    set_cookie_lines: list[str] = field(default_factory=list)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class CommandResult:
    code: int
    stdout: str
    stderr: str


class TenantStack:
    def __init__(self, root: Path, database_url: str) -> None:
        self.root = root
        self.database_url = database_url
        self.vendor = "postgresql" if database_url.startswith("postgres") else "sqlite"
        self.port = 0
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("FACTORY_", "GUNICORN_"))},
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": database_url,
            "FACTORY_LOAD_TENANT_APPS": "1",
            "FACTORY_APPS_DIR": str(root / "apps"),
            "FACTORY_BACKUPS_DIR": str(root / "backups"),
            "FACTORY_RELOAD_PIDFILES": str(root / "gunicorn.pid"),
            "FACTORY_RELEASE_BUILDER": FAST_BUILDER,
            "FACTORY_DEPLOY_LOCK_TIMEOUT": "60",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        self.driver: subprocess.Popen[str] | None = None
        self.server: subprocess.Popen[bytes] | None = None
        self.dev_server: subprocess.Popen[bytes] | None = None

    # --- commands ---------------------------------------------------------------------------

    def manage(self, *args: str, stdin: str = "") -> CommandResult:
        """``manage.py ARGS`` in a fresh process (for what must start fresh, like migrate)."""
        process = subprocess.run(
            [sys.executable, str(BASE_DIR / "manage.py"), *args],
            env=self.env,
            cwd=BASE_DIR,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        return CommandResult(process.returncode, process.stdout, process.stderr)

    def manage_at_terminal(self, *args: str, typed: bytes) -> CommandResult:
        """``manage.py ARGS`` with standard input on a terminal (a pseudo-terminal), on which
        ``typed`` was typed ahead: ``b"yes\\n"`` answers a question, ``b"\\x04"`` is Ctrl-D.
        Standard output and error are pipes, as with ``manage()``."""
        terminal, command_side = pty.openpty()
        try:
            os.write(terminal, typed)  # held by the terminal until the command reads
            process = subprocess.run(
                [sys.executable, str(BASE_DIR / "manage.py"), *args],
                env=self.env,
                cwd=BASE_DIR,
                stdin=command_side,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
        finally:
            os.close(command_side)
            os.close(terminal)
        return CommandResult(process.returncode, process.stdout, process.stderr)

    def factory(self, *argv: str, stdin: str = "") -> CommandResult:
        """``manage.py factory ARGV`` through the long-lived driver process."""
        if self.driver is None:
            self.driver = subprocess.Popen(
                [sys.executable, "-m", "tests.tenants.driver"],
                env=self.env,
                cwd=BASE_DIR,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
        assert self.driver.stdin is not None
        assert self.driver.stdout is not None
        self.driver.stdin.write(json.dumps({"argv": list(argv), "stdin": stdin}) + "\n")
        self.driver.stdin.flush()
        answer = json.loads(self.driver.stdout.readline())
        return CommandResult(answer["code"], answer["stdout"], answer["stderr"])

    def spec_file(self, name: str, text: str) -> str:
        path = self.root / f"{name}.yaml"
        path.write_text(text)
        return str(path)

    # --- the database -----------------------------------------------------------------------

    def sql(self, query: str, params: tuple = ()) -> list[tuple]:
        if self.vendor == "sqlite":
            with sqlite3.connect(self.root / "db.sqlite3") as connection:
                return connection.execute(query.replace("%s", "?"), params).fetchall()
        import psycopg

        url = self.database_url.replace("postgres://", "postgresql://", 1)
        with psycopg.connect(url) as connection:
            return connection.execute(query, params).fetchall()

    def tables(self, prefix: str) -> list[str]:
        if self.vendor == "sqlite":
            rows = self.sql("SELECT name FROM sqlite_master WHERE type = 'table'")
        else:
            rows = self.sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return sorted(name for (name,) in rows if name.startswith(prefix))

    def columns(self, table: str) -> list[str]:
        if self.vendor == "sqlite":
            return [row[1] for row in self.sql(f'PRAGMA table_info("{table}")')]
        rows = self.sql(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
            "ORDER BY ordinal_position",
            (table,),
        )
        return [name for (name,) in rows]

    def table_state(self, prefix: str) -> dict[str, list[tuple]]:
        """Every row of every table starting with ``prefix``: to assert nothing changed."""
        return {
            table: sorted(
                (
                    tuple(str(value) for value in row)
                    for row in self.sql(f'SELECT * FROM "{table}"')
                ),
            )
            for table in self.tables(prefix)
        }

    def releases(self, slug: str) -> dict[int, str]:
        rows = self.sql(
            "SELECT r.number, r.status FROM tenants_tenantrelease r "
            "JOIN tenants_tenant t ON t.id = r.tenant_id WHERE t.slug = %s",
            (slug,),
        )
        return dict(rows)

    # --- the web server ---------------------------------------------------------------------

    def serve(self) -> None:
        self.port = free_port()
        env = {
            **self.env,
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "GUNICORN_PIDFILE": str(self.root / "gunicorn.pid"),
            "GUNICORN_WORKERS": "2",
            "GUNICORN_LOG_LEVEL": "warning",
        }
        self.server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.conf.py"],
            env=env,
            cwd=BASE_DIR,
            stdout=subprocess.DEVNULL,
            stderr=(self.root / "gunicorn.log").open("wb"),
        )
        self._wait_until_serving("gunicorn")

    def serve_development(self) -> None:
        """``manage.py runserver`` with its autoreloader, as in development (``./dev.sh``)."""
        self.port = free_port()
        self.dev_server = subprocess.Popen(
            [sys.executable, str(BASE_DIR / "manage.py"), "runserver", f"127.0.0.1:{self.port}"],
            env=self.env,
            cwd=BASE_DIR,
            stdout=subprocess.DEVNULL,
            stderr=(self.root / "runserver.log").open("wb"),
            # The autoreloader runs the server in a child process: a session of its own
            # lets close() stop both.
            start_new_session=True,
        )
        self._wait_until_serving("runserver")

    def _wait_until_serving(self, name: str) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                # Answered by the host middleware alone: ready once the project has loaded.
                if self.request("GET", "ready.localhost", "/").status == 404:
                    return
            except OSError:
                time.sleep(0.2)
        log = (self.root / f"{name}.log").read_text()[-3000:]
        raise RuntimeError(f"{name} did not start:\n{log}")

    def request(
        self,
        method: str,
        host: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        body: Any = None,
        cookies: dict[str, str] | None = None,
    ) -> Response:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        sent = {"Host": host, **(headers or {})}
        data = None
        if isinstance(body, dict | list):
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        elif isinstance(body, str):
            data = body.encode()
            sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
        if cookies:
            sent["Cookie"] = "; ".join(f"{key}={value}" for key, value in cookies.items())
        try:
            connection.request(method, path, body=data, headers=sent)
            response = connection.getresponse()
            payload = response.read()
            lines = response.headers.get_all("Set-Cookie") or []
            jar = {}
            for line in lines:
                name, _, rest = line.partition("=")
                jar[name.strip()] = rest.split(";", 1)[0]
            return Response(response.status, dict(response.headers), payload, jar, lines)
        finally:
            connection.close()

    def login(self, host: str, username: str, password: str) -> tuple[Response, dict[str, str]]:
        """Log in through the site's login form, as a browser would; (answer, cookies)."""
        page = self.request("GET", host, "/login/")
        cookies = dict(page.cookies)
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)
        assert token is not None, page.body[:500]
        form = (
            f"csrfmiddlewaretoken={token.group(1).decode()}&username={username}"
            f"&password={password}&next=/"
        )
        answer = self.request("POST", host, "/login/", body=form, cookies=cookies)
        cookies.update(answer.cookies)
        return answer, cookies

    def api_key_headers(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Api-Key {key}"}

    # --- teardown ---------------------------------------------------------------------------

    def close(self) -> None:
        if self.driver is not None:
            self.driver.stdin.close()  # type: ignore[union-attr]
            self.driver.terminate()  # idle between commands: nothing to finish
            self.driver.wait(timeout=30)
        if self.server is not None:
            self.server.send_signal(signal.SIGINT)  # gunicorn's quick shutdown
            try:
                self.server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.server.kill()
        if self.dev_server is not None:
            os.killpg(self.dev_server.pid, signal.SIGTERM)
            try:
                self.dev_server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.dev_server.pid, signal.SIGKILL)
                self.dev_server.wait()


@pytest.fixture(scope="module")
def stack() -> Iterator[TenantStack]:
    """A migrated, empty stack on the suite's database engine (skipped without PostgreSQL
    when the suite runs on PostgreSQL and the server is unreachable)."""
    with ExitStack() as cleanup:
        root = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="tenant-stack-")))
        if uses_postgres():
            from factory.sandbox import SandboxError, scratch_postgres_database

            try:
                url = cleanup.enter_context(
                    scratch_postgres_database(
                        server_url=os.environ["DATABASE_URL"], prefix="tenant_stack"
                    )
                )
            except SandboxError as error:
                skip_or_fail(f"PostgreSQL is not reachable for the tenant stack: {error}")
        else:
            url = f"sqlite:///{root / 'db.sqlite3'}"
        stack = TenantStack(root, url)
        cleanup.callback(stack.close)
        migrated = stack.manage("migrate", "--noinput", "--skip-checks", "-v", "0")
        assert migrated.code == 0, migrated.stderr
        yield stack
