"""The recruitment agency scenario of the design, scripted end to end.

Scripted answers for every role (analyst → architect → five specialists → QA) turn the
template CRM into a recruitment CRM: client status and contract start on companies;
candidates with their profile; hiring campaigns with roles; applications moving through
the agency's steps, with rejection reasons and a billing date set when a candidate is
hired. One specialist makes a mistake and repairs it from the tool's error, as models do.

It runs through the real harness, tools and persistence with a ``ScriptedProvider``: the
bench measures the tokens each role is sent, and tests check the scenario still builds a
valid spec. It is an offline demo, never a substitute for a model: every turn is
labelled "scripted".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from factory.agents.budgets import AgentBudget
from factory.agents.models import AgentRun, AgentRunStatus
from factory.agents.outputs import AnalystReport, ArchitectPlan, PlanTask, QAVerdict, Specialist
from factory.agents.prompts import requirements_context
from factory.agents.selectors import agent_run_operations
from factory.agents.services import agent_run_create, agent_run_execute
from factory.agents.tools import spec_patch_apply
from factory.llm.scripted import ScriptedProvider, TokenCounter, scripted_turn
from factory.llm.types import TurnResult
from factory.spec.models import AppSpec

RECRUITMENT_REQUEST = """\
We are a recruitment agency. Our contacts are prospects, client companies, or candidates.
A client gives us a hiring campaign with one or more roles to fill. A candidate applies to
a role, and the application goes through our steps: first contact or spontaneous
application, screening against the role, background checks, first meeting, then
shortlisted or rejected, proposed to the client, accepted or rejected by the client, and
hired once the trial period is over, which is when we bill. We reuse candidates across
roles, so we need each candidate's history of roles. Two recruiters share the candidate
pool. Profiles are mostly technical (developer, ML engineer, CTO, infra lead, lead
developer), sometimes product owners or team managers."""

ANSWERS = """\
- Client status: prospect or active; we track the contract start date.
- Candidates: title, years of experience, expertise, availability date, salary expectation.
- Campaigns: start and end dates, status open / on hold / closed, fee terms.
- Roles: seniority, contract type, location, salary range.
- We note why an application is rejected, and the billing date once hired."""


def _requirement(number: int, text: str) -> dict[str, str]:
    return {"id": f"R{number}", "text": text}


ANALYST_REPORT = AnalystReport.model_validate(
    {
        "summary": "A recruitment CRM: clients give hiring campaigns with roles; candidates "
        "apply to roles and move through the agency's steps up to hiring and billing.",
        "requirements": [
            _requirement(1, "A company has a client status (prospect or active)."),
            _requirement(2, "A client company has a contract start date."),
            _requirement(
                3,
                "A candidate has a title, years of experience, expertise, availability and "
                "salary expectation.",
            ),
            _requirement(
                4, "A campaign belongs to one client company, with dates, status and fee terms."
            ),
            _requirement(
                5,
                "A campaign has one or more job roles, each with profile, seniority, contract "
                "type, location and salary range.",
            ),
            _requirement(6, "An application links one candidate to one job role."),
            _requirement(
                7,
                "An application moves through: first contact, screening, background check, "
                "first meeting, shortlisted, proposed, accepted by client, trial period, hired, "
                "with rejected (by us or by the client) as failed ends.",
            ),
            _requirement(8, "An application records the rejection reason."),
            _requirement(9, "Entering the hired stage sets the billing date."),
            _requirement(10, "A candidate's applications show their history of roles."),
            _requirement(11, "Recruiters share the candidate pool."),
            _requirement(12, "Applications are shown on a board by stage."),
        ],
        "questions": [
            {
                "question": "Is a client's status only prospect or active?",
                "why": "It becomes a closed list on companies.",
                "suggested_answer": "Prospect or active.",
            },
            {
                "question": "Which fee terms do you agree with clients?",
                "why": "Decides whether the fee is a percentage field or free text.",
                "suggested_answer": "A percentage of the first-year salary, in free text.",
            },
        ],
        "assumptions": ["Candidates are people apart from client contacts."],
    }
)


def _task(
    task_id: str,
    specialist: Specialist,
    title: str,
    instructions: str,
    requirements: Sequence[str],
    depends_on: Sequence[str] = (),
) -> PlanTask:
    return PlanTask(
        id=task_id,
        specialist=specialist,
        title=title,
        instructions=instructions,
        requirements=list(requirements),
        depends_on=list(depends_on),
    )


ARCHITECT_PLAN = ArchitectPlan(
    tasks=[
        _task(
            "data_model",
            "data_model",
            "Clients, candidates, campaigns, roles and applications",
            "Add choice lists client_status, campaign_status, role_profile, seniority, "
            "contract_type, expertise. On company add client_status and contract_start. Add "
            "record entities candidate (Candidate), campaign (Campaign, client -> company), "
            "job_role (JobRole, campaign -> campaign) and application (Application, candidate "
            "-> candidate, job_role -> job_role) with rejection_reason and billing_date.",
            ["R1", "R2", "R3", "R4", "R5", "R6", "R8", "R10", "R11"],
        ),
        _task(
            "process",
            "process",
            "The application steps",
            "Add the default pipeline application_steps on application (stage field: stage) "
            "with the stages of R7 (rejected_by_us and rejected_by_client are "
            "lost, hired is won).",
            ["R7"],
            ["data_model"],
        ),
        _task(
            "automations",
            "automations",
            "Billing on hire",
            "Add automation bill_on_hire on application: on entering application_hired, set "
            "billing_date to today() and create the task 'Send the invoice' due in 1 day.",
            ["R9"],
            ["process"],
        ),
        _task(
            "screens",
            "screens",
            "Lists, search and the applications board",
            "Admin options for candidate, campaign, job_role and application; board on "
            "application.",
            ["R10", "R12"],
            ["process"],
        ),
        _task(
            "api_roles",
            "api_roles",
            "API and permissions",
            "Grant the new entities to the template roles; expose applications and candidates "
            "in the API with useful filters.",
            ["R11"],
            ["data_model"],
        ),
    ],
    notes="Candidates are separate from client contacts.",
)

QA_VERDICT = QAVerdict(verdict="pass", covered=[f"R{number}" for number in range(1, 13)], gaps=[])


def _field(entity: str, name: str, type_: str, label: str, **options: Any) -> dict[str, Any]:
    return {"id": f"{entity}_{name}", "name": name, "label": label, "type": type_, **options}


def _options(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"value": value, "label": label} for value, label in pairs]


def _choice_list(key: str, name: str, *pairs: tuple[str, str]) -> dict[str, Any]:
    return {"id": key, "key": key, "name": name, "options": _options(*pairs)}


def _entity(
    entity_id: str, name: str, label: str, plural: str, fields: list[dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    return {
        "id": entity_id,
        "name": name,
        "label": label,
        "label_plural": plural,
        "fields": fields,
        **extra,
    }


def _data_model_script() -> list[TurnResult]:
    return [
        scripted_turn(
            (
                "choice_list_add",
                {
                    "choice_list": _choice_list(
                        "client_status",
                        "Client status",
                        ("prospect", "Prospect"),
                        ("active", "Active"),
                    )
                },
            ),
            (
                "choice_list_add",
                {
                    "choice_list": _choice_list(
                        "campaign_status",
                        "Campaign status",
                        ("open", "Open"),
                        ("on_hold", "On hold"),
                        ("closed", "Closed"),
                    )
                },
            ),
            (
                "choice_list_add",
                {
                    "choice_list": _choice_list(
                        "role_profile",
                        "Profile",
                        ("developer", "Developer"),
                        ("ml_engineer", "ML engineer"),
                        ("cto", "CTO"),
                        ("infra_lead", "Infra lead"),
                        ("lead_developer", "Lead developer"),
                        ("product_owner", "Product owner"),
                        ("team_manager", "Team manager"),
                    )
                },
            ),
            (
                "choice_list_add",
                {
                    "choice_list": _choice_list(
                        "seniority",
                        "Seniority",
                        ("junior", "Junior"),
                        ("confirmed", "Confirmed"),
                        ("senior", "Senior"),
                        ("lead", "Lead"),
                    )
                },
            ),
            (
                "choice_list_add",
                {
                    "choice_list": _choice_list(
                        "contract_type",
                        "Contract type",
                        ("permanent", "Permanent"),
                        ("fixed_term", "Fixed term"),
                        ("freelance", "Freelance"),
                    )
                },
            ),
            (
                "choice_list_add",
                {
                    "choice_list": _choice_list(
                        "expertise",
                        "Expertise",
                        ("python", "Python"),
                        ("javascript", "JavaScript"),
                        ("go", "Go"),
                        ("machine_learning", "Machine learning"),
                        ("cloud", "Cloud"),
                        ("management", "Management"),
                    )
                },
            ),
            text="First the closed lists the new fields use.",
        ),
        scripted_turn(
            (
                "field_add",
                {
                    "entity": "company",
                    "field": _field(
                        "company",
                        "client_status",
                        "choice",
                        "Client status",
                        choice_list="client_status",
                        default="prospect",
                    ),
                },
            ),
            (
                "field_add",
                {
                    "entity": "company",
                    "field": _field("company", "contract_start", "date", "Contract start"),
                },
            ),
        ),
        # A mistake a model makes: a PascalCase field name. The tool says how to fix it.
        scripted_turn(
            (
                "entity_add",
                {
                    "entity": _entity(
                        "candidate",
                        "Candidate",
                        "candidate",
                        "candidates",
                        [
                            _field("candidate", "first_name", "text", "First name", max_length=100),
                            _field(
                                "candidate",
                                "last_name",
                                "text",
                                "Last name",
                                required=True,
                                max_length=100,
                            ),
                            _field("candidate", "email", "email", "Email"),
                            {
                                **_field("candidate", "title", "text", "Title"),
                                "name": "Title",
                            },
                        ],
                    )
                },
            ),
        ),
        scripted_turn(
            (
                "entity_add",
                {
                    "entity": _entity(
                        "candidate",
                        "Candidate",
                        "candidate",
                        "candidates",
                        [
                            _field("candidate", "first_name", "text", "First name", max_length=100),
                            _field(
                                "candidate",
                                "last_name",
                                "text",
                                "Last name",
                                required=True,
                                max_length=100,
                            ),
                            _field("candidate", "email", "email", "Email"),
                            _field("candidate", "phone", "phone", "Phone"),
                            _field("candidate", "title", "text", "Title", max_length=150),
                            _field(
                                "candidate",
                                "years_experience",
                                "integer",
                                "Years of experience",
                                min_value=0,
                            ),
                            _field(
                                "candidate",
                                "expertise",
                                "multi_choice",
                                "Expertise",
                                choice_list="expertise",
                            ),
                            _field("candidate", "available_from", "date", "Available from"),
                            _field(
                                "candidate",
                                "salary_expectation",
                                "money",
                                "Salary expectation",
                                min_value=0,
                            ),
                        ],
                        display=["first_name", "last_name"],
                    )
                },
            ),
            text="Field names are snake_case: fixing the title field.",
        ),
        scripted_turn(
            (
                "entity_add",
                {
                    "entity": _entity(
                        "campaign",
                        "Campaign",
                        "hiring campaign",
                        "hiring campaigns",
                        [
                            _field(
                                "campaign", "name", "text", "Name", required=True, max_length=200
                            ),
                            _field(
                                "campaign",
                                "client",
                                "relation",
                                "Client",
                                required=True,
                                target="company",
                                on_delete="protect",
                                related_name="campaigns",
                            ),
                            _field(
                                "campaign",
                                "status",
                                "choice",
                                "Status",
                                required=True,
                                choice_list="campaign_status",
                                default="open",
                            ),
                            _field("campaign", "start_date", "date", "Start date"),
                            _field("campaign", "end_date", "date", "End date"),
                            _field("campaign", "fee_terms", "long_text", "Fee terms"),
                        ],
                        display=["name"],
                    )
                },
            ),
            (
                "entity_add",
                {
                    "entity": _entity(
                        "job_role",
                        "JobRole",
                        "role",
                        "roles",
                        [
                            _field(
                                "job_role", "title", "text", "Title", required=True, max_length=200
                            ),
                            _field(
                                "job_role",
                                "campaign",
                                "relation",
                                "Campaign",
                                required=True,
                                target="campaign",
                                on_delete="cascade",
                                related_name="roles",
                            ),
                            _field(
                                "job_role",
                                "profile",
                                "choice",
                                "Profile",
                                choice_list="role_profile",
                            ),
                            _field(
                                "job_role",
                                "seniority",
                                "choice",
                                "Seniority",
                                choice_list="seniority",
                            ),
                            _field(
                                "job_role",
                                "contract_type",
                                "choice",
                                "Contract type",
                                choice_list="contract_type",
                            ),
                            _field("job_role", "location", "text", "Location", max_length=200),
                            _field("job_role", "salary_min", "money", "Salary from", min_value=0),
                            _field("job_role", "salary_max", "money", "Salary up to", min_value=0),
                        ],
                        display=["title"],
                    )
                },
            ),
        ),
        scripted_turn(
            (
                "entity_add",
                {
                    "entity": _entity(
                        "application",
                        "Application",
                        "application",
                        "applications",
                        [
                            _field(
                                "application",
                                "candidate",
                                "relation",
                                "Candidate",
                                required=True,
                                target="candidate",
                                on_delete="protect",
                                related_name="applications",
                            ),
                            _field(
                                "application",
                                "job_role",
                                "relation",
                                "Role",
                                required=True,
                                target="job_role",
                                on_delete="protect",
                                related_name="applications",
                            ),
                            _field(
                                "application", "rejection_reason", "long_text", "Rejection reason"
                            ),
                            _field("application", "billing_date", "date", "Billing date"),
                        ],
                        display=["candidate", "job_role"],
                    )
                },
            ),
        ),
        scripted_turn(
            (
                "finish",
                {
                    "summary": "Added client status and contract start on companies, and the "
                    "candidate, campaign, job_role and application entities with their lists.",
                },
            )
        ),
    ]


def _stage(stage_id: str, name: str, kind: str = "open", probability: int = 0) -> dict[str, Any]:
    return {"id": f"application_{stage_id}", "name": name, "kind": kind, "probability": probability}


def _process_script() -> list[TurnResult]:
    return [
        scripted_turn(
            (
                "pipeline_add",
                {
                    "pipeline": {
                        "id": "application_steps",
                        "entity": "application",
                        "name": "Application steps",
                        "is_default": True,
                        "stages": [
                            _stage("first_contact", "First contact", probability=5),
                            _stage("screening", "Screening", probability=10),
                            _stage("background_check", "Background check", probability=20),
                            _stage("first_meeting", "First meeting", probability=30),
                            _stage("shortlisted", "Shortlisted", probability=40),
                            _stage("proposed", "Proposed to client", probability=60),
                            _stage("accepted", "Accepted by client", probability=80),
                            _stage("trial", "Trial period", probability=90),
                            _stage("hired", "Hired", "won", 100),
                            _stage("rejected_by_us", "Rejected by us", "lost"),
                            _stage("rejected_by_client", "Rejected by client", "lost"),
                        ],
                    }
                },
            ),
        ),
        scripted_turn(
            (
                "finish",
                {
                    "summary": "Application steps pipeline (default) with hired as won and two "
                    "rejection stages.",
                },
            )
        ),
    ]


def _automations_script() -> list[TurnResult]:
    return [
        scripted_turn(("spec_read", {"path": "pipelines/application_steps/stages"})),
        scripted_turn(
            (
                "automation_add",
                {
                    "automation": {
                        "id": "bill_on_hire",
                        "name": "Set the billing date when hired",
                        "entity": "application",
                        "trigger": {"kind": "stage_entered", "stage": "application_hired"},
                        "actions": [
                            {"kind": "set_field", "field": "billing_date", "expression": "today()"},
                            {"kind": "create_task", "title": "Send the invoice", "due_in_days": 1},
                        ],
                    }
                },
            ),
        ),
        scripted_turn(
            (
                "finish",
                {
                    "summary": "Automation bill_on_hire: entering hired sets the billing date "
                    "and creates the invoice task.",
                },
            )
        ),
    ]


def _screens_script() -> list[TurnResult]:
    return [
        scripted_turn(
            (
                "admin_options_update",
                {
                    "entity": "candidate",
                    "list_display": [
                        "last_name",
                        "first_name",
                        "title",
                        "years_experience",
                        "owner",
                    ],
                    "list_filter": ["available_from", "owner"],
                    "search_fields": ["first_name", "last_name", "email", "title"],
                },
            ),
            (
                "admin_options_update",
                {
                    "entity": "campaign",
                    "list_display": ["name", "client", "status", "start_date", "end_date", "owner"],
                    "list_filter": ["status", "start_date", "owner"],
                    "search_fields": ["name"],
                },
            ),
            (
                "admin_options_update",
                {
                    "entity": "job_role",
                    "list_display": ["title", "campaign", "profile", "seniority", "location"],
                    "list_filter": ["profile", "seniority", "contract_type"],
                    "search_fields": ["title", "location"],
                },
            ),
            (
                "admin_options_update",
                {
                    "entity": "application",
                    "list_display": ["candidate", "job_role", "pipeline", "stage", "owner"],
                    "list_filter": ["pipeline", "stage", "owner"],
                    "board": True,
                },
            ),
        ),
        scripted_turn(
            (
                "finish",
                {"summary": "Lists, filters and search for the new entities; applications board."},
            )
        ),
    ]


_NEW_ENTITIES = ("candidate", "campaign", "job_role", "application")


def _grants(spec: AppSpec, role_id: str, actions: list[str]) -> dict[str, list[str]]:
    role = next(role for role in spec.roles if role.id == role_id)
    permissions = {
        entity: [str(a) for a in granted] for entity, granted in role.permissions.items()
    }
    return {**permissions, **{entity: list(actions) for entity in _NEW_ENTITIES}}


def _api_roles_script(spec: AppSpec) -> list[TurnResult]:
    everything = ["view", "add", "change", "delete"]
    return [
        scripted_turn(
            *(
                ("role_update", {"role": role_id, "permissions": _grants(spec, role_id, actions)})
                for role_id, actions in (
                    ("admin", everything),
                    ("manager", everything),
                    ("member", ["view", "add", "change"]),
                    ("read_only", ["view"]),
                )
            ),
        ),
        scripted_turn(
            (
                "api_options_update",
                {
                    "entity": "application",
                    "filter_fields": ["candidate", "job_role", "stage"],
                    "ordering_fields": ["created_at"],
                },
            ),
            (
                "api_options_update",
                {"entity": "candidate", "search_fields": ["first_name", "last_name", "email"]},
            ),
        ),
        scripted_turn(
            ("finish", {"summary": "New entities granted to the four roles; API filters set."})
        ),
    ]


@dataclass(frozen=True)
class ScenarioOutcome:
    runs: list[AgentRun]
    spec: AppSpec


class ScenarioFailed(RuntimeError):
    pass


def recruitment_scenario_run(
    *,
    spec: AppSpec,
    token_counter: TokenCounter | None = None,
    context: Mapping[str, Any] | None = None,
) -> ScenarioOutcome:
    """Run every role of the scenario in order; each specialist edits the merged spec."""
    budget = AgentBudget(max_cost=None)
    runs: list[AgentRun] = []

    def run_role(
        role: str, task: str, on: AppSpec, script: list[Any], prompt_context: dict[str, str]
    ) -> AgentRun:
        run = agent_run_create(
            role=role,
            task=task,
            spec=on,
            prompt_context=prompt_context,
            budget=budget,
            context=dict(context or {}),
        )
        provider = ScriptedProvider(script, token_counter=token_counter)
        run = agent_run_execute(run_id=run.pk, provider=provider, prices={})
        runs.append(run)
        if run.status != AgentRunStatus.FINISHED:
            raise ScenarioFailed(f"The {role} run stopped with {run.status}: {run.status_message}")
        return run

    base = {"request": RECRUITMENT_REQUEST}
    analyst = run_role(
        "analyst",
        "Analyse the request: requirements, clarifying questions, assumptions.",
        spec,
        [ANALYST_REPORT],
        base,
    )
    report = AnalystReport.model_validate(analyst.result)
    requirements = requirements_context(report)
    informed = {**base, "requirements": requirements}
    run_role(
        "architect",
        "Plan the changes as tasks for the specialists.",
        spec,
        [
            scripted_turn(("spec_entity", {"entity": "company"})),
            scripted_turn(("finish", ARCHITECT_PLAN.model_dump(mode="json"))),
        ],
        {**informed, "answers": ANSWERS},
    )
    current = spec
    changes = []
    for task in ARCHITECT_PLAN.tasks:
        scripts: dict[str, Callable[[], list[TurnResult]]] = {
            "data_model": _data_model_script,
            "process": _process_script,
            "automations": _automations_script,
            "screens": _screens_script,
            "api_roles": partial(_api_roles_script, current),
        }
        script = scripts[task.id]()
        run = run_role(
            task.specialist,
            f"Task {task.id}: {task.title}.\n{task.instructions}\n"
            f"Requirements: {', '.join(task.requirements)}.",
            current,
            script,
            informed,
        )
        operations = agent_run_operations(run=run)
        current = spec_patch_apply(current, operations)
        changes.append(
            f"- {task.id} ({task.specialist}): "
            + ", ".join(operation.tool for operation in operations)
        )
    run_role(
        "qa",
        "Check every requirement against the spec and give your verdict.",
        current,
        [
            scripted_turn(("spec_entity", {"entity": "application"})),
            scripted_turn(("finish", QA_VERDICT.model_dump(mode="json"))),
        ],
        {**informed, "changes": "\n".join(changes)},
    )
    return ScenarioOutcome(runs=runs, spec=current)
