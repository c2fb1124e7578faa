"""``manage.py factory rollback`` at a terminal: it states what would be lost, asks, and
only a yes rolls back; without a terminal only ``--yes`` does.

The command runs in a fresh process whose standard input is a pseudo-terminal, so the
real question is asked and read. Tenant acme has three companies in release 1; release 2
(adding a website) is deployed over it, then one company is added, one renamed and one
removed. The tests run in order: refusals first, then the rollback, then its undoing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pytest

from tests.tenants.conftest import WEBSITE_FIELD, TenantStack, company_spec

LOSS_LINES = [
    "What would be lost (3 rows written since the backup):",
    "- t_acme_company: 1 added, 1 changed, 1 removed since the backup",
    "- t_acme_company: the values of website (added after release 1)",
]
QUESTION = "Roll acme back to release 1? [y/N] "
REFUSED_WITHOUT_TERMINAL = (
    "Refusing to roll back without a confirmation: there is no terminal to ask. Read what "
    "would be lost above and run again with --yes. Nothing was changed.\n"
)
RELEASE_1_COMPANIES = [("Globex", "Springfield"), ("Hooli", "Palo Alto"), ("Initech", "Austin")]


@dataclass
class Deployed:
    stack: TenantStack
    backup_rows: int
    backup_counts: dict[str, int]
    written: dict[str, list[tuple]]  # the tenant's tables once written after the deploy


def _companies(stack: TenantStack) -> list[tuple]:
    return sorted(stack.sql("SELECT name, city FROM t_acme_company"))


def _row_counts(stack: TenantStack) -> dict[str, int]:
    return {
        table: stack.sql(f'SELECT COUNT(*) FROM "{table}"')[0][0]
        for table in stack.tables("t_acme_")
    }


def _backups(stack: TenantStack) -> list[str]:
    rows = stack.sql("SELECT reason FROM tenants_tenantbackup ORDER BY id")
    return [reason for (reason,) in rows]


@pytest.fixture(scope="module")
def deployed(stack: TenantStack) -> Deployed:
    spec = stack.spec_file("v1", company_spec())
    created = stack.factory("tenant", "create", "acme", "--name", "Acme", "--spec", spec)
    assert created.code == 0, created.stderr + created.stdout
    # RETURNING: stack.sql() fetches rows, which psycopg refuses for a bare write.
    for name, city in RELEASE_1_COMPANIES:
        stack.sql(
            "INSERT INTO t_acme_company (created_at, updated_at, name, city) "
            "VALUES (CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, %s, %s) RETURNING id",
            (name, city),
        )
    v2 = stack.spec_file("v2", company_spec(WEBSITE_FIELD))
    applied = stack.factory("apply", "acme", v2, "--no-preview")
    assert applied.code == 0, applied.stderr + applied.stdout
    deployed = stack.factory("deploy", "acme")
    assert deployed.code == 0, deployed.stderr + deployed.stdout
    assert stack.releases("acme") == {1: "retired", 2: "live"}
    ((counts,),) = stack.sql("SELECT tables FROM tenants_tenantbackup")
    counts = json.loads(counts) if isinstance(counts, str) else counts
    # Written after the deploy: what a rollback to release 1 would lose.
    added = stack.sql(
        "INSERT INTO t_acme_company (created_at, updated_at, name, city, website) "
        "VALUES (CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 'Written late', 'Paris', 'late.example') "
        "RETURNING id"
    )
    changed = stack.sql(
        "UPDATE t_acme_company SET name = 'Hooli XYZ' WHERE name = 'Hooli' RETURNING id"
    )
    removed = stack.sql("DELETE FROM t_acme_company WHERE name = 'Globex' RETURNING id")
    assert (len(added), len(changed), len(removed)) == (1, 1, 1)
    return Deployed(stack, sum(counts.values()), counts, stack.table_state("t_acme_"))


def _plan_lines(deployed: Deployed) -> list[str]:
    """The plan the command prints before anything else: what it restores, what is lost."""
    return [
        re.escape(
            "Rolling acme back from release 2 to release 1 restores the code of release 1 and "
            "the data as of "
        )
        + r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"
        + re.escape(f" UTC (before deploying release 2, {deployed.backup_rows:,} rows)."),
        *map(re.escape, LOSS_LINES),
    ]


def _assert_lines(output: str, patterns: list[str]) -> None:
    lines = output.splitlines()
    assert len(lines) == len(patterns), output
    for line, pattern in zip(lines, patterns, strict=True):
        assert re.fullmatch(pattern, line), (line, pattern)


def _assert_unchanged(deployed: Deployed) -> None:
    stack = deployed.stack
    assert stack.releases("acme") == {1: "retired", 2: "live"}
    assert stack.table_state("t_acme_") == deployed.written
    assert "website" in stack.columns("t_acme_company")
    assert _backups(stack) == ["before deploying release 2"]  # no safety backup was taken


def _done_lines(stack: TenantStack, *, target: int) -> list[str]:
    """What the command prints once it has rolled back to ``target``: the data's date, the
    safety backup it took just now, and the reload."""
    ((safety,),) = stack.sql(
        "SELECT path FROM tenants_tenantbackup WHERE reason = %s",
        (f"before rolling back to release {target}",),
    )
    return [
        re.escape(f"acme is back on release {target} with the data of ")
        + r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"
        + re.escape(f" UTC. Safety backup of what was replaced: {safety}."),
        re.escape("  Touched the reload stamp (the development server restarts)."),
    ]


@pytest.mark.parametrize(
    "typed", [b"no\n", b"\n", b"\x04"], ids=["no", "empty answer", "end of input (Ctrl-D)"]
)
def test_anything_but_yes_at_the_terminal_changes_nothing(deployed: Deployed, typed: bytes) -> None:
    answered = deployed.stack.manage_at_terminal("factory", "rollback", "acme", typed=typed)
    assert answered.code == 2, answered.stderr
    _assert_lines(
        answered.stdout,
        [*_plan_lines(deployed), re.escape(QUESTION), re.escape("Nothing was changed.")],
    )
    assert answered.stderr == ""
    _assert_unchanged(deployed)


def test_without_a_terminal_it_refuses_even_when_yes_is_piped_in(deployed: Deployed) -> None:
    piped = deployed.stack.manage("factory", "rollback", "acme", stdin="yes\n")
    assert piped.code == 2
    _assert_lines(piped.stdout, _plan_lines(deployed))  # the loss is stated, nothing asked
    assert piped.stderr == REFUSED_WITHOUT_TERMINAL
    _assert_unchanged(deployed)


def test_yes_at_the_terminal_rolls_back_code_and_data(deployed: Deployed) -> None:
    stack = deployed.stack
    answered = stack.manage_at_terminal("factory", "rollback", "acme", typed=b"yes\n")
    assert answered.code == 0, answered.stderr
    lines = answered.stdout.splitlines()
    _assert_lines("\n".join(lines[:5]), [*_plan_lines(deployed), re.escape(QUESTION)])
    _assert_lines("\n".join(lines[5:]), _done_lines(stack, target=1))
    assert stack.releases("acme") == {1: "live", 2: "retired"}
    assert "website" not in stack.columns("t_acme_company")
    assert _companies(stack) == sorted(RELEASE_1_COMPANIES)
    assert _row_counts(stack) == deployed.backup_counts
    assert _backups(stack) == ["before deploying release 2", "before rolling back to release 1"]


def test_yes_flag_without_a_terminal_undoes_the_rollback_without_asking(
    deployed: Deployed,
) -> None:
    stack = deployed.stack
    if stack.releases("acme") != {1: "live", 2: "retired"}:  # run alone: roll back first
        test_yes_at_the_terminal_rolls_back_code_and_data(deployed)
    undone = stack.manage("factory", "rollback", "acme", "2", "--yes", stdin="")
    assert undone.code == 0, undone.stderr
    assert undone.stderr == ""
    _assert_lines(
        undone.stdout,
        [  # the plan, then done: not asked
            re.escape("Rolling acme back from release 1 to release 2 restores the code of ")
            + re.escape("release 2 and the data as of ")
            + r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"
            + re.escape(f" UTC (before rolling back to release 1, {deployed.backup_rows:,} rows)."),
            re.escape("What would be lost (3 rows written since the backup):"),
            re.escape("- t_acme_company: 1 added, 1 changed, 1 removed since the backup"),
            *_done_lines(stack, target=2),
        ],
    )
    assert stack.releases("acme") == {1: "retired", 2: "live"}
    assert stack.table_state("t_acme_") == deployed.written  # as it was before the rollback
