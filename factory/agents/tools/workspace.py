"""The workspace an agent edits: a spec, the patch of applied edits, the pending ones.

Every call goes through the same steps: validate the arguments; run the edit on a copy;
if the edit destroys data and was not confirmed, keep it pending and change nothing;
otherwise validate the resulting spec (the models' rules, then the whole-spec rules) and
refuse it when it adds a problem; else keep it and append it to the patch. A patch is a
list of ``SpecOperation`` (tool name and arguments) that ``spec_patch_apply`` re-applies
to any spec through these same steps. Nothing here touches files, the database or a
model: a workspace is plain data, persisted by the harness.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from factory.agents.tools.catalogue import SPEC_TOOLS
from factory.agents.tools.editing import EditRefused
from factory.agents.tools.reading import SpecLookupError
from factory.llm.canonical import canonical_json
from factory.spec.io import pydantic_problems
from factory.spec.models import AppSpec
from factory.spec.validation import SpecProblem, validate_app_spec


class SpecOperation(BaseModel):
    """One edit of a patch. ``destructive`` says why it loses data ('' when it does not)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tool: str
    arguments: dict[str, Any]
    destructive: str = ""

    def intent(self) -> str:
        """The edit regardless of confirmation: matches a pending edit to its confirmation."""
        arguments = {key: value for key, value in self.arguments.items() if key != "confirm"}
        return canonical_json({"tool": self.tool, "arguments": arguments})


@dataclass(frozen=True)
class ToolOutcome:
    content: str
    is_error: bool = False
    applied: SpecOperation | None = None
    pending: SpecOperation | None = None


class SpecPatchError(ValueError):
    """A patch no longer applies to the spec it is applied to."""


class SpecWorkspace:
    def __init__(
        self,
        spec: AppSpec,
        *,
        operations: Iterable[SpecOperation] = (),
        pending: Iterable[SpecOperation] = (),
    ) -> None:
        self.spec = spec
        self.operations: list[SpecOperation] = list(operations)
        self.pending: list[SpecOperation] = list(pending)
        self._known_problems: set[SpecProblem] | None = None

    def call(self, name: str, arguments: dict[str, Any]) -> ToolOutcome:
        tool = SPEC_TOOLS.get(name)
        if tool is None:
            return ToolOutcome(f"There is no spec tool {name!r}.", is_error=True)
        try:
            args = tool.arguments.model_validate(arguments)
        except ValidationError as error:
            problems = pydantic_problems(error, arguments)
            return ToolOutcome(
                f"Invalid arguments for {name}: {problems_text(problems)}", is_error=True
            )
        if not tool.edits:
            try:
                return ToolOutcome(tool.function(self.spec, args))
            except SpecLookupError as error:
                return ToolOutcome(str(error), is_error=True)
        return self._edit(name, tool.function, args)

    def _edit(self, name: str, function: Any, args: BaseModel) -> ToolOutcome:
        draft = self.spec.to_jsonable()
        try:
            edit = function(draft, args)
        except (SpecLookupError, EditRefused) as error:
            return ToolOutcome(f"Not applied: {error}", is_error=True)
        operation = SpecOperation(
            tool=name,
            arguments=args.model_dump(mode="json", exclude_unset=True),
            destructive=edit.destructive,
        )
        if edit.destructive and not getattr(args, "confirm", False):
            if all(item.intent() != operation.intent() for item in self.pending):
                self.pending.append(operation)
            return ToolOutcome(
                f"Not applied: this edit {edit.destructive}. It is recorded as pending, for "
                "the builder to confirm. Repeat it with confirm=true only if the request "
                "explicitly asks for this loss.",
                pending=operation,
            )
        try:
            candidate = AppSpec.model_validate(draft)
        except ValidationError as error:
            problems = pydantic_problems(error, draft)
            return ToolOutcome(f"Not applied: {problems_text(problems)}", is_error=True)
        known = self._problems()
        introduced = [problem for problem in validate_app_spec(candidate) if problem not in known]
        if introduced:
            return ToolOutcome(
                f"Not applied: the spec would become invalid: {problems_text(introduced)}",
                is_error=True,
            )
        self.spec = candidate
        self._known_problems = None
        self.operations.append(operation)
        self.pending = [item for item in self.pending if item.intent() != operation.intent()]
        if edit.destructive:
            return ToolOutcome(
                f"{edit.summary} Destructive, confirmed: {edit.destructive}.", applied=operation
            )
        return ToolOutcome(edit.summary, applied=operation)

    def _problems(self) -> set[SpecProblem]:
        if self._known_problems is None:
            self._known_problems = set(validate_app_spec(self.spec))
        return self._known_problems


def problems_text(problems: Sequence[SpecProblem]) -> str:
    return " ".join(str(problem) for problem in problems)


def spec_patch_apply(spec: AppSpec, operations: Sequence[SpecOperation]) -> AppSpec:
    """Re-apply a patch, each edit checked as when it was first made."""
    workspace = SpecWorkspace(spec)
    for number, operation in enumerate(operations, start=1):
        outcome = workspace.call(operation.tool, operation.arguments)
        if outcome.is_error or outcome.applied is None:
            raise SpecPatchError(
                f"Edit {number} of the patch ({operation.tool}) does not apply: {outcome.content}"
            )
    return workspace.spec
