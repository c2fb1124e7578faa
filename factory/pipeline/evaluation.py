"""Evals: run scenarios through the real pipeline, check what comes out, measure.

Each case (a scenario file) runs ``tries`` times, each time on a fresh scratch tenant that
is removed afterwards. A try passes when the request reaches the preview and every
acceptance check holds on the resulting spec and release. Offline, the agents' answers are
the case's hand-authored script (scripted provider): the figures then check the harness,
the pipeline and the compiler, not a model. With ``live`` the configured provider answers
and the figures measure the model. Per case: pass@1 (the share of tries that pass) and
pass^k (the chance that k tries in a row all pass, estimated from the tries), tokens, cost
and time. The cost is a ``CostShown``: offline it says "scripted — no model called", and a
model with no price leaves it unknown rather than $0.

Acceptance checks (one mapping each):
``{entity: Name}``, ``{field: Entity.name, type: t}``, ``{relation: Entity.name, target:
Name}``, ``{choice_list: key, options: [values]}``, ``{pipeline: Entity, stages: [names in
order]}``, ``{automation: Entity, trigger: kind, sets: field}``, ``{computed: Entity.name}``,
``{api: Entity}``, ``{role_can: role_id, <view|add|change|delete>: Entity}``, ``{app:
checks_pass}`` (the release passed its compile, migrate and generated-test checks).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from math import comb
from typing import Any

from factory.agents.budgets import CostShown, runs_cost_shown
from factory.pipeline.models import ChangeRequest, RequestState
from factory.pipeline.scenarios import Scenario, scenario_run
from factory.pipeline.selectors import change_request_runs
from factory.pipeline.services import request_usage
from factory.spec.models import AppSpec, EntitySpec

PERMISSIONS = ("view", "add", "change", "delete")


def _entity(spec: AppSpec, name: str) -> EntitySpec | None:
    return next((entity for entity in spec.entities if entity.name == name), None)


def _field_of(spec: AppSpec, dotted: str) -> tuple[EntitySpec | None, Any]:
    entity_name, _, field_name = str(dotted).partition(".")
    entity = _entity(spec, entity_name)
    if entity is None:
        return None, None
    return entity, next((item for item in entity.fields if item.name == field_name), None)


def _check_entity(check: Mapping[str, Any], spec: AppSpec, release: Any) -> str:
    return "" if _entity(spec, check["entity"]) else f"no entity {check['entity']}"


def _check_field(check: Mapping[str, Any], spec: AppSpec, release: Any) -> str:
    _entity_spec, found = _field_of(spec, check["field"])
    if found is None:
        return f"no field {check['field']}"
    wanted = check.get("type")
    if wanted and found.type != wanted:
        return f"{check['field']} is {found.type}, not {wanted}"
    return ""


def _check_relation(check: Mapping[str, Any], spec: AppSpec, release: Any) -> str:
    _entity_spec, found = _field_of(spec, check["relation"])
    if found is None or found.type not in {"relation", "relation_many"}:
        return f"no relation {check['relation']}"
    target = _entity(spec, check["target"])
    if target is None or found.target != target.id:
        return f"{check['relation']} does not point to {check['target']}"
    return ""


def _check_choice_list(check: Mapping[str, Any], spec: AppSpec, release: Any) -> str:
    found = next((item for item in spec.choice_lists if item.key == check["choice_list"]), None)
    if found is None:
        return f"no choice list {check['choice_list']}"
    values = {option.value for option in found.options}
    missing = [value for value in check.get("options", []) if value not in values]
    return f"choice list {found.key} lacks {', '.join(missing)}" if missing else ""


def _in_order(wanted: Sequence[str], names: Sequence[str]) -> bool:
    position = 0
    lowered = [name.lower() for name in names]
    for name in wanted:
        try:
            position = lowered.index(name.lower(), position) + 1
        except ValueError:
            return False
    return True


def _check_pipeline(check: Mapping[str, Any], spec: AppSpec, release: Any) -> str:
    entity = _entity(spec, check["pipeline"])
    if entity is None:
        return f"no entity {check['pipeline']}"
    pipelines = [item for item in spec.pipelines if item.entity == entity.id]
    if not pipelines:
        return f"{entity.name} has no pipeline"
    wanted = check.get("stages", [])
    if any(_in_order(wanted, [stage.name for stage in item.stages]) for item in pipelines):
        return ""
    return f"no pipeline of {entity.name} has the stages {', '.join(wanted)} in this order"


def _check_automation(check: Mapping[str, Any], spec: AppSpec, release: Any) -> str:
    entity = _entity(spec, check["automation"])
    if entity is None:
        return f"no entity {check['automation']}"
    for automation in spec.automations:
        if automation.entity != entity.id:
            continue
        if check.get("trigger") and automation.trigger.kind != check["trigger"]:
            continue
        sets = check.get("sets")
        if sets and not any(
            action.kind == "set_field" and action.field == sets for action in automation.actions
        ):
            continue
        return ""
    return f"no automation on {entity.name} matching {dict(check)}"


def _check_computed(check: Mapping[str, Any], spec: AppSpec, release: Any) -> str:
    entity_name, _, name = str(check["computed"]).partition(".")
    entity = _entity(spec, entity_name)
    if entity is None or not any(item.name == name for item in entity.computed):
        return f"no computed field {check['computed']}"
    return ""


def _check_api(check: Mapping[str, Any], spec: AppSpec, release: Any) -> str:
    entity = _entity(spec, check["api"])
    if entity is None:
        return f"no entity {check['api']}"
    return "" if entity.api.enabled else f"{entity.name} is not in the API"


def _check_role(check: Mapping[str, Any], spec: AppSpec, release: Any) -> str:
    role = next((item for item in spec.roles if item.id == check["role_can"]), None)
    if role is None:
        return f"no role {check['role_can']}"
    for permission in PERMISSIONS:
        if permission in check:
            entity = _entity(spec, check[permission])
            granted = role.permissions.get(entity.id, []) if entity else []
            if permission not in granted:
                return f"role {role.id} cannot {permission} {check[permission]}"
    return ""


def _check_app(check: Mapping[str, Any], spec: AppSpec, release: Any) -> str:
    if release is None:
        return "no release was built"
    return "" if release.check_ok else f"release {release.number} failed its checks"


CHECKS = {
    "entity": _check_entity,
    "field": _check_field,
    "relation": _check_relation,
    "choice_list": _check_choice_list,
    "pipeline": _check_pipeline,
    "automation": _check_automation,
    "computed": _check_computed,
    "api": _check_api,
    "role_can": _check_role,
    "app": _check_app,
}


def acceptance_failures(
    checks: Sequence[Mapping[str, Any]], *, spec: AppSpec | None, release: Any
) -> list[str]:
    """What fails among ``checks`` (empty: everything holds)."""
    if spec is None:
        return ["no spec was produced"]
    failures = []
    for check in checks:
        kind = next((key for key in check if key in CHECKS), None)
        if kind is None:
            failures.append(f"unknown check {dict(check)}")
            continue
        failure = CHECKS[kind](check, spec, release)
        if failure:
            failures.append(failure)
    return failures


@dataclass
class TryOutcome:
    passed: bool
    state: str
    failures: list[str]
    input_tokens: int = 0
    output_tokens: int = 0
    cost: CostShown = field(default_factory=CostShown)
    seconds: float = 0.0


@dataclass
class CaseOutcome:
    scenario: Scenario
    tries: list[TryOutcome] = field(default_factory=list)
    skipped: str = ""

    @property
    def passes(self) -> int:
        return sum(1 for item in self.tries if item.passed)

    @property
    def pass_at_1(self) -> float:
        return self.passes / len(self.tries) if self.tries else 0.0

    def pass_hat(self, k: int) -> float:
        """pass^k: the chance that k tries in a row all pass, from n tries of which c passed
        (C(c, k) / C(n, k), the unbiased estimate)."""
        n = len(self.tries)
        if n == 0 or k > n:
            return 0.0
        return comb(self.passes, k) / comb(n, k)

    def totals(self) -> dict[str, Any]:
        return {
            "input_tokens": sum(item.input_tokens for item in self.tries),
            "output_tokens": sum(item.output_tokens for item in self.tries),
            "cost": sum((item.cost for item in self.tries), CostShown()),
            "seconds": sum(item.seconds for item in self.tries),
        }


def eval_slug(scenario: Scenario, number: int) -> str:
    letters = "".join(char for char in scenario.name.lower() if char.isalnum())[:20]
    return f"ev{letters}{number}"


def eval_try(
    *, scenario: Scenario, number: int, builder: Any, live: bool, send: Any, timeout: float
) -> TryOutcome:
    """One try on a fresh scratch tenant, removed afterwards."""
    from factory.pipeline.demo.services import scratch_tenant_remove
    from factory.tenants.services import tenant_create

    slug = eval_slug(scenario, number)
    scratch_tenant_remove(slug=slug)
    tenant = tenant_create(slug=slug, name=f"Eval {scenario.title}", actor=builder)
    config = (
        {} if live else {"kind": "scripted", "script": dict(scenario.script), "count_tokens": True}
    )
    started = time.monotonic()
    change_request: ChangeRequest | None = None
    try:
        change_request = scenario_run(
            scenario=scenario,
            tenant=tenant,
            builder=builder,
            provider_config=config,
            send=send,
            timeout=timeout,
        )
    except Exception as error:  # the request records why; the eval reports it and goes on
        change_request = tenant.change_requests.order_by("-id").first()
        failures = [f"the pipeline raised {type(error).__name__}: {error}"]
    else:
        failures = []
    seconds = time.monotonic() - started
    try:
        if change_request is None:
            return TryOutcome(False, "not created", failures or ["no request"], seconds=seconds)
        change_request.refresh_from_db()
        usage = request_usage(change_request)
        if change_request.state != RequestState.PREVIEW:
            failures.append(
                f"ended {change_request.state}: {change_request.error or 'no preview'}"[:600]
            )
            spec = None
        else:
            assert change_request.release is not None, "a request in preview has its release"
            spec = AppSpec.model_validate(change_request.release.spec)
        failures += (
            acceptance_failures(scenario.checks, spec=spec, release=change_request.release)
            if spec
            else []
        )
        return TryOutcome(
            passed=not failures,
            state=change_request.state,
            failures=failures,
            input_tokens=usage["input_tokens"],
            output_tokens=usage["output_tokens"],
            cost=runs_cost_shown(change_request_runs(change_request=change_request)),
            seconds=seconds,
        )
    finally:
        scratch_tenant_remove(slug=slug)


def eval_case(
    *, scenario: Scenario, tries: int, builder: Any, live: bool, send: Any, timeout: float
) -> CaseOutcome:
    outcome = CaseOutcome(scenario=scenario)
    if not live and not scenario.script:
        outcome.skipped = "no hand-authored script: run it with --live"
        return outcome
    for number in range(1, tries + 1):
        outcome.tries.append(
            eval_try(
                scenario=scenario,
                number=number,
                builder=builder,
                live=live,
                send=send,
                timeout=timeout,
            )
        )
    return outcome
