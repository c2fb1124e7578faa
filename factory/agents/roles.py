"""The agent roles of the pipeline and what each one gets: its prompt, its tools, its
report.

analyst (one structured answer: requirements and clarifying questions) → architect (reads
the spec, plans tasks) → specialists, each with the tools of its concern only (data
model; process: pipelines, and computed fields and automations for plans that keep them
together; automations: computed fields and automations only; screens; API and roles) → QA (reads the
result, checks every requirement). The ``finish`` tool takes the role's report as its
arguments, so a run ends with a validated report, never with free text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import models
from pydantic import BaseModel

from factory.agents.outputs import (
    AnalystReport,
    ArchitectPlan,
    QAVerdict,
    SpecialistReport,
)
from factory.agents.tools import TOOLSETS, spec_tool_specs
from factory.llm.schema import model_schema
from factory.llm.types import ToolSpec

FINISH_TOOL = "finish"


class AgentRole(models.TextChoices):
    ANALYST = "analyst", "Analyst"
    ARCHITECT = "architect", "Architect"
    DATA_MODEL = "data_model", "Data model specialist"
    PROCESS = "process", "Process specialist (pipelines, automations)"
    AUTOMATIONS = "automations", "Automations specialist (computed fields, automations)"
    SCREENS = "screens", "Screens specialist"
    API_ROLES = "api_roles", "API and roles specialist"
    QA = "qa", "QA"


@dataclass(frozen=True)
class RoleDefinition:
    role: AgentRole
    prompt: str  # file name in prompts/, without .md
    report: type[BaseModel]
    toolset: str  # key of TOOLSETS
    structured: bool = False  # one structured call instead of a tool-using loop

    @property
    def tool_names(self) -> tuple[str, ...]:
        return TOOLSETS[self.toolset]


ROLES: dict[str, RoleDefinition] = {
    AgentRole.ANALYST: RoleDefinition(
        AgentRole.ANALYST, "analyst", AnalystReport, "read", structured=True
    ),
    AgentRole.ARCHITECT: RoleDefinition(AgentRole.ARCHITECT, "architect", ArchitectPlan, "read"),
    AgentRole.DATA_MODEL: RoleDefinition(
        AgentRole.DATA_MODEL, "data_model", SpecialistReport, "data_model"
    ),
    AgentRole.PROCESS: RoleDefinition(AgentRole.PROCESS, "process", SpecialistReport, "process"),
    AgentRole.AUTOMATIONS: RoleDefinition(
        AgentRole.AUTOMATIONS, "automations", SpecialistReport, "automations"
    ),
    AgentRole.SCREENS: RoleDefinition(AgentRole.SCREENS, "screens", SpecialistReport, "screens"),
    AgentRole.API_ROLES: RoleDefinition(
        AgentRole.API_ROLES, "api_roles", SpecialistReport, "api_roles"
    ),
    AgentRole.QA: RoleDefinition(AgentRole.QA, "qa", QAVerdict, "read"),
}


def role_definition(role: str) -> RoleDefinition:
    try:
        return ROLES[role]
    except KeyError:
        raise ValueError(f"{role!r} is not an agent role; roles are {', '.join(ROLES)}.") from None


def finish_tool_spec(report: type[BaseModel]) -> ToolSpec:
    return ToolSpec(
        name=FINISH_TOOL,
        description="Call once, when the task is done: the arguments are your report.",
        parameters=model_schema(report),
    )


def run_tool_specs(role: str, tool_names: Sequence[str]) -> list[ToolSpec]:
    """What a run of this role is offered: its spec tools, then finish."""
    return [*spec_tool_specs(tool_names), finish_tool_spec(role_definition(role).report)]
