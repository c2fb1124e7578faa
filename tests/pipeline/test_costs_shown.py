"""Money shown to builders is never a silent $0: the console, the API and the eval report
show a priced model's exact cost, "cost unknown (model X has no price)" for a model with
no price, and "scripted/replay — no model called" when no model answered."""

from __future__ import annotations

import io
import json
import re
from decimal import Decimal

import pytest
import yaml
from django.core.management import call_command
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from factory.agents.services import agent_run_create, agent_run_execute
from factory.llm.pricing import price_table
from factory.llm.scripted import ScriptedProvider, scripted_turn
from factory.llm.types import Usage
from factory.pipeline import services
from factory.pipeline.models import AgentStep, ChangeRequest
from factory.spec.template import template_app_spec
from tests.pipeline import scripts

pytestmark = pytest.mark.usefixtures("spec_only_builder")

# $1 and $2 per million tokens: a token costs exactly $0.000001 in, $0.000002 out.
PRICES = price_table({"gpt-5-mini": {"input": "1.00", "output": "2.00"}})
UNKNOWN = "cost unknown (model mystery-model has no price)"


def request_with_run(tenant, builder, *, model: str) -> ChangeRequest:
    """A request with one finished data-model run of ``model`` (billable), 1,000 tokens in
    and 500 out: $0.002000 when the model is priced."""
    change_request = ChangeRequest.objects.create(
        tenant=tenant, builder=builder, text=scripts.REQUEST
    )
    run = agent_run_create(
        role="data_model",
        task="Add bikes.",
        spec=template_app_spec(),
        prompt_context={"request": scripts.REQUEST, "requirements": "R1."},
    )
    turn = scripted_turn(
        ("finish", {"summary": "Done."}), usage=Usage(input_tokens=1_000, output_tokens=500)
    )
    provider = ScriptedProvider([turn], model=model, billable=True)
    run = agent_run_execute(run_id=run.pk, provider=provider, prices=PRICES)
    AgentStep.objects.create(change_request=change_request, slot="task:bikes", run=run)
    return change_request


def console_page(user, change_request) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(f"/admin/pipeline/changerequest/{change_request.pk}/change/")
    assert response.status_code == 200
    return response.content.decode()


def api_usage(user, change_request) -> dict:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    response = client.get(f"/api/factory/requests/{change_request.pk}/")
    assert response.status_code == 200
    return response.json()["usage"]


# The builders' console ----------------------------------------------------------------------


def test_the_console_shows_cost_unknown_for_a_model_with_no_price(tenant, builder):
    page = console_page(builder, request_with_run(tenant, builder, model="mystery-model"))

    # The request's total, the run's line and its one turn.
    assert page.count(UNKNOWN) == 3
    assert "1000 input and 500 output tokens, " + UNKNOWN + ".</p>" in page
    assert "Cost not known: no price is known for model &#x27;mystery-model&#x27;" in page
    assert "$0" not in page


def test_the_console_shows_the_exact_cost_of_a_priced_model(tenant, builder):
    page = console_page(builder, request_with_run(tenant, builder, model="gpt-5-mini"))

    assert page.count("$0.002000") == 3
    assert "1000 input and 500 output tokens, $0.002000.</p>" in page
    assert "cost unknown" not in page
    assert "no model called" not in page


def test_the_console_says_a_scripted_request_called_no_model(send, tenant, builder):
    change_request, steps = services.change_request_create(
        tenant=tenant, builder=builder, text=scripts.REQUEST, provider_config=scripts.scripted()
    )
    send(steps)

    page = console_page(builder, change_request)

    assert "output tokens, scripted — no model called.</p>" in page
    assert "$0" not in page


def test_the_agent_run_admin_shows_cost_unknown_and_exact_costs(tenant, builder):
    from django.contrib.auth import get_user_model

    unknown = request_with_run(tenant, builder, model="mystery-model").agent_steps.get().run
    priced = request_with_run(tenant, builder, model="gpt-5-mini").agent_steps.get().run
    admin_user = get_user_model().objects.create_superuser("root", password="pw-root-123")
    client = Client()
    client.force_login(admin_user)

    listed = client.get("/admin/agents/agentrun/").content.decode()
    run_page = client.get(f"/admin/agents/agentrun/{unknown.pk}/change/").content.decode()
    turns = client.get("/admin/agents/agentturn/").content.decode()

    assert (listed.count(UNKNOWN), listed.count("$0.002000")) == (1, 1)
    assert (run_page.count(UNKNOWN), run_page.count("0.000000")) == (2, 0)  # run and turn
    assert (turns.count(UNKNOWN), turns.count("$0.002000")) == (1, 1)
    assert priced.cost == Decimal("0.002000")


# The factory API ----------------------------------------------------------------------------


def test_the_api_gives_an_unknown_cost_as_null_with_the_reason(tenant, builder):
    usage = api_usage(builder, request_with_run(tenant, builder, model="mystery-model"))

    assert usage == {
        "runs": 1,
        "turns": 1,
        "input_tokens": 1000,
        "output_tokens": 500,
        "cost_usd": None,
        "cost_note": UNKNOWN,
    }


def test_the_api_gives_a_priced_models_exact_cost(tenant, builder):
    usage = api_usage(builder, request_with_run(tenant, builder, model="gpt-5-mini"))

    assert (usage["cost_usd"], usage["cost_note"]) == ("0.002000", "")


def test_the_api_says_a_scripted_request_called_no_model(send, tenant, builder):
    change_request, steps = services.change_request_create(
        tenant=tenant, builder=builder, text=scripts.REQUEST, provider_config=scripts.scripted()
    )
    send(steps)

    usage = api_usage(builder, change_request)

    assert (usage["runs"], usage["cost_usd"], usage["cost_note"]) == (
        1,
        "0.000000",
        "scripted — no model called",
    )


def test_the_schema_documents_that_an_unknown_cost_is_null_with_a_reason(db):
    schema = APIClient().get("/api/factory/schema/", HTTP_ACCEPT="application/json").json()

    usage = schema["components"]["schemas"]["Usage"]
    request = schema["components"]["schemas"]["ChangeRequest"]
    assert request["properties"]["usage"] == {
        "allOf": [{"$ref": "#/components/schemas/Usage"}],
        "readOnly": True,
    }
    assert "usage" in request["required"]
    assert (
        usage["properties"]["cost_usd"]["type"],
        usage["properties"]["cost_usd"]["nullable"],
    ) == (
        "string",
        True,
    )
    assert "Null when it is not known" in usage["properties"]["cost_usd"]["description"]
    assert "never given as 0" in usage["properties"]["cost_usd"]["description"]
    assert "replay — no model called" in usage["properties"]["cost_note"]["description"]


# The eval report ----------------------------------------------------------------------------


def run_eval(folder, *argv):
    stdout, stderr = io.StringIO(), io.StringIO()
    try:
        call_command("factory", "eval", "--cases", str(folder), *argv, stdout=stdout, stderr=stderr)
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    return code, stdout.getvalue()


@pytest.fixture
def bikes_case(tmp_path):
    data = {
        "name": "bikes",
        "title": "Bikes",
        "request": scripts.REQUEST,
        "answers": [{"match": ["deposit"], "answer": "No deposit."}],
        "checks": [{"entity": "Bike"}],
        "script": scripts.book(),
    }
    (tmp_path / "bikes.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    return tmp_path


@pytest.fixture
def live_model(monkeypatch):
    """``--live`` answered by the case's script as a billable model named ``model`` would
    be, priced from PRICES: no model is called, the costs are computed as for a real one."""
    from factory.llm import config as llm_config
    from factory.pipeline import services as pipeline_services

    original = pipeline_services.step_provider

    def use(model: str) -> None:
        def step_provider(*, config, role, slot, turns_done):
            provider, _free = original(
                config={"kind": "scripted", "script": scripts.book(), "count_tokens": True},
                role=role,
                slot=slot,
                turns_done=turns_done,
            )
            provider.model, provider.billable = model, True
            return provider, PRICES

        monkeypatch.setattr(pipeline_services, "step_provider", step_provider)
        monkeypatch.setattr(llm_config, "provider_for_role", lambda role, config: None)

    return use


def expected_cost(input_tokens: int, output_tokens: int) -> str:
    cost = Decimal(input_tokens) * Decimal("0.000001") + Decimal(output_tokens) * Decimal(
        "0.000002"
    )
    return f"{cost:.6f}"


@pytest.mark.django_db(transaction=True)
def test_the_eval_report_shows_a_priced_models_exact_cost(bikes_case, live_model):
    live_model("gpt-5-mini")

    code, out = run_eval(bikes_case, "--live")

    assert code == 0, out
    row = re.search(r"^bikes\s+1\s+1\.00\s+1\.00\s+([\d,]+)\s+([\d,]+)\s+\d+\.\d  (.*)$", out, re.M)
    tokens = [int(row.group(number).replace(",", "")) for number in (1, 2)]
    assert row.group(3) == "$" + expected_cost(*tokens)
    code, out = run_eval(bikes_case, "--live", "--json")
    case = json.loads(out)["cases"][0]
    assert (case["cost_usd"], case["cost_note"]) == (
        expected_cost(case["input_tokens"], case["output_tokens"]),
        "",
    )


@pytest.mark.django_db(transaction=True)
def test_the_eval_report_shows_cost_unknown_for_a_model_with_no_price(bikes_case, live_model):
    live_model("mystery-model")

    code, out = run_eval(bikes_case, "--live")

    assert code == 0, out
    assert (
        re.search(r"^bikes\s+1\s+1\.00\s+1\.00\s+[\d,]+\s+[\d,]+\s+\d+\.\d  (.*)$", out, re.M)[1]
        == UNKNOWN
    )
    code, out = run_eval(bikes_case, "--live", "--json")
    case = json.loads(out)["cases"][0]
    assert (case["cost_usd"], case["cost_note"], case["cost_text"]) == (None, UNKNOWN, UNKNOWN)
