"""Renders ``factories.py``: factory-boy factories that make valid sample records.

One ``DjangoModelFactory`` per entity, in an order where every required relation points to
a factory defined above it, with values that respect each field's type, length, bounds and
uniqueness; plus factories for the kit's tasks, notes and tags. The generated tests and
demo data use them.
"""

from __future__ import annotations

from factory.compiler.common import docstring, module
from factory.compiler.context import AppContext, field_default, field_digits, field_max_length
from factory.compiler.pycode import INDENT, Call, Imports, Node, layout, lit, raw
from factory.compiler.render_defaults import kit_block
from factory.spec.models import EntitySpec, FieldSpec, FieldType

# Faker providers for common field names, with the column length their values need.
FAKER_BY_NAME = {
    "first_name": ("first_name", 40),
    "last_name": ("last_name", 40),
    "city": ("city", 60),
    "country": ("country", 60),
    "job_title": ("job", 80),
    "street": ("street_address", 80),
    "address": ("address", 200),
    "postcode": ("postcode", 12),
    "zip_code": ("postcode", 12),
}
FAKER_LONG_TEXT = "paragraph"


def sequence(template: str) -> Node:
    """``factory.Sequence(lambda n: f"...")``; ``template`` holds identifiers and {n} only."""
    return raw(f'factory.Sequence(lambda n: f"{template}")')


class FactoriesRenderer:
    def __init__(self, context: AppContext) -> None:
        self.context = context
        self.imports = Imports()
        self.imports.add("__future__", "annotations")
        # factory-boy through the kit: in the factory's own processes the name ``factory``
        # is the project's package, not factory-boy.
        self.imports.add("crm.kit.factory_boy", "factory")
        self.imports.add(".", "models")
        self.defined: set[str] = set()

    def text_value(self, entity: EntitySpec, field: FieldSpec) -> Node:
        max_length = field_max_length(field) or 10_000
        if field.type == FieldType.LONG_TEXT and not field.unique:
            provider = "address" if field.name == "address" else FAKER_LONG_TEXT
            return Call("factory.Faker", [lit(provider)])
        faker = FAKER_BY_NAME.get(field.name)
        if faker is not None and not field.unique and max_length >= faker[1]:
            return Call("factory.Faker", [lit(faker[0])])
        prefix = f"{entity.name} {field.name} " if field.name != "name" else f"{entity.name} "
        if len(prefix) + 6 > max_length:
            return sequence("{n}")
        return sequence(f"{prefix}{{n}}")

    def number_value(self, field: FieldSpec) -> Node:
        if field.type == FieldType.INTEGER:
            low = int(field.min_value) if field.min_value is not None else 0
            high = int(field.max_value) if field.max_value is not None else low + 1000
            if field.unique:
                return sequence(f"{{{low} + n}}") if low else raw("factory.Sequence(lambda n: n)")
            return Call(
                "factory.Faker", [lit("pyint")], [("min_value", lit(low)), ("max_value", lit(high))]
            )
        self.imports.add("decimal", "Decimal")
        digits, places = field_digits(field)
        limit = 10 ** min(digits - places, 6) - 1
        low = max(int(field.min_value), -limit) if field.min_value is not None else 0
        high = (
            min(int(field.max_value), limit)
            if field.max_value is not None
            else min(low + 100_000, limit)
        )
        if field.unique:
            return raw(f"factory.Sequence(lambda n: Decimal({low} + n))")
        if high <= low:
            return raw(f"Decimal({lit(str(low)).flat()})")
        return Call(
            "factory.Faker",
            [lit("pydecimal")],
            [("right_digits", lit(places)), ("min_value", lit(low)), ("max_value", lit(high))],
        )

    def date_value(self, field: FieldSpec) -> Node:
        if field.unique or field.type == FieldType.DATETIME:
            self.imports.add("datetime")
        if field.type == FieldType.DATE:
            if field.unique:
                return Call(
                    "factory.Sequence",
                    [raw("lambda n: datetime.date(2024, 1, 1) + datetime.timedelta(days=n)")],
                )
            return Call(
                "factory.Faker",
                [lit("date_between")],
                [("start_date", lit("-30d")), ("end_date", lit("+90d"))],
            )
        if field.unique:
            later = (
                "datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC) + datetime.timedelta(hours=n)"
            )
            return Call("factory.Sequence", [raw(f"lambda n: {later}")])
        return Call(
            "factory.Faker",
            [lit("date_time_between")],
            [
                ("start_date", lit("-30d")),
                ("end_date", lit("+30d")),
                ("tzinfo", raw("datetime.UTC")),
            ],
        )

    def value(self, entity: EntitySpec, field: FieldSpec) -> Node | None:
        """The factory's value for the field; None leaves the model's default (or empty)."""
        if field.default is not None and not field.unique:
            return None  # the model's default is a valid value
        if field.type in {FieldType.TEXT, FieldType.LONG_TEXT}:
            return self.text_value(entity, field)
        if field.type in {FieldType.INTEGER, FieldType.DECIMAL, FieldType.MONEY}:
            return self.number_value(field)
        if field.type in {FieldType.DATE, FieldType.DATETIME}:
            return self.date_value(field)
        if field.type == FieldType.RELATION:
            target = self.context.target(field)
            if target.id in self.defined and (field.required or target.id != entity.id):
                return Call("factory.SubFactory", [raw(f"{target.name}Factory")])
            return None
        return self.simple_value(entity, field)

    def simple_value(self, entity: EntitySpec, field: FieldSpec) -> Node | None:
        kind = field.type
        if kind == FieldType.EMAIL:
            return sequence(f"{entity.id}{{n}}@example.com")
        if kind == FieldType.PHONE:
            long_enough = (field_max_length(field) or 0) >= 16
            return sequence("+3361234{n:04d}") if long_enough else sequence("{n}")
        if kind == FieldType.URL:
            return sequence(f"https://example.com/{entity.id}/{{n}}")
        if kind == FieldType.BOOLEAN:
            return Call("factory.Faker", [lit("pybool")])
        if kind == FieldType.CHOICE:
            return lit(self.context.first_option(field.choice_list or ""))
        if kind == FieldType.MULTI_CHOICE:
            option = lit([self.context.first_option(field.choice_list or "")]).flat()
            return raw(f"factory.LazyFunction(lambda: {option})")
        if kind == FieldType.FILE:
            return Call(
                "factory.django.FileField",
                kwargs=[("filename", lit(f"{field.name}.txt")), ("data", raw('b"sample"'))],
            )
        return None  # many-to-many links are left empty

    def entity_lines(self, entity: EntitySpec) -> list[str]:
        lines = [
            f"class {entity.name}Factory(factory.django.DjangoModelFactory):",
            f"{INDENT}class Meta:",
            f"{INDENT * 2}model = models.{entity.name}",
        ]
        attributes: list[str] = []
        for field in entity.fields:
            field_default(field, self.context.field_place(entity, field))
            node = self.value(entity, field)
            if node is not None:
                attributes += layout(node, INDENT, f"{field.name} = ")
        stage = self.context.stage_field(entity)
        if stage is not None:
            model_name = lit(self.context.model_name(entity.id)).flat()
            attributes.append(
                f"{INDENT}pipeline = factory.LazyFunction(lambda: default_pipeline({model_name}))"
            )
            first_stage = 'record.pipeline.stages.order_by("order", "pk").first()'
            attributes += [
                f"{INDENT}{stage.name} = factory.LazyAttribute(",
                f"{INDENT * 2}lambda record: {first_stage}",
                f"{INDENT})",
            ]
        if attributes:
            lines += ["", *attributes]
        self.defined.add(entity.id)
        return lines

    def render(self) -> str:
        blocks: list[list[str]] = []
        if any(entity.stage_field for entity in self.context.spec.entities):
            blocks.append(
                [
                    "def default_pipeline(entity: str) -> models.Pipeline | None:",
                    f'{INDENT}"""The default pipeline of ``entity`` (from the starting data)."""',
                    f"{INDENT}pipelines = models.Pipeline.objects.filter(entity=entity)",
                    f'{INDENT}return pipelines.order_by("-is_default", "order", "pk").first()',
                ]
            )
        for entity in self.context.creation_order:
            blocks.append(self.entity_lines(entity))
        blocks.append(kit_block("kit_factories.py.tmpl"))
        header = docstring(
            f"Sample-data factories of the {self.context.label} app (factory-boy).",
            [
                "Each factory makes a valid record: required relations get records of their",
                "own, unique fields get sequences, choices take a value of their list.",
            ],
        )
        return module(header, self.imports, *blocks)


def render_factories(context: AppContext) -> str:
    return FactoriesRenderer(context).render()
