"""End to end through a real Celery worker on Redis, with scripted agents.

request → questions → answers → (the worker is killed while it builds the release; a new
worker picks the step up) → preview → deploy → the tenant's API, served by a real
gunicorn reloaded by the deploy, serves the new entity.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.conftest import skip_or_fail
from tests.pipeline.stack import VISIBILITY_TIMEOUT, PipelineStack
from tests.tenants.conftest import uses_postgres

pytestmark = pytest.mark.services


def redis_url() -> str:
    import redis

    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as error:
        skip_or_fail(f"Redis is not reachable at {url}: {error}")
    return url


@pytest.fixture
def pipeline_stack() -> Iterator[PipelineStack]:
    broker = redis_url()
    with ExitStack() as cleanup:
        root = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="pipeline-stack-")))
        if uses_postgres():
            from factory.sandbox import SandboxError, scratch_postgres_database

            try:
                url = cleanup.enter_context(
                    scratch_postgres_database(
                        server_url=os.environ["DATABASE_URL"], prefix="pipeline_stack"
                    )
                )
            except SandboxError as error:
                skip_or_fail(f"PostgreSQL is not reachable for the pipeline stack: {error}")
        else:
            url = f"sqlite:///{root / 'db.sqlite3'}"
        stack = PipelineStack(root, url, broker)
        cleanup.callback(stack.close)
        migrated = stack.manage("migrate", "--noinput", "-v", "0")
        assert migrated.code == 0, migrated.stderr
        yield stack


def test_a_request_built_by_a_worker_that_dies_mid_build_is_deployed_and_served(pipeline_stack):
    stack = pipeline_stack
    ids = stack.command("setup", "shop", "Velo Rent")
    console = {"Authorization": f"Token {ids['token']}"}
    tenant_key = {"Authorization": f"Api-Key {ids['api_key']}"}
    stack.serve()
    stack.start_worker()
    request_id = stack.command("create", "shop")["id"]
    url = f"/api/factory/requests/{request_id}/"

    def state() -> dict:
        return stack.request("GET", "localhost", url, headers=console).json()

    stack.wait_for(
        lambda: state()["state"] == "awaiting_answers", timeout=60, what="the analyst's questions"
    )
    questions = stack.request("GET", "localhost", f"{url}questions/", headers=console).json()
    blocking = next(question for question in questions if question["blocking"])
    answered = stack.request(
        "POST",
        "localhost",
        f"{url}answers/",
        headers=console,
        body={"answers": [{"question": blocking["id"], "answer": "No deposit."}]},
    )
    assert answered.status == 202, answered.body

    # Kill the worker (and what it started) while it builds the release.
    stack.wait_for(
        lambda: (now := state())["state"] == "checking" and now["step"] == "release",
        timeout=90,
        what="the release build",
    )
    stack.kill_worker()
    interrupted = state()
    assert (interrupted["state"], interrupted["release"]) == ("checking", None)
    time.sleep(VISIBILITY_TIMEOUT + 1)  # the unacknowledged step is visible again
    stack.start_worker()

    preview = stack.wait_for(
        lambda: (now := state())["state"] in {"preview", "failed"} and now,
        timeout=120,
        what="the preview after the restart",
    )
    assert preview["state"] == "preview", preview["error"]
    assert [task["status"] for task in preview["tasks"]] == ["done", "done", "done"]
    slots = stack.sql(
        "SELECT s.slot, r.turns_count FROM pipeline_agentstep s JOIN agents_agentrun r "
        "ON r.id = s.run_id WHERE s.change_request_id = %s ORDER BY s.id",
        (request_id,),
    )
    assert [slot for slot, _turns in slots] == [
        "analyst:1",
        "analyst:2",
        "architect",
        "task:bikes#1",
        "task:screens#1",
        "task:api#1",
        "qa:1",
    ]

    deploy = stack.request("POST", "localhost", f"{url}deploy/", headers=console)
    assert deploy.status == 202, deploy.body
    deployed = stack.wait_for(
        lambda: (now := state())["state"] in {"deployed", "failed"} and now,
        timeout=120,
        what="the deploy",
    )
    assert deployed["state"] == "deployed", deployed["error"]
    releases = stack.releases("shop")
    # Only the request's release went live. One the killed worker had begun (when it died
    # after reserving it) never did: the resumed step marked it failed, saying why.
    assert {number for number, status in releases.items() if status == "live"} == {
        deployed["release"]["number"]
    }
    assert set(releases.values()) <= {"live", "failed"}
    left = stack.sql("SELECT number, error FROM tenants_tenantrelease WHERE status = 'failed'")
    assert left == [
        (
            number,
            "Interrupted: the worker or command building this release stopped before the build "
            f"finished; release {deployed['release']['number']} replaced it.",
        )
        for number, _error in left
    ]

    # A first release has nothing to roll back to: refused, and it says so.
    rollback = stack.request(
        "POST", "localhost", f"{url}rollback/", headers=console, body={"confirm": True}
    )
    assert rollback.status == 409
    assert rollback.json()["problems"][0].endswith("there is nothing to roll back to.")
    assert state()["state"] == "deployed"

    # The deploy reloaded gunicorn: the tenant's API serves the new entity.
    listing = stack.wait_for(
        lambda: (
            (
                answer := stack.request("GET", "shop.localhost", "/api/bikes/", headers=tenant_key)
            ).status
            == 200
            and answer
        ),
        timeout=30,
        what="the tenant's API",
    )
    assert listing.json()["count"] == 0
    made = stack.request(
        "POST",
        "shop.localhost",
        "/api/bikes/",
        headers=tenant_key,
        body={"code": "B-001", "daily_rate": "15.00"},
    )
    assert made.status == 201, made.body
    listed = stack.request("GET", "shop.localhost", "/api/bikes/", headers=tenant_key).json()
    assert [(bike["code"], bike["daily_rate"]) for bike in listed["results"]] == [
        ("B-001", "15.00")
    ]
