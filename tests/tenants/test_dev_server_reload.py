"""The development server picks up a deploy: ``runserver`` watches the reload stamp that
every deploy touches, restarts its server process, and serves the new release.

A real ``manage.py runserver`` (with its autoreloader) on the tenant stack; the release is
built without a preview, so the deploy is the only thing that touches the stamp.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from factory.tenants.reload import RELOAD_STAMP_NAME
from tests.tenants.conftest import WEBSITE_FIELD, TenantStack, company_spec

RESTART_SECONDS = 20


@pytest.fixture(scope="module")
def api_key(stack: TenantStack) -> str:
    spec = stack.spec_file("v1", company_spec())
    created = stack.factory("tenant", "create", "devco", "--name", "Devco", "--spec", spec)
    assert created.code == 0, created.stderr + created.stdout
    member = stack.factory(
        "tenant", "member", "devco", "dana", "--role", "admin", "--create-user", stdin="pw-" * 6
    )
    assert member.code == 0, member.stderr
    key = stack.factory("tenant", "apikey", "devco", "dana", "--name", "tests")
    assert key.code == 0, key.stderr
    return key.stdout.strip()


def _server_process(stack: TenantStack) -> int:
    """The pid of the process serving requests: the autoreloader's child."""
    assert stack.dev_server is not None
    pid = stack.dev_server.pid
    (child,) = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return int(child)


def test_a_deploy_restarts_the_development_server_on_the_new_release(
    stack: TenantStack, api_key: str
) -> None:
    headers = stack.api_key_headers(api_key)
    stack.serve_development()
    made = stack.request(
        "POST", "devco.localhost", "/api/companies/", headers=headers, body={"name": "Initech"}
    )
    assert made.status == 201, made.body
    before = stack.request("GET", "devco.localhost", "/api/companies/", headers=headers)
    assert [row.get("website") for row in before.json()["results"]] == [None]
    served_by = _server_process(stack)
    stamp = stack.root / "apps" / RELOAD_STAMP_NAME
    stamped = stamp.stat().st_mtime_ns
    applied = stack.factory(
        "apply", "devco", stack.spec_file("v2", company_spec(WEBSITE_FIELD)), "--no-preview"
    )
    assert applied.code == 0, applied.stderr + applied.stdout
    assert stamp.stat().st_mtime_ns == stamped  # nothing restarted the server before the deploy

    deployed = stack.factory("deploy", "devco")
    assert deployed.code == 0, deployed.stderr
    assert "Touched the reload stamp (the development server restarts)." in deployed.stdout
    deadline = time.monotonic() + RESTART_SECONDS
    rows: list[dict] = []
    while time.monotonic() < deadline:
        try:
            answer = stack.request("GET", "devco.localhost", "/api/companies/", headers=headers)
        except OSError:  # between the old server process and the new one
            answer = None
        if answer is not None and answer.status == 200:
            rows = answer.json()["results"]
            if "website" in rows[0]:
                break
        time.sleep(0.2)
    assert rows, "the development server answered nothing after the deploy"
    assert "website" in rows[0], f"the new field was not served within {RESTART_SECONDS} s"
    assert [(row["name"], row["website"]) for row in rows] == [("Initech", "")]
    assert _server_process(stack) != served_by  # restarted by its autoreloader
    assert stack.releases("devco") == {1: "retired", 2: "live"}
