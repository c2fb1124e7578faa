"""Upgrading the factory: tenants deployed on an older kit, the project-wide ``migrate``,
and ``factory tenant upgrade``.

A tenant "built on an older kit" is made faithfully: its live release's stored migrations
lose what the current kit added (the ``installed_values`` column of choice lists, options,
pipelines and stages, the tag actions of the timeline), the release's digest follows, the
column is dropped from its tables, and every process restarts, so the tenant's models (which
inherit today's kit) have columns its tables lack, as after deploying a new factory.

Runs on the suite's engine (a SQLite file, or PostgreSQL when DATABASE_URL names it).
Tenants, created once for the module: alpha, beta (bob admin, two companies), delta and
gamma; each test says which tenants it changes, and the ``--all`` test comes last.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pytest

from factory.tenants.runtime.bootstrap import package_digest
from tests.tenants.conftest import TenantStack, company_spec

PASSWORD = "a-long-test-password"
KIT_TABLES = ("choicelist", "choiceoption", "pipeline", "stage")
NEW_KIT_FIELD = "('installed_values', models.JSONField("
NEW_TIMELINE_CHOICES = ", ('tagged', 'Tag added'), ('untagged', 'Tag removed')"
UPGRADE_OPERATIONS = [
    {"type": "AddField", "model_name": "choicelist", "name": "installed_values"},
    {"type": "AddField", "model_name": "choiceoption", "name": "installed_values"},
    {"type": "AddField", "model_name": "pipeline", "name": "installed_values"},
    {"type": "AddField", "model_name": "stage", "name": "installed_values"},
    {"type": "AlterField", "model_name": "timelineentry", "name": "action"},
]


@dataclass
class World:
    stack: TenantStack
    bob_key: str


def _json(value: object) -> dict:
    return json.loads(value) if isinstance(value, str) else value  # type: ignore[return-value]


def _execute(stack: TenantStack, statement: str, params: tuple = ()) -> None:
    """Run a statement that returns no rows on the stack's database."""
    if stack.vendor == "sqlite":
        stack.sql(statement, params)
        return
    import psycopg

    url = stack.database_url.replace("postgres://", "postgresql://", 1)
    with psycopg.connect(url) as connection:
        connection.execute(statement, params)


def _restart(stack: TenantStack) -> None:
    """Stop the driver and the web server: the next ones load the releases afresh."""
    serving = stack.server is not None
    stack.close()
    stack.driver, stack.server = None, None
    if serving:
        stack.serve()


def _put_behind_the_kit(stack: TenantStack, slug: str) -> None:
    """Make the tenant's live release and tables those of a release built on the older kit."""
    ((release_id, files, migration_files),) = stack.sql(
        "SELECT r.id, r.files, r.migration_files FROM tenants_tenantrelease r "
        "JOIN tenants_tenant t ON t.id = r.tenant_id WHERE t.slug = %s AND r.status = 'live'",
        (slug,),
    )
    files, migrations = _json(files), _json(migration_files)
    initial = migrations["migrations/0001_initial.py"]
    assert initial.count(NEW_KIT_FIELD) == len(KIT_TABLES)
    assert initial.count(NEW_TIMELINE_CHOICES) == 1
    migrations["migrations/0001_initial.py"] = "\n".join(
        line for line in initial.split("\n") if NEW_KIT_FIELD not in line
    ).replace(NEW_TIMELINE_CHOICES, "")
    cast = "::jsonb" if stack.vendor == "postgresql" else ""
    _execute(
        stack,
        f"UPDATE tenants_tenantrelease SET migration_files = %s{cast}, code_digest = %s "
        "WHERE id = %s",
        (json.dumps(migrations), package_digest({**files, **migrations}), release_id),
    )
    for table in KIT_TABLES:
        _execute(stack, f'ALTER TABLE "t_{slug}_{table}" DROP COLUMN "installed_values"')
        assert "installed_values" not in stack.columns(f"t_{slug}_{table}")


def _rows(stack: TenantStack, slug: str, columns: dict[str, list[str]]) -> dict[str, list]:
    """Every row of the tenant's tables, in the columns they had (to compare across a
    migration that adds columns)."""
    return {
        table: sorted(
            tuple(str(value) for value in row)
            for row in stack.sql(
                f'SELECT {", ".join(f"{chr(34)}{name}{chr(34)}" for name in names)} FROM "{table}"'
            )
        )
        for table, names in columns.items()
    }


def _release_plan(stack: TenantStack, slug: str, number: int) -> dict:
    ((plan,),) = stack.sql(
        "SELECT r.migration_plan FROM tenants_tenantrelease r JOIN tenants_tenant t "
        "ON t.id = r.tenant_id WHERE t.slug = %s AND r.number = %s",
        (slug, number),
    )
    return _json(plan)


@pytest.fixture(scope="module")
def world(stack: TenantStack) -> World:
    spec = stack.spec_file("v1", company_spec())
    for slug in ("alpha", "beta", "delta", "gamma"):
        created = stack.factory("tenant", "create", slug, "--name", slug.title(), "--spec", spec)
        assert created.code == 0, created.stderr + created.stdout
    member = stack.factory(
        "tenant", "member", "beta", "bob", "--role", "admin", "--create-user", stdin=PASSWORD
    )
    assert member.code == 0, member.stderr
    key = stack.factory("tenant", "apikey", "beta", "bob", "--name", "tests")
    assert key.code == 0, key.stderr
    world = World(stack, key.stdout.strip())
    stack.serve()
    for name in ("Initech", "Hooli"):
        made = stack.request(
            "POST",
            "beta.localhost",
            "/api/companies/",
            headers=stack.api_key_headers(world.bob_key),
            body={"name": name, "city": "Berlin"},
        )
        assert made.status == 201, made.body
    for slug in ("alpha", "beta", "delta", "gamma"):
        _put_behind_the_kit(stack, slug)
    _restart(stack)
    return world


def _choice_list_names(world: World) -> tuple[int, list[str]]:
    stack = world.stack
    answer = stack.request(
        "GET", "beta.localhost", "/api/choice-lists/", headers=stack.api_key_headers(world.bob_key)
    )
    if answer.status != 200:
        return answer.status, []
    return 200, sorted(item["name"] for item in answer.json()["results"])


def _deploy_lines(stack: TenantStack, slug: str, number: int, rows: dict[str, list]) -> list:
    """What a deploy over release ``number - 1`` prints, its backup line as a pattern."""
    assert stack.server is not None
    count = sum(len(table_rows) for table_rows in rows.values())
    return [
        re.compile(
            rf"Backed up {slug}'s tables \({count} rows in {len(rows)} tables\) to "
            rf"{slug}/\d{{8}}T\d{{12}}-release{number - 1}\.json\.gz\."
        ),
        f"Release {number} of {slug} is live at http://{slug}.localhost/",
        f"  Sent a graceful reload (HUP) to process {stack.server.pid} (gunicorn.pid).",
        "  Touched the reload stamp (the development server restarts).",
    ]


def _lines_match(lines: list[str], expected: list) -> bool:
    return len(lines) == len(expected) and all(
        want.fullmatch(line) if isinstance(want, re.Pattern) else want == line
        for line, want in zip(lines, expected, strict=True)
    )


def test_a_tenant_behind_the_kit_is_upgraded_with_its_data(world: World) -> None:
    stack = world.stack
    # Between deploying the new factory and upgrading the tenant, what reads choice lists
    # fails: the models have a column that the tables lack.
    assert _choice_list_names(world) == (500, [])
    columns = {table: stack.columns(table) for table in stack.tables("t_beta_")}
    rows = _rows(stack, "beta", columns)

    # The project-wide migrate leaves tenant apps to their deploys, and succeeds.
    migrated = stack.manage("migrate", "--noinput")
    assert migrated.code == 0, migrated.stderr
    assert migrated.stdout.splitlines() == [
        "Operations to perform:",
        "  Apply all migrations: admin, agents, auth, authtoken, contenttypes, crm, pipeline, "
        "sessions, tenants",
        "Running migrations:",
        "  No migrations to apply.",
    ]
    named = stack.manage("migrate", "t_beta", "--noinput")
    assert named.code == 1
    assert "t_beta is a tenant app: its tables change only through deploys" in named.stderr
    assert _rows(stack, "beta", columns) == rows
    assert stack.releases("beta") == {1: "live"}

    upgraded = stack.factory("tenant", "upgrade", "beta")
    assert upgraded.code == 0, upgraded.stderr + upgraded.stdout
    assert stack.releases("beta") == {1: "retired", 2: "live"}
    plan = _release_plan(stack, "beta", 2)
    (new_migration,) = plan["new_migrations"]
    assert new_migration == "migrations/0002_choicelist_installed_values_and_more.py"
    assert plan["classification"] == "safe"
    assert plan["changes"] == []
    assert plan["operations"] == [{"migration": new_migration, "operations": UPGRADE_OPERATIONS}]
    assert _lines_match(
        upgraded.stdout.splitlines(),
        [
            "[1/1] beta",
            f"  Built release 2 from the spec of release 1; new migrations: {new_migration}.",
            *_deploy_lines(stack, "beta", 2, rows),
            "Upgraded and deployed: beta.",
        ],
    ), upgraded.stdout
    for table in KIT_TABLES:
        assert stack.columns(f"t_beta_{table}") == [*columns[f"t_beta_{table}"], "installed_values"]
    assert _rows(stack, "beta", columns) == rows
    # The deploy's install remembered what the spec installed.
    ((remembered,),) = stack.sql(
        "SELECT installed_values FROM t_beta_choicelist WHERE key = 'task_status'"
    )
    assert _json(remembered) == {"name": "Task status"}

    assert _choice_list_names(world) == (200, ["Task priority", "Task status"])
    headers = stack.api_key_headers(world.bob_key)
    pipelines = stack.request("GET", "beta.localhost", "/api/pipelines/", headers=headers)
    assert pipelines.status == 200, pipelines.body
    companies = stack.request("GET", "beta.localhost", "/api/companies/", headers=headers)
    assert sorted(item["name"] for item in companies.json()["results"]) == ["Hooli", "Initech"]
    _answer, cookies = stack.login("beta.localhost", "bob", PASSWORD)
    admin_lists = stack.request("GET", "beta.localhost", "/t_beta/choicelist/", cookies=cookies)
    assert admin_lists.status == 200
    assert b"Task status" in admin_lists.body

    again = stack.factory("tenant", "upgrade", "beta")
    assert again.code == 0, again.stderr
    assert again.stdout.splitlines() == [
        "[1/1] beta",
        "  beta is already on the current kit (release 2); nothing was built.",
        "Already on the current kit: beta.",
    ]
    assert stack.releases("beta") == {1: "retired", 2: "live"}


def test_no_deploy_builds_into_preview_and_leaves_the_live_tables_alone(world: World) -> None:
    stack = world.stack
    live = stack.table_state("t_gamma_")
    upgraded = stack.factory("tenant", "upgrade", "gamma", "--no-deploy")
    assert upgraded.code == 0, upgraded.stderr + upgraded.stdout
    assert upgraded.stdout.splitlines() == [
        "[1/1] gamma",
        "  Built release 2 from the spec of release 1; new migrations: "
        "migrations/0002_choicelist_installed_values_and_more.py.",
        "  Release 2 is in preview at http://gamma--preview.localhost/; deploy it with "
        "`factory deploy gamma`.",
        "Upgraded into preview: gamma.",
    ]
    assert stack.releases("gamma") == {1: "live", 2: "preview"}
    assert stack.table_state("t_gamma_") == live
    assert "installed_values" not in stack.columns("t_gamma_choicelist")
    assert "installed_values" in stack.columns("p_gamma_choicelist")

    deployed = stack.factory("deploy", "gamma")
    assert deployed.code == 0, deployed.stderr
    assert stack.releases("gamma") == {1: "retired", 2: "live"}
    for table in KIT_TABLES:
        assert stack.columns(f"t_gamma_{table}")[-1] == "installed_values"


def test_upgrade_refuses_unknown_tenants_and_unclear_requests(world: World) -> None:
    stack = world.stack
    releases = {slug: stack.releases(slug) for slug in ("alpha", "beta", "delta", "gamma")}
    for argv, message in (
        ((), "Name the tenants to upgrade, or give --all"),
        (("beta", "--all"), "Name the tenants to upgrade or give --all, not both."),
        (("delta", "nosuch"), "There is no tenant 'nosuch'"),
    ):
        refused = stack.factory("tenant", "upgrade", *argv)
        assert (refused.code, refused.stdout) == (2, ""), argv
        assert message in refused.stderr, argv
    assert {slug: stack.releases(slug) for slug in releases} == releases


def test_upgrade_all_goes_on_past_a_tenant_that_fails(world: World) -> None:
    stack = world.stack
    alpha = stack.table_state("t_alpha_")
    delta_columns = {table: stack.columns(table) for table in stack.tables("t_delta_")}
    delta_rows = _rows(stack, "delta", delta_columns)
    # alpha's deploy cannot take its backup: where its backups go is a file.
    blocker = stack.root / "backups" / "alpha"
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("not a folder")

    upgraded = stack.factory("tenant", "upgrade", "--all")
    assert upgraded.code == 1, upgraded.stderr + upgraded.stdout
    assert _lines_match(
        upgraded.stdout.splitlines(),
        [
            "[1/4] alpha",
            "[2/4] beta",
            "  beta is already on the current kit (release 2); nothing was built.",
            "[3/4] delta",
            "  Built release 2 from the spec of release 1; new migrations: "
            "migrations/0002_choicelist_installed_values_and_more.py.",
            *_deploy_lines(stack, "delta", 2, delta_rows),
            "[4/4] gamma",
            "  gamma is already on the current kit (release 2); nothing was built.",
            "Upgraded and deployed: delta; Already on the current kit: beta, gamma; "
            "Not upgraded: alpha.",
        ],
    ), upgraded.stdout
    assert upgraded.stderr == (
        "alpha was not upgraded: FileExistsError(17, 'File exists'). Release 1 stays live. "
        "Release 2 waits in preview: once the cause is fixed, deploy it with `factory deploy "
        "alpha` or run the upgrade again.\n"
    )
    # alpha stays on its release with its tables as they were; its new release waits.
    assert stack.releases("alpha") == {1: "live", 2: "preview"}
    assert stack.table_state("t_alpha_") == alpha
    assert stack.releases("delta") == {1: "retired", 2: "live"}
    assert _rows(stack, "delta", delta_columns) == delta_rows
    assert stack.releases("beta") == {1: "retired", 2: "live"}

    # Once the cause is gone, upgrading alpha again builds on its live release and deploys.
    blocker.unlink()
    retried = stack.factory("tenant", "upgrade", "alpha")
    assert retried.code == 0, retried.stderr + retried.stdout
    assert stack.releases("alpha") == {1: "retired", 2: "retired", 3: "live"}
    assert stack.columns("t_alpha_stage")[-1] == "installed_values"
