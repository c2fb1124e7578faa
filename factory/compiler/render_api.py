"""Renders the ``api/`` package: serializers, filters, viewsets and the router.

Shared behaviour (role permissions that guard reads too, visibility, soft delete with
restore, choice lists, tags, pipelines, the acting user) comes from ``crm.kit.api``; the
spec chooses the fields, filters, search and ordering of each endpoint. The kit's own
tables get the same endpoints as in the base CRM.
"""

from __future__ import annotations

from factory.compiler.common import docstring, module
from factory.compiler.context import AppContext, CompileError, is_record, kebab_plural, lookup
from factory.compiler.pycode import INDENT, Call, Dict, Imports, Node, Seq, layout, lit, raw
from factory.compiler.render_defaults import kit_block
from factory.spec.models import EntitySpec, FieldType

NORMALISERS = {FieldType.EMAIL: "normalise_email", FieldType.PHONE: "normalise_phone"}
KIT_ENDPOINTS = (
    ("tasks", "TaskViewSet", "task"),
    ("notes", "NoteViewSet", "note"),
    ("tags", "TagViewSet", "tag"),
    ("choice-lists", "ChoiceListViewSet", "choice-list"),
    ("pipelines", "PipelineViewSet", "pipeline"),
    ("timeline", "TimelineEntryViewSet", "timeline-entry"),
    ("stage-changes", "StageChangeViewSet", "stage-change"),
)
UNFILTERABLE = (FieldType.MULTI_CHOICE, FieldType.FILE)
PIPELINE_HELP = "Left out: the stage's pipeline, or the default {model_name} pipeline."
STAGE_HELP = "Must belong to the pipeline. Left out: the pipeline's first stage."


def names(items: list[str]) -> Seq:
    return Seq([lit(item) for item in items], kind="tuple")


def exposed(context: AppContext) -> list[EntitySpec]:
    return [entity for entity in context.spec.entities if entity.api.enabled]


def endpoint(entity: EntitySpec) -> tuple[str, str]:
    """(URL segment, route basename) of an entity's endpoint."""
    return kebab_plural(entity), entity.id.replace("_", "-")


def check_endpoints(context: AppContext) -> None:
    taken = {segment: "the kit" for segment, _view, _basename in KIT_ENDPOINTS}
    taken.update({basename: "the kit" for _segment, _view, basename in KIT_ENDPOINTS})
    for entity in exposed(context):
        for key in endpoint(entity):
            if key in taken:
                raise CompileError(
                    f"entities[{entity.id}]: its API address {key!r} is already used by"
                    f" {taken[key]}; give the entity another id or turn its API off."
                )
            taken[key] = f"entities[{entity.id}]"


# --- serializers -------------------------------------------------------------------------


class SerializersRenderer:
    def __init__(self, context: AppContext) -> None:
        self.context = context
        self.imports = Imports()
        self.imports.add("__future__", "annotations")
        self.imports.add("rest_framework", "serializers")
        self.imports.add("crm.kit", "api as kit")
        self.imports.add(
            "crm.kit.api",
            "ChoiceListSerializerMixin",
            "KitModelSerializer",
            "PipelineSerializerMixin",
            "RecordSerializer",
            "TargetedSerializerMixin",
            "TaskSerializerMixin",
        )
        self.imports.add("..", "models")

    def pipeline_lines(self, entity: EntitySpec, stage_name: str) -> list[str]:
        """The pipeline and stage fields, limited to this entity's pipelines."""
        entity_name = lit(self.context.model_name(entity.id)).flat()
        fields = (
            ("pipeline", f"models.Pipeline.objects.filter(entity={entity_name})", PIPELINE_HELP),
            (
                stage_name,
                f"models.Stage.objects.filter(pipeline__entity={entity_name})",
                STAGE_HELP,
            ),
        )
        lines: list[str] = []
        for name, queryset, help_text in fields:
            field = Call(
                "serializers.PrimaryKeyRelatedField",
                kwargs=[
                    ("queryset", raw(queryset)),
                    ("required", raw("False")),
                    ("help_text", lit(help_text.format(model_name=entity_name.strip('"')))),
                ],
            )
            lines += layout(field, INDENT, f"{name} = ")
        return lines

    def entity_lines(self, entity: EntitySpec) -> list[str]:
        record = is_record(entity)
        stage = self.context.stage_field(entity)
        bases = ["RecordSerializer"] if record else ["KitModelSerializer"]
        if stage is not None:
            self.imports.add("crm.kit.api", "PipelineRecordSerializerMixin")
            bases.insert(0, "PipelineRecordSerializerMixin")
        lines = [f"class {entity.name}Serializer({', '.join(bases)}):"]
        body: list[list[str]] = []
        normalisers = [
            (field.name, NORMALISERS[field.type])
            for field in entity.fields
            if field.type in NORMALISERS
        ]
        if normalisers:
            for _name, function in normalisers:
                self.imports.add("crm.kit.normalise", function)
            pairs = [(lit(name), raw(function)) for name, function in normalisers]
            body.append(layout(Dict(pairs), INDENT, "normalisers = "))
        declared: list[str] = []
        if stage is not None:
            declared += self.pipeline_lines(entity, stage.name)
        for computed in entity.computed:
            declared += layout(
                Call("serializers.ReadOnlyField", kwargs=[("label", lit(computed.label))]),
                INDENT,
                f"{computed.name} = ",
            )
        if record:
            self.imports.add("crm.kit.api", "TagNamesField")
            declared.append(f"{INDENT}tags = TagNamesField()")
        if declared:
            body.append(declared)
        fields = ["id", *self.context.stored_names(entity)]
        fields += [computed.name for computed in entity.computed]
        meta = [f"{INDENT}class Meta(RecordSerializer.Meta):" if record else f"{INDENT}class Meta:"]
        meta.append(f"{INDENT * 2}model = models.{entity.name}")
        field_nodes = [lit(name) for name in fields]
        if record:
            field_nodes += [lit("tags"), raw("*RecordSerializer.record_fields")]
        meta += layout(Seq(field_nodes, kind="tuple"), INDENT * 2, "fields = ")
        if entity.api.read_only:
            meta.append(f"{INDENT * 2}read_only_fields = fields")
        body.append(meta)
        for index, block in enumerate(body):
            if index:
                lines.append("")
            lines += block
        return lines

    def render(self) -> str:
        blocks = [self.entity_lines(entity) for entity in exposed(self.context)]
        blocks.append(kit_block("kit_serializers.py.tmpl"))
        header = docstring(
            f"Serializers of the {self.context.label} app's REST API, on the kit's bases.",
            [
                "Stamps, owner, tags, choice lists, pipelines and visibility of linked records",
                "come from ``crm.kit.api``; these classes only declare each endpoint's fields.",
            ],
        )
        return module(header, self.imports, *blocks)


# --- filters -----------------------------------------------------------------------------


def render_filters(context: AppContext) -> str:
    imports = Imports()
    imports.add("__future__", "annotations")
    imports.add("django_filters")
    imports.add("django.contrib.auth", "get_user_model")
    imports.add("crm.kit.api", "RecordFilterSet", "record_type_filter")
    imports.add("crm.kit.models", "TimelineAction")
    imports.add("..", "models")
    blocks: list[list[str]] = [[f"APP_LABEL = {lit(context.label).flat()}"]]
    for entity in exposed(context):
        by_name = {field.name: field for field in entity.fields}
        fields = [lookup(path) for path in entity.api.filter_fields]
        for name in fields:
            field = by_name.get(name)
            if field is not None and field.type in UNFILTERABLE:
                raise CompileError(
                    f"entities[{entity.id}].api.filter_fields: {name!r} is a"
                    f" {field.type.replace('_', ' ')} field, which the API cannot filter on;"
                    " remove it from filter_fields."
                )
        base = "RecordFilterSet" if is_record(entity) else "django_filters.FilterSet"
        lines = [f"class {entity.name}Filter({base}):", f"{INDENT}class Meta:"]
        lines.append(f"{INDENT * 2}model = models.{entity.name}")
        lines += layout(names(fields), INDENT * 2, "fields = ")
        blocks.append(lines)
    blocks.append(kit_block("kit_filters.py.tmpl"))
    header = docstring(
        f"Query-string filters of the {context.label} app's list endpoints (django-filter).",
        [
            "Every record list also has the kit's common filters (owner, created_after/before,",
            "updated_after, tag). Filters only narrow what a view already lets the user see.",
        ],
    )
    return module(header, imports, *blocks)


# --- views -------------------------------------------------------------------------------


class ViewsRenderer:
    def __init__(self, context: AppContext) -> None:
        self.context = context
        self.imports = Imports()
        self.imports.add("__future__", "annotations")
        self.imports.add("typing", "Any")
        self.imports.add("django.db", "models as db")
        self.imports.add("rest_framework.decorators", "action")
        self.imports.add("rest_framework.request", "Request")
        self.imports.add("rest_framework.response", "Response")
        self.imports.add("crm.kit.api", "HistoryViewSet", "KitModelViewSet", "RecordViewSet")
        self.imports.add("crm.kit.permissions", "CHANGE")
        self.imports.add("crm.kit.services", "tasks_mark_done")
        self.imports.add("..", "models")
        self.imports.add(".", "filters", "serializers")

    def queryset_node(self, entity: EntitySpec) -> Node:
        manager = f"models.{entity.name}.{'all_objects' if is_record(entity) else 'objects'}"
        prefetch: list[Node] = [
            lit(field.name)
            for field in entity.fields
            if field.type == FieldType.RELATION_MANY and not field.through
        ]
        if is_record(entity):
            # Tags into a plain list: one query, and no queryset built per row.
            self.imports.add("crm.kit.api", "tags_prefetch")
            prefetch.append(Call("tags_prefetch", [raw(f"models.{entity.name}")]))
        if not prefetch:
            return raw(f"{manager}.all()")
        return Call(f"{manager}.prefetch_related", prefetch)

    def entity_lines(self, entity: EntitySpec) -> list[str]:
        record = is_record(entity)
        base = "RecordViewSet" if record else "KitModelViewSet"
        lines = [f"class {entity.name}ViewSet({base}):"]
        lines += layout(self.queryset_node(entity), INDENT, "queryset = ")
        lines.append(f"{INDENT}serializer_class = serializers.{entity.name}Serializer")
        lines.append(f"{INDENT}filterset_class = filters.{entity.name}Filter")
        if entity.api.search_fields:
            search = [lookup(path) for path in entity.api.search_fields]
            lines += layout(names(search), INDENT, "search_fields = ")
        if entity.api.ordering_fields:
            lines += layout(names(list(entity.api.ordering_fields)), INDENT, "ordering_fields = ")
        ordering = list(entity.ordering) or ["id"]
        lines += layout(names(ordering), INDENT, "ordering = ")
        if entity.api.read_only:
            lines.append(f'{INDENT}http_method_names = ("get", "head", "options")')
        if not record:
            lines += self.visible_lines(entity)
        return lines

    def visible_lines(self, entity: EntitySpec) -> list[str]:
        """A detail row is visible when the records it belongs to are."""
        links = self.context.record_links(entity)
        if not links:
            return []
        self.imports.add("crm.kit.roles", "records_visible_to")
        body = INDENT * 2
        lines = [
            "",
            f"{INDENT}def visible(self, queryset: db.QuerySet) -> db.QuerySet:",
        ]
        filters = []
        for field in links:
            target = self.context.target(field)
            variable = f"visible_{field.name}"
            lines += layout(
                Call(
                    "records_visible_to",
                    [raw("self.request.user"), raw(f"models.{target.name}.objects.all()")],
                ),
                body,
                f"{variable} = ",
            )
            filters.append((f"{field.name}__in", raw(variable)))
        lines += layout(Call("queryset.filter", kwargs=filters), body, "return ")
        return lines

    def render(self) -> str:
        blocks = [self.entity_lines(entity) for entity in exposed(self.context)]
        blocks.append(kit_block("kit_views.py.tmpl"))
        header = docstring(
            f"Endpoints of the {self.context.label} app's REST API.",
            [
                "Each view names its queryset, filters, search and ordering; permissions,",
                "visibility, soft delete and the acting user come from the kit's view bases.",
            ],
        )
        return module(header, self.imports, *blocks)


def render_api_urls(context: AppContext) -> str:
    imports = Imports()
    imports.add("rest_framework.routers", "DefaultRouter")
    imports.add(".", "views")
    lines = [f"app_name = {lit(context.api_namespace).flat()}", "", "router = DefaultRouter()"]
    for entity in exposed(context):
        segment, basename = endpoint(entity)
        lines += layout(
            Call(
                "router.register",
                [lit(segment), raw(f"views.{entity.name}ViewSet")],
                [("basename", lit(basename))],
            )
        )
    for segment, view, basename in KIT_ENDPOINTS:
        lines += layout(
            Call(
                "router.register",
                [lit(segment), raw(f"views.{view}")],
                [("basename", lit(basename))],
            )
        )
    lines += ["", "urlpatterns = router.urls"]
    header = docstring(
        f"Routes of the {context.label} app's REST API (namespace ``{context.api_namespace}``).",
    )
    return module(header, imports, lines)


def render_api(context: AppContext) -> dict[str, str]:
    check_endpoints(context)
    return {
        "api/serializers.py": SerializersRenderer(context).render(),
        "api/filters.py": render_filters(context),
        "api/views.py": ViewsRenderer(context).render(),
        "api/urls.py": render_api_urls(context),
    }
