"""Renders ``models.py``: the app's concrete kit tables and one model per entity.

Records subclass the kit's ``Record`` (stamps, owner, soft delete, timeline) and get the
notes, tasks, tags and attachments relations; details are plain models. Computed fields
become properties and automations are called from ``save()``; both use code compiled from
the spec's expression language by ``factory.spec.expressions``.
"""

from __future__ import annotations

import io
import tokenize

from factory.compiler.common import docstring, module
from factory.compiler.context import (
    KIT_TABLES,
    AppContext,
    default_literal,
    field_blank,
    field_default,
    field_digits,
    field_max_length,
    field_null,
    field_on_delete,
    is_record,
)
from factory.compiler.pycode import (
    INDENT,
    LINE_LENGTH,
    Call,
    Dict,
    Imports,
    Node,
    Seq,
    layout,
    lit,
    py_literal,
    py_str,
    raw,
)
from factory.spec.expressions import compile_expression, expression_imports, parse_expression
from factory.spec.models import ComputedFieldSpec, EntitySpec, FieldSpec, FieldType

RECORD_RELATIONS = ("notes", "tasks", "tagged_items", "attachments")
RELATION_MODELS = {"notes": "Note", "tasks": "Task", "tagged_items": "TaggedItem"}
MODEL_FIELD_CLASSES = {
    FieldType.TEXT: "models.CharField",
    FieldType.LONG_TEXT: "models.TextField",
    FieldType.INTEGER: "models.IntegerField",
    FieldType.DECIMAL: "models.DecimalField",
    FieldType.MONEY: "models.DecimalField",
    FieldType.BOOLEAN: "models.BooleanField",
    FieldType.DATE: "models.DateField",
    FieldType.DATETIME: "models.DateTimeField",
    FieldType.EMAIL: "models.EmailField",
    FieldType.PHONE: "models.CharField",
    FieldType.URL: "models.URLField",
    FieldType.FILE: "models.FileField",
}
COMPUTED_TYPES = {
    "integer": "int",
    "decimal": "Decimal | None",
    "money": "Decimal | None",
    "boolean": "bool",
    "date": "datetime.date | None",
    "text": "str",
}


def normalise_string_literals(source: str) -> str:
    """Compiled expression source with its string literals written the way ruff writes them."""
    import ast

    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    pieces = []
    last_end = (1, 0)
    for token in tokens:
        if token.type == tokenize.ENDMARKER:
            break
        if token.start[1] > last_end[1]:
            pieces.append(source[last_end[1] : token.start[1]])
        text = token.string
        if token.type == tokenize.STRING:
            text = py_str(ast.literal_eval(text))
        pieces.append(text)
        last_end = token.end
    return "".join(pieces).strip()


def expression_code(text: str, *, record: str, entity: EntitySpec, imports: Imports) -> str:
    expression = parse_expression(text)
    for line in expression_imports(expression, entity=entity):
        add_import_line(imports, line)
    return normalise_string_literals(compile_expression(expression, record=record, entity=entity))


def add_import_line(imports: Imports, line: str) -> None:
    words = line.split()
    if words[0] == "import":
        imports.add(words[1])
    else:
        imports.add(words[1], *(name.strip(",") for name in words[3:]))


def long_line(line: str) -> list[str]:
    """A statement ruff cannot split nicely is marked so the formatter leaves it as written."""
    return [line if len(line) <= LINE_LENGTH else f"{line}  # fmt: skip"]


class ModelsRenderer:
    def __init__(self, context: AppContext) -> None:
        self.context = context
        self.imports = Imports()
        self.imports.add("__future__", "annotations")
        self.imports.add("django.db", "models")
        self.defined: set[str] = set(KIT_TABLES)

    # -- fields

    def field_node(self, entity: EntitySpec, field: FieldSpec) -> Node:
        if field.type in {FieldType.RELATION, FieldType.RELATION_MANY}:
            return self.relation_node(entity, field)
        kind = field.type
        func = MODEL_FIELD_CLASSES.get(kind)
        kwargs: list[tuple[str, Node]] = []
        max_length = field_max_length(field)
        if max_length is not None:
            kwargs.append(("max_length", lit(max_length)))
        if kind in {FieldType.CHOICE, FieldType.MULTI_CHOICE}:
            func = "ChoiceListField" if kind == FieldType.CHOICE else "MultipleChoiceListField"
            self.imports.add("crm.kit.fields", func)
            kwargs.append(("choice_list", lit(field.choice_list)))
        if kind in {FieldType.DECIMAL, FieldType.MONEY}:
            digits, places = field_digits(field)
            kwargs += [("max_digits", lit(digits)), ("decimal_places", lit(places))]
        if kind == FieldType.FILE:
            kwargs.append(("upload_to", lit(f"{self.context.label}/{entity.id}/")))
        kwargs += self.common_options(entity, field)
        assert func is not None
        return Call(func, [lit(field.label)], kwargs)

    def common_options(self, entity: EntitySpec, field: FieldSpec) -> list[tuple[str, Node]]:
        """unique, null, blank, default, db_index, validators and help_text, in that order."""
        options: list[tuple[str, Node]] = []
        if field.unique:
            options.append(("unique", raw("True")))
        if field_null(field):
            options.append(("null", raw("True")))
        if field.type == FieldType.MULTI_CHOICE:
            # The kit's multiple choice field is blank by default.
            if field.required:
                options.append(("blank", raw("False")))
        elif field_blank(field):
            options.append(("blank", raw("True")))
        default = field_default(field, self.context.field_place(entity, field))
        if default is not None:
            options.append(("default", raw(self.default_code(default))))
        if field.index and not field.unique:
            options.append(("db_index", raw("True")))
        validators = self.validators(field)
        if validators:
            options.append(("validators", Seq(validators)))
        if field.help_text:
            options.append(("help_text", lit(field.help_text)))
        return options

    def default_code(self, default: object) -> str:
        code = default_literal(default)  # type: ignore[arg-type]
        if code.startswith("timezone."):
            self.imports.add("django.utils", "timezone")
        elif code.startswith("Decimal("):
            self.imports.add("decimal", "Decimal")
        elif code.startswith("datetime."):
            self.imports.add("datetime")
        return code

    def validators(self, field: FieldSpec) -> list[Node]:
        nodes: list[Node] = []
        for name, bound in (
            ("MinValueValidator", field.min_value),
            ("MaxValueValidator", field.max_value),
        ):
            if bound is None:
                continue
            self.imports.add("django.core.validators", name)
            if field.type == FieldType.INTEGER:
                value = raw(py_literal(int(bound)))
            else:
                self.imports.add("decimal", "Decimal")
                value = raw(f"Decimal({py_str(str(bound))})")
            nodes.append(Call(name, [value]))
        return nodes

    def relation_node(self, entity: EntitySpec, field: FieldSpec) -> Node:
        target = self.context.target(field)
        target_ref = raw(target.name if target.name in self.defined else py_str(target.name))
        kwargs: list[tuple[str, Node]] = []
        if field.type == FieldType.RELATION_MANY:
            if field.through:
                kwargs.append(("through", lit(self.context.class_name(field.through))))
            kwargs.append(("verbose_name", lit(field.label)))
            if field.related_name:
                kwargs.append(("related_name", lit(field.related_name)))
            if field_blank(field):
                kwargs.append(("blank", raw("True")))
            if field.help_text:
                kwargs.append(("help_text", lit(field.help_text)))
            return Call("models.ManyToManyField", [target_ref], kwargs)
        kwargs.append(("verbose_name", lit(field.label)))
        if field.unique:
            kwargs.append(("unique", raw("True")))
        if field_null(field):
            kwargs += [("null", raw("True"))]
        if field_blank(field):
            kwargs += [("blank", raw("True"))]
        kwargs.append(("on_delete", raw(field_on_delete(field))))
        if field.related_name:
            kwargs.append(("related_name", lit(field.related_name)))
        if field.index and not field.unique:
            kwargs.append(("db_index", raw("True")))
        if field.help_text:
            kwargs.append(("help_text", lit(field.help_text)))
        return Call("models.ForeignKey", [target_ref], kwargs)

    # -- entity

    def entity_lines(self, entity: EntitySpec) -> list[str]:
        base = "Record" if is_record(entity) else "models.Model"
        if is_record(entity):
            self.imports.add("crm.kit.models", "Record")
        lines = [f"class {entity.name}({base}):"]
        body: list[list[str]] = []
        fields: list[str] = []
        stage = self.context.stage_field(entity)
        by_name = {field.name: field for field in entity.fields}
        for name in self.context.stored_names(entity):
            if name in by_name:
                node = self.field_node(entity, by_name[name])
            elif name == "pipeline":
                node = self.pipeline_node("Pipeline", "pipeline")
            else:
                assert stage is not None
                node = self.pipeline_node("Stage", stage.label)
            fields += layout(node, INDENT, f"{name} = ")
        if fields:
            body.append(fields)
        if is_record(entity):
            self.imports.add("django.contrib.contenttypes.fields", "GenericRelation")
            body.append(
                [
                    f'{INDENT}{name} = GenericRelation({model}, "target_id", "target_type")'
                    for name, model in (
                        ("notes", "Note"),
                        ("tasks", "Task"),
                        ("tagged_items", "TaggedItem"),
                        ("attachments", "Attachment"),
                    )
                ]
            )
        if stage is not None:
            body.append([f"{INDENT}pipeline_stage_field = {py_str(stage.name)}"])
        body.append(self.meta_lines(entity))
        body.append(self.str_lines(entity))
        body += [self.computed_lines(entity, computed) for computed in entity.computed]
        if stage is not None:
            body.append(self.clean_lines(stage.name))
        save = self.save_lines(entity)
        if save:
            body.append(save)
        self.defined.add(entity.name)
        out = lines
        for index, block in enumerate(body):
            if index and block:
                out.append("")
            out += block
        return out

    def pipeline_node(self, model: str, label: str) -> Node:
        return Call(
            "models.ForeignKey",
            [raw(model)],
            [
                ("verbose_name", lit(label)),
                ("on_delete", raw("models.PROTECT")),
                ("related_name", lit("+")),
            ],
        )

    def meta_lines(self, entity: EntitySpec) -> list[str]:
        inner = INDENT * 2
        lines = [f"{INDENT}class Meta:"]
        lines += layout(lit(entity.label), inner, "verbose_name = ")
        lines += layout(lit(entity.label_plural), inner, "verbose_name_plural = ")
        if entity.ordering:
            lines += layout(lit(list(entity.ordering)), inner, "ordering = ")
        if entity.unique_together:
            constraints: list[Node] = []
            for position, group in enumerate(entity.unique_together, start=1):
                suffix = "" if position == 1 else f"_{position}"
                name = f"{self.context.label}_{entity.id}_unique{suffix}"
                constraints.append(
                    Call(
                        "models.UniqueConstraint",
                        kwargs=[("fields", lit(list(group))), ("name", lit(name))],
                    )
                )
            lines += layout(Seq(constraints), inner, "constraints = ")
        return lines

    def str_lines(self, entity: EntitySpec) -> list[str]:
        body = INDENT * 2
        lines = [f"{INDENT}def __str__(self) -> str:"]
        names = list(entity.display)
        by_name = {field.name: field for field in entity.fields}
        single = by_name.get(names[0]) if len(names) == 1 else None
        if (
            single is not None
            and single.type in {FieldType.TEXT, FieldType.LONG_TEXT}
            and (single.required)
        ):
            return [*lines, f"{body}return self.{single.name}"]
        if not names:
            return [*lines, f'{body}return f"{entity.name} #{{self.pk}}"']
        lines += layout(
            Seq([raw(f"self.{name}") for name in names], kind="tuple"), body, "values = "
        )
        lines.append(f'{body}parts = [str(value) for value in values if value not in (None, "")]')
        lines.append(f'{body}return " ".join(parts) or f"{entity.name} #{{self.pk}}"')
        return lines

    def computed_lines(self, entity: EntitySpec, computed: ComputedFieldSpec) -> list[str]:
        annotation = COMPUTED_TYPES[computed.type]
        if "Decimal" in annotation:
            self.imports.add("decimal", "Decimal")
        if "datetime" in annotation:
            self.imports.add("datetime")
        code = expression_code(
            computed.expression, record="self", entity=entity, imports=self.imports
        )
        return [
            f"{INDENT}@property",
            f"{INDENT}def {computed.name}(self) -> {annotation}:",
            *long_line(f"{INDENT * 2}return {code}"),
        ]

    def clean_lines(self, stage: str) -> list[str]:
        self.imports.add("django.core.exceptions", "ValidationError")
        body = INDENT * 2
        message = "This stage belongs to another pipeline; pick a stage of this one."
        conditions = [
            "self.pipeline_id",
            f"self.{stage}_id",
            f"self.{stage}.pipeline_id != self.pipeline_id",
        ]
        test = f"{body}if {' and '.join(conditions)}:"
        if len(test) > LINE_LENGTH:
            test_lines = [f"{body}if (", f"{body}{INDENT}{conditions[0]}"]
            test_lines += [f"{body}{INDENT}and {condition}" for condition in conditions[1:]]
            test_lines.append(f"{body}):")
        else:
            test_lines = [test]
        error = Call("ValidationError", [Dict([(lit(stage), lit(message))])])
        return [
            f"{INDENT}def clean(self) -> None:",
            f"{body}super().clean()",
            *test_lines,
            *layout(error, body + INDENT, "raise "),
        ]

    def normalise_lines(self, entity: EntitySpec) -> list[str]:
        body = INDENT * 2
        lines = []
        for field in entity.fields:
            name = f"self.{field.name}"
            nullable = field_null(field)
            if field.type == FieldType.EMAIL:
                self.imports.add("crm.kit.normalise", "normalise_email")
                value = f"normalise_email({name})" + ("" if nullable else ' or ""')
            elif field.type == FieldType.PHONE:
                self.imports.add("crm.kit.normalise", "normalise_phone")
                value = f"normalise_phone({name})" + (" or None" if nullable else "")
            elif nullable and field.type in {
                FieldType.TEXT,
                FieldType.LONG_TEXT,
                FieldType.URL,
                FieldType.CHOICE,
            }:
                # Unique and optional: empty is stored as NULL so blanks never collide.
                value = f"{name} or None"
            else:
                continue
            lines.append(f"{body}{name} = {value}")
        return lines

    def save_lines(self, entity: EntitySpec) -> list[str]:
        normalise = self.normalise_lines(entity)
        automated = bool(self.context.automations_of(entity))
        if not normalise and not automated:
            return []
        self.imports.add("typing", "Any")
        body = INDENT * 2
        lines = [f"{INDENT}def save(self, *args: Any, **kwargs: Any) -> None:", *normalise]
        if not automated:
            return [*lines, f"{body}super().save(*args, **kwargs)"]
        self.imports.add(".", "automations")
        function = f"{entity.id}_before_save"
        lines += [
            f"{body}outcome = automations.{function}(self)",
            f'{body}if outcome.changed_fields and kwargs.get("update_fields") is not None:',
            f'{body}{INDENT}kwargs["update_fields"] = {{*kwargs["update_fields"], '
            "*outcome.changed_fields}",
            f"{body}super().save(*args, **kwargs)",
            f"{body}automation_tasks_create(record=self, outcome=outcome)",
        ]
        self.imports.add("crm.kit.automations", "automation_tasks_create")
        return lines

    # -- module

    def kit_lines(self) -> list[list[str]]:
        self.imports.add("crm.kit.models", *(f"Abstract{name}" for name in KIT_TABLES))
        return [[f"class {name}(Abstract{name}):", f"{INDENT}pass"] for name in KIT_TABLES]

    def render(self) -> str:
        kit = self.kit_lines()
        entities = [self.entity_lines(entity) for entity in self.context.spec.entities]
        header = docstring(
            f"Models of the {self.context.label} app, built on the crm kit.",
            [
                "The kit's tables (choice lists, pipelines and their stage history, timeline,",
                "notes, tasks, tags, attachments, role policies) are concrete here so that this",
                "app never shares a table with another; business records subclass ``Record``.",
            ],
        )
        return module(header, self.imports, *kit, *entities)


def render_models(context: AppContext) -> str:
    return ModelsRenderer(context).render()
