"""Renders ``admin.py``: the app's own CRM admin site and each entity's screens.

Records use the kit's ``RecordAdmin`` (visibility by role, archive and restore, timeline,
notes/tasks/tags/attachments, CSV, boards); the kit's tables get the kit's admins. The
spec chooses columns, filters, search, inlines and boards; behaviour stays in the kit.
"""

from __future__ import annotations

from functools import cached_property

from factory.compiler.common import docstring, module
from factory.compiler.context import AppContext, is_record, lookup
from factory.compiler.pycode import INDENT, Call, Imports, Seq, layout, lit, raw
from factory.spec.models import EntitySpec, FieldSpec, FieldType

SEARCHABLE = (FieldType.TEXT, FieldType.EMAIL, FieldType.PHONE, FieldType.URL)
KIT_ADMINS = (
    ("Task", "TaskAdmin"),
    ("Note", "NoteAdmin"),
    ("Tag", "TagAdmin"),
    ("Attachment", "AttachmentAdmin"),
    ("ChoiceList", "ChoiceListAdmin"),
    ("Pipeline", "PipelineAdmin"),
    ("TimelineEntry", "TimelineEntryAdmin"),
    ("StageChange", "StageChangeAdmin"),
    ("RolePolicy", "RolePolicyAdmin"),
)
CSV_NORMALISERS = {FieldType.EMAIL: "normalise_email", FieldType.PHONE: "normalise_phone"}


def names(items: list[str]) -> Seq:
    return Seq([lit(item) for item in items], kind="tuple")


def form_fields(entity: EntitySpec) -> list[FieldSpec]:
    """Fields edited in forms: many-to-many links with extra data are edited as inlines."""
    return [
        field
        for field in entity.fields
        if not (field.type == FieldType.RELATION_MANY and field.through)
    ]


class AdminRenderer:
    def __init__(self, context: AppContext) -> None:
        self.context = context
        self.imports = Imports()
        self.imports.add("__future__", "annotations")
        self.imports.add("django.contrib", "admin")
        self.imports.add("crm.kit.admin_site", "CRMAdminSite")
        self.imports.add(".", "models")

    @cached_property
    def parents(self) -> dict[str, list[str]]:
        return self.context.inline_parents()

    def registered(self, entity: EntitySpec) -> bool:
        """Records always have their own pages; details only when no entity inlines them."""
        return is_record(entity) or entity.id not in self.parents

    def search_fields(self, entity: EntitySpec) -> list[str]:
        if entity.admin.search_fields:
            return [lookup(path) for path in entity.admin.search_fields]
        return [field.name for field in entity.fields if field.type in SEARCHABLE][:3]

    def searchable_target(self, field: FieldSpec) -> bool:
        if field.type not in {FieldType.RELATION, FieldType.RELATION_MANY}:
            return False
        target = self.context.target(field)
        return self.registered(target) and bool(self.search_fields(target))

    def list_display(self, entity: EntitySpec) -> list[str]:
        if entity.admin.list_display:
            return list(entity.admin.list_display)
        shown = list(entity.display) or [field.name for field in entity.fields[:3]]
        return [*shown, "owner"] if is_record(entity) else shown

    def inline_class(self, parent: EntitySpec, child: EntitySpec) -> str:
        if len(self.parents.get(child.id, [])) == 1:
            return f"{child.name}Inline"
        return f"{parent.name}{child.name}Inline"

    # -- inlines

    def inline_lines(self, parent: EntitySpec, child: EntitySpec) -> list[str]:
        link = self.context.link_to(child, parent)
        fields = [field for field in form_fields(child) if field is not link]
        bases = "admin.TabularInline"
        if is_record(child):
            self.imports.add("crm.kit.admin", "VisibleRecordsInlineMixin")
            bases = "VisibleRecordsInlineMixin, admin.TabularInline"
        lines = [f"class {self.inline_class(parent, child)}({bases}):"]
        lines.append(f"{INDENT}model = models.{child.name}")
        if link is not None and self.ambiguous_link(child, parent):
            lines.append(f"{INDENT}fk_name = {lit(link.name).flat()}")
        lines += layout(names([field.name for field in fields]), INDENT, "fields = ")
        autocomplete = [field.name for field in fields if self.searchable_target(field)]
        if autocomplete:
            lines += layout(names(autocomplete), INDENT, "autocomplete_fields = ")
        lines.append(f"{INDENT}extra = 0")
        if is_record(child):
            lines.append(f"{INDENT}show_change_link = True")
        return lines

    def ambiguous_link(self, child: EntitySpec, parent: EntitySpec) -> bool:
        links = [
            field
            for field in child.fields
            if field.type == FieldType.RELATION and field.target == parent.id
        ]
        return len(links) > 1

    # -- entity admins

    def entity_lines(self, entity: EntitySpec) -> list[str]:
        record = is_record(entity)
        base = "RecordAdmin" if record else "admin.ModelAdmin"
        if record:
            self.imports.add("crm.kit.admin", "RecordAdmin")
        lines = [
            f"@admin.register(models.{entity.name}, site=site)",
            f"class {entity.name}Admin({base}):",
        ]
        body: list[str] = []
        body += layout(names(self.list_display(entity)), INDENT, "list_display = ")
        if entity.admin.list_filter:
            filters = [lookup(path) for path in entity.admin.list_filter]
            body += layout(names(filters), INDENT, "list_filter = ")
        search = self.search_fields(entity)
        if search:
            body += layout(names(search), INDENT, "search_fields = ")
        if entity.admin.ordering:
            body += layout(names(list(entity.admin.ordering)), INDENT, "ordering = ")
        editable = {field.name for field in form_fields(entity)} | {"pipeline", entity.stage_field}
        fields = [name for name in self.context.stored_names(entity) if name in editable]
        computed = [item.name for item in entity.computed]
        if record:
            fields.append("owner")
        body += layout(names(fields + computed), INDENT, "fields = ")
        if computed:
            body += layout(names(computed), INDENT, "readonly_fields = ")
        inlines = [
            self.inline_class(entity, self.context.entities[child])
            for child in entity.admin.inlines
        ]
        if inlines:
            body += layout(Seq([raw(name) for name in inlines]), INDENT, "inlines = ")
        if record:
            body += self.csv_lines(entity)
            body += self.board_lines(entity)
        methods = [self.computed_method(entity, item) for item in entity.computed]
        if not record and self.context.record_links(entity):
            methods.insert(0, self.detail_queryset_method(entity))
        lines += body
        for method in methods:
            lines += ["", *method]
        return lines

    def csv_lines(self, entity: EntitySpec) -> list[str]:
        key = next(
            (field for field in entity.fields if field.unique and field.type in SEARCHABLE),
            None,
        )
        if key is None:
            return []
        lines = [f"{INDENT}csv_import_key = {lit(key.name).flat()}"]
        normaliser = CSV_NORMALISERS.get(key.type)
        if normaliser:
            self.imports.add("crm.kit.normalise", normaliser)
            lines.append(f"{INDENT}csv_key_normaliser = staticmethod({normaliser})")
        return lines

    def board_lines(self, entity: EntitySpec) -> list[str]:
        if not (entity.admin.board and entity.stage_field):
            return []
        amount = next(
            (field.name for field in entity.fields if field.type == FieldType.MONEY), None
        ) or next((field.name for field in entity.fields if field.type == FieldType.DECIMAL), None)
        currency = next(
            (
                field.name
                for field in entity.fields
                if field.type == FieldType.CHOICE and field.choice_list == "currency"
            ),
            None,
        )
        skipped = {*entity.display, "pipeline", entity.stage_field, "owner", amount, currency}
        cards = [
            name
            for name in self.list_display(entity)
            if name not in skipped and name not in self.context.computed_names(entity)
        ][:2]
        lines = []
        if amount:
            lines.append(f"{INDENT}board_amount_field = {lit(amount).flat()}")
        if currency:
            lines.append(f"{INDENT}board_currency_field = {lit(currency).flat()}")
        if cards:
            lines += layout(names(cards), INDENT, "board_card_fields = ")
        return lines

    def detail_queryset_method(self, entity: EntitySpec) -> list[str]:
        """Rows of a detail are listed when the records they belong to are visible."""
        self.imports.add("crm.kit.roles", "records_visible_to")
        self.imports.add("django.db.models", "QuerySet")
        self.imports.add("django.http", "HttpRequest")
        body = INDENT * 2
        lines = [
            f"{INDENT}def get_queryset(self, request: HttpRequest) -> QuerySet:",
            f"{body}queryset = super().get_queryset(request)",
        ]
        filters = []
        for field in self.context.record_links(entity):
            target = self.context.target(field)
            variable = f"visible_{field.name}"
            lines += layout(
                Call(
                    "records_visible_to",
                    [raw("request.user"), raw(f"models.{target.name}.objects.all()")],
                ),
                body,
                f"{variable} = ",
            )
            filters.append((f"{field.name}__in", raw(variable)))
        lines += layout(Call("queryset.filter", kwargs=filters), body, "return ")
        return lines

    def computed_method(self, entity: EntitySpec, computed: object) -> list[str]:
        name = computed.name  # type: ignore[attr-defined]
        decorator = Call("admin.display", kwargs=[("description", lit(computed.label))])  # type: ignore[attr-defined]
        return [
            *layout(decorator, INDENT, "@"),
            f"{INDENT}def {name}(self, obj: models.{entity.name}) -> object:",
            f"{INDENT * 2}return obj.{name}",
        ]

    def render(self) -> str:
        site_lines = [
            *layout(
                Call(
                    "CRMAdminSite",
                    kwargs=[
                        ("name", lit(self.context.label)),
                        ("app_label", lit(self.context.label)),
                    ],
                ),
                "",
                "site = ",
            ),
            *layout(lit(self.context.spec.name), "", "site.site_header = "),
            *layout(lit(self.context.spec.name), "", "site.site_title = "),
        ]
        blocks: list[list[str]] = [site_lines]
        for parent in self.context.spec.entities:
            for child_id in parent.admin.inlines:
                blocks.append(self.inline_lines(parent, self.context.entities[child_id]))
        for entity in self.context.spec.entities:
            if self.registered(entity):
                blocks.append(self.entity_lines(entity))
        kit = []
        for model, admin_class in KIT_ADMINS:
            self.imports.add("crm.kit.admin", admin_class)
            kit.append(f"site.register(models.{model}, {admin_class})")
        blocks.append(kit)
        header = docstring(
            f"Admin of the {self.context.label} app: its own CRM site and each entity's screens.",
            [
                "Behaviour (visibility by role, archive and restore, timeline, CSV import and",
                "export, boards) comes from ``crm.kit.admin``; this module only chooses columns,",
                "filters, search, inlines and boards.",
            ],
        )
        return module(header, self.imports, *blocks)


def render_admin(context: AppContext) -> str:
    return AdminRenderer(context).render()
