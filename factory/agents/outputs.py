"""What each agent role hands back: the arguments of its ``finish`` tool (or, for the
analyst, its structured answer). Validated like any tool call: a report that does not
fit goes back to the model as an error it can fix.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

TaskId = Annotated[
    str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$", description="Short snake_case id.")
]
RequirementId = Annotated[str, Field(pattern=r"^R[0-9]{1,3}$", description="R1, R2...")]
Specialist = Literal["data_model", "process", "automations", "screens", "api_roles"]


class Report(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Requirement(Report):
    id: RequirementId
    text: str = Field(min_length=3, max_length=400, description="One checkable statement.")


class ClarifyingQuestion(Report):
    question: str = Field(min_length=3, max_length=300)
    why: str = Field(max_length=300, description="What the answer changes in the CRM.")
    suggested_answer: str = Field(
        default="", max_length=300, description="The assumption used if nobody answers."
    )
    options: list[str] = Field(
        default_factory=list,
        max_length=8,
        description="Typical answers to choose from (the suggested one among them); empty "
        "when only free text fits.",
    )
    blocking: bool = Field(
        default=False,
        description="True only when no sensible default exists and the CRM cannot be built "
        "without the builder's answer.",
    )


class AnalystReport(Report):
    summary: str = Field(min_length=3, max_length=1000)
    requirements: list[Requirement] = Field(min_length=1)
    questions: list[ClarifyingQuestion] = Field(default_factory=list, max_length=12)
    assumptions: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_ids(self) -> AnalystReport:
        ids = [item.id for item in self.requirements]
        duplicates = sorted({item for item in ids if ids.count(item) > 1})
        if duplicates:
            raise ValueError(f"requirement ids must be unique; repeated: {', '.join(duplicates)}")
        return self


class PlanTask(Report):
    id: TaskId
    specialist: Specialist
    title: str = Field(min_length=3, max_length=120)
    instructions: str = Field(
        min_length=3, max_length=2000, description="Exactly what to add or change, with ids."
    )
    requirements: list[RequirementId] = Field(default_factory=list)
    depends_on: list[TaskId] = Field(default_factory=list)


class ArchitectPlan(Report):
    tasks: list[PlanTask] = Field(min_length=1, max_length=20)
    notes: str = Field(default="", max_length=1000)

    @model_validator(mode="after")
    def _dependencies_resolve(self) -> ArchitectPlan:
        ids = [task.id for task in self.tasks]
        if len(set(ids)) != len(ids):
            raise ValueError("task ids must be unique")
        known: set[str] = set()
        for task in self.tasks:
            missing = [item for item in task.depends_on if item not in known]
            if missing:
                raise ValueError(
                    f"task {task.id} depends on {', '.join(missing)}, which must be an earlier "
                    "task of the plan; order tasks so that dependencies come first"
                )
            known.add(task.id)
        return self


class SpecialistReport(Report):
    summary: str = Field(min_length=3, max_length=1000, description="What you changed, briefly.")
    open_points: list[str] = Field(
        default_factory=list, description="What you could not do, and why."
    )


class QAGap(Report):
    requirement: RequirementId
    problem: str = Field(min_length=3, max_length=400)
    specialist: Specialist
    instructions: str = Field(min_length=3, max_length=1000)


class QAVerdict(Report):
    verdict: Literal["pass", "repair"]
    covered: list[RequirementId] = Field(default_factory=list)
    gaps: list[QAGap] = Field(default_factory=list)

    @model_validator(mode="after")
    def _verdict_matches_gaps(self) -> QAVerdict:
        if self.verdict == "pass" and self.gaps:
            raise ValueError("a 'pass' verdict cannot list gaps; use 'repair'")
        if self.verdict == "repair" and not self.gaps:
            raise ValueError("a 'repair' verdict must list at least one gap")
        return self
