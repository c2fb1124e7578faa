"""Renders ``automations.py``: one function per spec automation, one entry point per entity.

Each entity's model calls ``<entity id>_before_save(record)`` from ``save()``; it runs that
entity's automations in spec order and returns the kit's ``AutomationOutcome`` (fields it
set, tasks to create after the save). Triggers, conditions and actions are plain Python:
conditions and values are compiled from the spec's expression language.
"""

from __future__ import annotations

from factory.compiler.common import docstring, module
from factory.compiler.context import AppContext
from factory.compiler.pycode import INDENT, LINE_LENGTH, Call, Imports, Node, layout, lit, raw
from factory.compiler.render_models import expression_code, long_line
from factory.spec.models import (
    AutomationSpec,
    CreateTaskAction,
    EntitySpec,
    FieldChangedTrigger,
    FieldType,
    RecordCreatedTrigger,
    SetFieldAction,
    StageEnteredTrigger,
)


def automation_function(automation: AutomationSpec) -> str:
    return f"automation_{automation.id}"


class AutomationsRenderer:
    def __init__(self, context: AppContext) -> None:
        self.context = context
        self.imports = Imports()
        self.imports.add("__future__", "annotations")
        self.imports.add("typing", "Any")
        self.imports.add("crm.kit.automations", "AutomationOutcome")

    def attname(self, entity: EntitySpec, name: str) -> str:
        for field in entity.fields:
            if field.name == name and field.type == FieldType.RELATION:
                return f"{name}_id"
        if name in {entity.stage_field, "pipeline", "owner"}:
            return f"{name}_id"
        return name

    def watched(self, entity: EntitySpec, automations: list[AutomationSpec]) -> list[str]:
        names: list[str] = []
        for automation in automations:
            trigger = automation.trigger
            if isinstance(trigger, StageEnteredTrigger) and entity.stage_field:
                name = f"{entity.stage_field}_id"
            elif isinstance(trigger, FieldChangedTrigger):
                name = self.attname(entity, trigger.field)
            else:
                continue
            if name not in names:
                names.append(name)
        return names

    def trigger_node(self, entity: EntitySpec, automation: AutomationSpec) -> Node:
        trigger = automation.trigger
        if isinstance(trigger, RecordCreatedTrigger):
            return raw("record._state.adding")
        if isinstance(trigger, FieldChangedTrigger):
            self.imports.add("crm.kit.automations", "field_changed")
            attname = lit(self.attname(entity, trigger.field))
            return Call("field_changed", [raw("record"), raw("previous"), attname])
        assert isinstance(trigger, StageEnteredTrigger)
        self.imports.add("crm.kit.automations", "stage_entered")
        return Call(
            "stage_entered",
            [raw("record"), raw("previous")],
            [
                ("field_name", lit(entity.stage_field)),
                ("pipeline", lit(self.pipeline_of(trigger.stage))),
                ("stage", lit(trigger.stage)),
            ],
        )

    def pipeline_of(self, stage_id: str) -> str:
        """Id of the pipeline holding the stage: with the stage id, the keys of its rows."""
        for pipeline in self.context.spec.pipelines:
            if any(stage.id == stage_id for stage in pipeline.stages):
                return pipeline.id
        raise KeyError(stage_id)

    def automation_lines(self, entity: EntitySpec, automation: AutomationSpec) -> list[str]:
        body = INDENT
        uses_previous = not isinstance(automation.trigger, RecordCreatedTrigger)
        previous = "previous: dict[str, Any] | None" if uses_previous else "_previous: Any"
        name = automation_function(automation)
        signature = f"def {name}(record: Any, {previous}, outcome: AutomationOutcome) -> None:"
        if len(signature) <= LINE_LENGTH:
            lines = [signature]
        else:
            lines = [
                f"def {name}(",
                f"{body}record: Any,",
                f"{body}{previous},",
                f"{body}outcome: AutomationOutcome,",
                ") -> None:",
            ]
        lines.append(f'{body}"""Automation {automation.id} of {entity.id} (see the app spec)."""')
        lines += layout(self.trigger_node(entity, automation), body, "if not ", ":")
        lines.append(f"{body}{INDENT}return")
        if automation.condition:
            condition = expression_code(
                automation.condition, record="record", entity=entity, imports=self.imports
            )
            lines += long_line(f"{body}if not ({condition}):")
            lines.append(f"{body}{INDENT}return")
        for action in automation.actions:
            lines += self.action_lines(entity, action)
        return lines

    def action_lines(
        self, entity: EntitySpec, action: SetFieldAction | CreateTaskAction
    ) -> list[str]:
        body = INDENT
        if isinstance(action, SetFieldAction):
            code = expression_code(
                action.expression, record="record", entity=entity, imports=self.imports
            )
            return [
                *long_line(f"{body}record.{action.field} = {code}"),
                f"{body}outcome.changed_fields.add({lit(action.field).flat()})",
            ]
        self.imports.add("crm.kit.automations", "TaskToCreate")
        task = Call(
            "TaskToCreate",
            kwargs=[
                ("title", lit(action.title)),
                ("due_in_days", lit(action.due_in_days)),
                ("assign_to_owner", lit(action.assign_to_owner)),
            ],
        )
        return layout(Call("outcome.tasks.append", [task]), body)

    def entry_lines(self, entity: EntitySpec, automations: list[AutomationSpec]) -> list[str]:
        body = INDENT
        lines = [f"def {entity.id}_before_save(record: Any) -> AutomationOutcome:"]
        lines.append(
            f'{body}"""Run the automations of {entity.id} on a record about to be saved."""'
        )
        watched = self.watched(entity, automations)
        if watched:
            self.imports.add("crm.kit.automations", "stored_values")
            lines += layout(
                Call("stored_values", [raw("record"), lit(watched)]), body, "previous = "
            )
        else:
            lines.append(f"{body}previous = None")
        lines.append(f"{body}outcome = AutomationOutcome()")
        for automation in automations:
            lines.append(f"{body}{automation_function(automation)}(record, previous, outcome)")
        lines.append(f"{body}return outcome")
        return lines

    def render(self) -> str:
        blocks: list[list[str]] = []
        for entity in self.context.spec.entities:
            automations = self.context.automations_of(entity)
            if not automations:
                continue
            blocks += [self.automation_lines(entity, automation) for automation in automations]
            blocks.append(self.entry_lines(entity, automations))
        header = docstring(
            f"Automations of the {self.context.label} app: what happens when records change.",
            [
                "Each model's ``save()`` calls its ``<entity>_before_save`` function, which runs",
                "the entity's automations in the spec's order; tasks they ask for are created",
                "once the record is saved (``crm.kit.automations``).",
            ],
        )
        return module(header, self.imports, *blocks)


def render_automations(context: AppContext) -> str | None:
    if not context.spec.automations:
        return None
    return AutomationsRenderer(context).render()
