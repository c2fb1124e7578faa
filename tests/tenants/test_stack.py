"""End-to-end tenant tests on a stack of their own: commands, routing, isolation, preview,
deploy under load with a gunicorn reload, deploy failure and rollback.

Runs on the suite's engine: a SQLite file by default, a fresh PostgreSQL database when
DATABASE_URL names PostgreSQL. Tenants: acme (alice admin, carol builder) and beta (bob
admin), created once for the module; each test says which tenant it changes.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.tenants.conftest import WEBSITE_FIELD, Response, TenantStack, company_spec

PASSWORD = "a-long-test-password"


@dataclass
class World:
    stack: TenantStack
    alice_key: str
    bob_key: str


def _member(stack: TenantStack, slug: str, username: str, role: str) -> None:
    result = stack.factory(
        "tenant", "member", slug, username, "--role", role, "--create-user", stdin=PASSWORD
    )
    assert result.code == 0, result.stderr


def _api_key(stack: TenantStack, slug: str, username: str) -> str:
    result = stack.factory("tenant", "apikey", slug, username, "--name", "tests")
    assert result.code == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture(scope="module")
def world(stack: TenantStack) -> World:
    spec = stack.spec_file("v1", company_spec())
    for slug, name in (("acme", "Acme"), ("beta", "Beta")):
        created = stack.factory("tenant", "create", slug, "--name", name, "--spec", spec)
        assert created.code == 0, created.stderr + created.stdout
    _member(stack, "acme", "alice", "admin")
    _member(stack, "acme", "carol", "builder")
    _member(stack, "beta", "bob", "admin")
    world = World(stack, _api_key(stack, "acme", "alice"), _api_key(stack, "beta", "bob"))
    stack.serve()
    for key, name in ((world.alice_key, "Initech"), (world.bob_key, "Hooli")):
        host = "acme.localhost" if key == world.alice_key else "beta.localhost"
        made = stack.request(
            "POST", host, "/api/companies/", headers=stack.api_key_headers(key), body={"name": name}
        )
        assert made.status == 201, made.body
    return world


def _companies(world: World, host: str, key: str) -> list[dict]:
    answer = world.stack.request(
        "GET", host, "/api/companies/", headers=world.stack.api_key_headers(key)
    )
    assert answer.status == 200, answer.body
    return answer.json()["results"]


# --- commands ------------------------------------------------------------------------------


def test_create_deploys_release_one_and_list_shows_it(world: World) -> None:
    stack = world.stack
    assert stack.releases("acme") == {1: "live"}
    assert "t_acme_company" in stack.tables("t_acme_")
    assert stack.tables("p_acme_") == []
    listing = stack.factory("tenant", "list")
    assert listing.code == 0
    acme_line = next(line for line in listing.stdout.splitlines() if line.startswith("acme "))
    assert acme_line.split()[:3] == ["acme", "1", "-"]
    folders = list((stack.root / "apps" / "t_acme").glob("*/t_acme/models.py"))
    assert len(folders) == 1


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("Acme_Corp", "is not valid"),
        ("admin", "is reserved"),
        ("acme", "already exists"),
        ("a", "is not valid"),
    ],
)
def test_tenant_create_refuses_a_bad_slug(world: World, slug: str, message: str) -> None:
    stack = world.stack
    before = stack.sql("SELECT slug FROM tenants_tenant ORDER BY slug")
    result = stack.factory("tenant", "create", slug, "--name", "X")
    assert result.code == 2
    assert message in result.stderr
    assert stack.sql("SELECT slug FROM tenants_tenant ORDER BY slug") == before


def test_apply_refuses_an_invalid_spec_and_an_unconfirmed_destructive_change(world: World) -> None:
    stack = world.stack
    releases, tables = stack.releases("beta"), stack.table_state("t_beta_")
    invalid = stack.spec_file("invalid", "name: Broken\nentities: [{id: X}]\n")
    refused = stack.factory("apply", "beta", invalid)
    assert refused.code == 2
    assert "is not a valid spec" in refused.stderr
    # Removing the city field loses values: refused until confirmed, naming the data.
    without_city = company_spec().replace(
        "      - {id: company_city, name: city, label: city, type: text}\n", ""
    )
    destructive = stack.factory("apply", "beta", stack.spec_file("no-city", without_city))
    assert destructive.code == 2
    assert "destructive" in destructive.stderr
    assert "city" in destructive.stderr
    assert "Nothing was changed" in destructive.stderr
    assert stack.releases("beta") == releases
    assert stack.table_state("t_beta_") == tables
    assert stack.tables("p_beta_") == []


def test_deploy_and_rollback_refuse_when_there_is_nothing_to_do(world: World) -> None:
    stack = world.stack
    releases = stack.releases("beta")
    deploy = stack.factory("deploy", "beta")
    assert deploy.code == 2
    assert "no release in preview" in deploy.stderr
    rollback = stack.factory("rollback", "beta", "--yes")
    assert rollback.code == 2
    assert "nothing to roll back to" in rollback.stderr
    assert stack.releases("beta") == releases


# --- routing and isolation -----------------------------------------------------------------


def test_hosts_route_to_their_tenant_console_or_nowhere(world: World) -> None:
    stack = world.stack
    assert _companies(world, "acme.localhost", world.alice_key)[0]["name"] == "Initech"
    assert _companies(world, "beta.localhost", world.bob_key)[0]["name"] == "Hooli"
    with_port = stack.request(  # as in development: acme.localhost:8000
        "GET",
        "acme.localhost:8000",
        "/api/companies/",
        headers=stack.api_key_headers(world.alice_key),
    )
    assert with_port.status == 200
    home = stack.request("GET", "acme.localhost", "/")
    assert (home.status, home.headers["Location"]) == (302, "/login/?next=/")
    console = stack.request("GET", "localhost", "/admin/")
    assert (console.status, console.headers["Location"]) == (302, "/admin/login/?next=/admin/")
    for host in ("nosuch.localhost", "beta--preview.localhost", "a.b.localhost"):
        unknown = stack.request("GET", host, "/api/companies/")
        assert (unknown.status, unknown.body) == (404, b"Not found.\n")
    docs = stack.request(
        "GET", "acme.localhost", "/api/docs/", headers=stack.api_key_headers(world.alice_key)
    )
    assert docs.status == 200
    schema = stack.request(
        "GET", "acme.localhost", "/api/schema/", headers=stack.api_key_headers(world.alice_key)
    )
    assert schema.status == 200
    assert b"/api/companies/" in schema.body
    assert stack.request("GET", "acme.localhost", "/api/schema/").status == 401


def test_an_api_key_opens_only_its_own_tenant(world: World) -> None:
    stack = world.stack
    before = {prefix: stack.table_state(prefix) for prefix in ("t_acme_", "t_beta_")}
    read = stack.request(
        "GET", "beta.localhost", "/api/companies/", headers=stack.api_key_headers(world.alice_key)
    )
    write = stack.request(
        "POST",
        "beta.localhost",
        "/api/companies/",
        headers=stack.api_key_headers(world.alice_key),
        body={"name": "Intruder"},
    )
    assert (read.status, write.status) == (403, 403)
    assert b"Hooli" not in read.body
    garbage = stack.request(
        "GET", "acme.localhost", "/api/companies/", headers=stack.api_key_headers("tk_nope.x")
    )
    assert garbage.status == 401
    assert {prefix: stack.table_state(prefix) for prefix in before} == before


def test_a_revoked_api_key_opens_nothing(world: World) -> None:
    stack = world.stack
    key = _api_key(stack, "beta", "bob")
    assert (
        stack.request(
            "GET", "beta.localhost", "/api/companies/", headers=stack.api_key_headers(key)
        ).status
        == 200
    )
    prefix = key.removeprefix("tk_").split(".", 1)[0]
    assert stack.factory("tenant", "apikey", "beta", "--revoke", prefix).code == 0
    before = stack.table_state("t_beta_")
    answer = stack.request(
        "POST",
        "beta.localhost",
        "/api/companies/",
        headers=stack.api_key_headers(key),
        body={"name": "After revoke"},
    )
    assert answer.status == 401
    assert stack.table_state("t_beta_") == before
    digests = stack.sql(
        "SELECT secret_digest FROM tenants_tenantapikey WHERE prefix = %s", (prefix,)
    )
    assert digests
    assert key not in digests[0][0]


def test_a_session_opens_only_the_host_it_was_opened_on(world: World) -> None:
    stack = world.stack
    answer, cookies = stack.login("acme.localhost", "alice", PASSWORD)
    assert (answer.status, answer.headers["Location"]) == (302, "/")
    session_lines = [line for line in answer.set_cookie_lines if line.startswith("sessionid=")]
    assert session_lines
    assert "domain" not in session_lines[0].lower()
    assert stack.request("GET", "acme.localhost", "/", cookies=cookies).status == 200
    sessions = stack.sql("SELECT COUNT(*) FROM django_session")
    before = {prefix: stack.table_state(prefix) for prefix in ("t_acme_", "t_beta_")}
    for host, path in (
        ("beta.localhost", "/"),
        ("beta.localhost", "/api/companies/"),
        ("localhost", "/admin/"),
    ):
        assert stack.request("GET", host, path, cookies=cookies).status == 403, (host, path)
    stolen = stack.request(
        "POST", "beta.localhost", "/api/companies/", cookies=cookies, body={"name": "Stolen"}
    )
    assert stolen.status == 403
    assert {prefix: stack.table_state(prefix) for prefix in before} == before
    assert stack.sql("SELECT COUNT(*) FROM django_session") == sessions


def test_a_member_of_one_tenant_cannot_log_in_to_another(world: World) -> None:
    stack = world.stack
    sessions = stack.sql("SELECT COUNT(*) FROM django_session")
    answer, cookies = stack.login("beta.localhost", "alice", PASSWORD)
    assert answer.status == 200  # the form again, with an error
    assert b"account of this CRM" in answer.body
    assert "sessionid" not in cookies
    assert stack.sql("SELECT COUNT(*) FROM django_session") == sessions


# --- preview, deploy under load, rollback ---------------------------------------------------


def _eventually(
    fetch: Callable[[], Response], accept: Callable[[Response], bool], seconds: float = 10
) -> Response:
    """``fetch()`` until ``accept`` holds (the reload is a few seconds), or the last answer."""
    deadline = time.monotonic() + seconds
    answer = fetch()
    while not accept(answer) and time.monotonic() < deadline:
        time.sleep(0.1)
        answer = fetch()
    return answer


def _apply_website(world: World) -> None:
    stack = world.stack
    applied = stack.factory("apply", "acme", stack.spec_file("v2", company_spec(WEBSITE_FIELD)))
    assert applied.code == 0, applied.stderr + applied.stdout
    assert "Adds optional field website" in applied.stdout
    assert stack.releases("acme") == {1: "live", 2: "preview"}


def test_preview_serves_sample_data_and_never_touches_live_tables(world: World) -> None:
    stack = world.stack
    live = stack.table_state("t_acme_")
    _apply_website(world)
    headers = stack.api_key_headers(world.alice_key)
    preview = _eventually(
        lambda: stack.request("GET", "acme--preview.localhost", "/api/companies/", headers=headers),
        lambda answer: answer.status == 200,
    )
    rows = preview.json()["results"]
    assert len(rows) == 5
    assert all("website" in row for row in rows)
    made = stack.request(
        "POST",
        "acme--preview.localhost",
        "/api/companies/",
        headers=headers,
        body={"name": "Tried in preview", "website": "example.com"},
    )
    assert made.status == 201
    assert stack.table_state("t_acme_") == live
    assert "website" not in stack.columns("t_acme_company")
    assert "website" in stack.columns("p_acme_company")
    assert [row["name"] for row in _companies(world, "acme.localhost", world.alice_key)] == [
        "Initech"
    ]
    other = stack.request(
        "GET",
        "acme--preview.localhost",
        "/api/companies/",
        headers=stack.api_key_headers(world.bob_key),
    )
    assert other.status == 403


def test_deploy_reloads_gunicorn_without_a_failed_request(world: World) -> None:
    stack = world.stack
    if stack.releases("acme").get(2) != "preview":
        _apply_website(world)
    headers = stack.api_key_headers(world.alice_key)
    statuses: list[int] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            try:
                statuses.append(
                    stack.request(
                        "GET", "acme.localhost", "/api/companies/", headers=headers
                    ).status
                )
            except OSError:
                statuses.append(0)
            time.sleep(0.02)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        deployed = stack.factory("deploy", "acme")
        deployed_at = time.monotonic()
        assert deployed.code == 0, deployed.stderr
        assert "Sent a graceful reload (HUP)" in deployed.stdout
        seen = None
        while time.monotonic() - deployed_at < 10:
            rows = _companies(world, "acme.localhost", world.alice_key)
            if "website" in rows[0]:
                seen = rows
                break
            time.sleep(0.1)
        time.sleep(1)  # keep polling while the old workers finish
    finally:
        stop.set()
        poller.join()
    assert seen is not None, "the new field was not served within 10 seconds"
    assert seen[0]["name"] == "Initech"
    assert len(statuses) > 20
    assert set(statuses) == {200}
    assert stack.releases("acme") == {1: "retired", 2: "live"}
    backups = stack.sql("SELECT reason, tables FROM tenants_tenantbackup")
    assert [reason for reason, _tables in backups] == ["before deploying release 2"]


def _row_counts(stack: TenantStack, prefix: str) -> dict[str, int]:
    return {
        table: stack.sql(f'SELECT COUNT(*) FROM "{table}"')[0][0] for table in stack.tables(prefix)
    }


def test_rollback_states_the_loss_asks_and_restores_code_and_data(world: World) -> None:
    stack = world.stack
    if stack.releases("acme").get(2) != "live":
        test_deploy_reloads_gunicorn_without_a_failed_request(world)
    headers = stack.api_key_headers(world.alice_key)
    written = stack.request(
        "POST",
        "acme.localhost",
        "/api/companies/",
        headers=headers,
        body={"name": "Written after the deploy", "website": "late.example"},
    )
    assert written.status == 201
    before = stack.table_state("t_acme_")
    unconfirmed = stack.factory("rollback", "acme")
    assert unconfirmed.code == 2
    assert "t_acme_company: 1 added" in unconfirmed.stdout
    assert "the values of website" in unconfirmed.stdout
    assert "Refusing to roll back without a confirmation" in unconfirmed.stderr
    assert stack.table_state("t_acme_") == before
    assert stack.releases("acme") == {1: "retired", 2: "live"}

    rolled = stack.factory("rollback", "acme", "--yes")
    assert rolled.code == 0, rolled.stderr
    assert stack.releases("acme") == {1: "live", 2: "retired"}
    assert "website" not in stack.columns("t_acme_company")
    assert [name for (name,) in stack.sql("SELECT name FROM t_acme_company")] == ["Initech"]
    (counts,) = stack.sql(
        "SELECT tables FROM tenants_tenantbackup WHERE reason = 'before deploying release 2'"
    )[0]
    counts = json.loads(counts) if isinstance(counts, str) else counts
    assert _row_counts(stack, "t_acme_") == counts
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        answer = stack.request("GET", "acme.localhost", "/api/companies/", headers=headers)
        if answer.status == 200 and "website" not in answer.json()["results"][0]:
            break
        time.sleep(0.2)
    assert [row["name"] for row in answer.json()["results"]] == ["Initech"]
    assert "website" not in answer.json()["results"][0]


def test_a_failed_migration_leaves_the_tenant_on_its_release_with_its_data(world: World) -> None:
    stack = world.stack
    headers = stack.api_key_headers(world.bob_key)
    for _copy in range(2):  # two companies with the same name: a unique name cannot migrate
        made = stack.request(
            "POST", "beta.localhost", "/api/companies/", headers=headers, body={"name": "Twin"}
        )
        assert made.status == 201
    unique = stack.spec_file("unique", company_spec(name_unique=True))
    applied = stack.factory("apply", "beta", unique, "--confirm-destructive", "--no-preview")
    assert applied.code == 0, applied.stderr + applied.stdout
    before = stack.table_state("t_beta_")
    migrations = stack.sql("SELECT name FROM django_migrations WHERE app = 't_beta' ORDER BY id")
    deployed = stack.factory("deploy", "beta")
    assert deployed.code == 1
    assert "stays on its previous release" in deployed.stderr
    assert "Its data is unchanged" in deployed.stderr
    assert stack.releases("beta") == {1: "live", 2: "failed"}
    assert stack.table_state("t_beta_") == before
    assert stack.sql("SELECT name FROM django_migrations WHERE app = 't_beta' ORDER BY id") == (
        migrations
    )
    names = sorted(row["name"] for row in _companies(world, "beta.localhost", world.bob_key))
    assert names == ["Hooli", "Twin", "Twin"]
