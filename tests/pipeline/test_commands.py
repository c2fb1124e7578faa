"""``factory demo`` and ``factory eval`` from the command line."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from factory.tenants.models import Tenant
from tests.conftest import command_run as run
from tests.pipeline import scripts
from tests.pipeline.stack import PipelineStack


def case_file(folder, name, checks):
    data = {
        "name": name,
        "title": f"Case {name}",
        "request": scripts.REQUEST,
        "answers": [{"match": ["deposit"], "answer": "No deposit."}],
        "checks": checks,
        "script": scripts.book(),
    }
    (folder / f"{name}.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))


@pytest.mark.django_db(transaction=True)
def test_eval_reports_pass_rates_tokens_cost_and_time_per_case(tmp_path, spec_only_builder):
    case_file(tmp_path, "bikes", [{"entity": "Bike"}, {"api": "Bike"}, {"app": "checks_pass"}])
    case_file(tmp_path, "scooters", [{"entity": "Scooter"}])

    code, out, _err = run("factory", "eval", "--cases", str(tmp_path), "--tries", "2")

    assert code == 1  # a case failed
    assert out.startswith("OFFLINE: each case plays its hand-authored script")
    assert re.search(
        r"case\s+tries\s+pass@1\s+pass\^2\s+in tok\s+out tok\s+time s  cost$", out, re.M
    )
    # Offline no model answers: the cost says so instead of a model's $0.
    assert re.search(
        r"^bikes\s+2\s+1\.00\s+1\.00\s+[1-9][\d,]*\s+[1-9][\d,]*\s+\d+\.\d  "
        r"scripted — no model called$",
        out,
        re.M,
    )
    assert re.search(r"^scooters\s+2\s+0\.00\s+0\.00\s", out, re.M)
    assert "scooters failed try 1:\n  - no entity Scooter" in out
    assert Tenant.objects.count() == 0  # the scratch tenants are removed


@pytest.mark.django_db(transaction=True)
def test_eval_as_json(tmp_path, spec_only_builder):
    case_file(tmp_path, "bikes", [{"entity": "Bike"}])

    code, out, _err = run("factory", "eval", "--cases", str(tmp_path), "--tries", "1", "--json")

    assert code == 0
    result = json.loads(out)
    assert result["mode"] == "offline"
    assert [(case["case"], case["pass@1"], case["pass^1"]) for case in result["cases"]] == [
        ("bikes", 1.0, 1.0)
    ]
    case = result["cases"][0]
    assert (case["cost_usd"], case["cost_note"]) == ("0.000000", "scripted — no model called")


@pytest.mark.django_db
def test_demo_live_without_a_provider_says_which_setting_is_missing(settings):
    settings.FACTORY_LLM_PROVIDER = "openai"
    settings.OPENAI_API_KEY = ""

    code, _out, err = run("factory", "demo", "--live")

    assert code == 2
    assert err.startswith("No model provider is configured for `factory demo --live`: ")
    assert "OPENAI_API_KEY is not set" in err
    assert Tenant.objects.count() == 0


@pytest.fixture
def demo_stack(tmp_path):
    stack = PipelineStack(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite3'}", redis_url="")
    try:
        yield stack
    finally:
        stack.close()


def test_the_demo_builds_deploys_and_serves_the_recruitment_crm_and_says_it_is_a_replay(
    demo_stack,
):
    first = demo_stack.manage("factory", "demo")

    assert first.code == 0, first.stderr
    out = first.stdout
    assert out.startswith("REPLAY — no model is called.")
    assert "hand-authored, scripted session" in out
    assert "The analyst asks 5 question(s); the simulated builder answers:" in out
    assert (
        "output tokens, replay — no model called (tokens counted offline when the session was "
        "recorded)." in out
    )
    assert "Release 1 deployed." in out
    for line in (
        "  Builders' console: http://localhost:8000/admin/",
        "  The tenant's CRM:  http://recruit.localhost:8000/",
        "  Log in on both as: builder / builder-demo",
    ):
        assert line in out
    assert demo_stack.releases("recruit") == {1: "live"}
    key = re.search(r"Tenant API key:\s+(\S+)", out).group(1)

    demo_stack.serve()
    candidates = demo_stack.request(
        "GET", "recruit.localhost", "/api/candidates/", headers={"Authorization": f"Api-Key {key}"}
    )
    assert candidates.status == 200
    assert candidates.json()["count"] == 8  # the demo's sample rows
    assert "Sample data: 29 demo rows added." in out

    again = demo_stack.manage("factory", "demo")
    assert again.code == 0, again.stderr
    assert (
        "The demo tenant recruit is already built; reusing it (--fresh rebuilds)." in again.stdout
    )
    assert demo_stack.releases("recruit") == {1: "live"}
