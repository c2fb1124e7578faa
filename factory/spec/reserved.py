"""Names a spec may not use, and why.

A field name becomes a Python attribute of a Django model (and of its serializer, admin and
factory classes) and a database column; a class name becomes a model class next to the
kit's; an entity id becomes the address of its REST endpoint, next to the kit's endpoints.
``reserved_name_reason`` and ``reserved_class_name_reason`` say why a name is refused, or
return None; ``api_endpoint_names`` is the one rule that turns an entity id into its
endpoint's URL segment and route name (the compiler renders with it). Lists only; no Django
import (tests check them against Django's ``Model``, the kit's ``Record`` and the
compiler's router).
"""

from __future__ import annotations

import keyword

PYTHON_KEYWORDS = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist)

# Public attributes and methods of django.db.models.Model, plus the names Django gives
# every model.
DJANGO_MODEL_ATTRIBUTES = frozenset(
    {
        "DoesNotExist",
        "Meta",
        "MultipleObjectsReturned",
        "adelete",
        "arefresh_from_db",
        "asave",
        "check",
        "clean",
        "clean_fields",
        "date_error_message",
        "delete",
        "from_db",
        "full_clean",
        "get_absolute_url",
        "get_constraints",
        "get_deferred_fields",
        "id",
        "objects",
        "pk",
        "prepare_database_save",
        "refresh_from_db",
        "save",
        "save_base",
        "serializable_value",
        "unique_error_message",
        "validate_constraints",
        "validate_unique",
    }
)

# Fields, managers, methods and relations every kit record has.
RECORD_ATTRIBUTES = frozenset(
    {
        "all_objects",
        "archive",
        "attachments",
        "created_at",
        "created_by",
        "created_by_id",
        "deleted_at",
        "is_archived",
        "notes",
        "owner",
        "owner_id",
        "pipeline_stage_field",
        "restore",
        "tagged_items",
        "tasks",
        "timeline_ignored_fields",
        "updated_at",
        "updated_by",
        "updated_by_id",
    }
)

# Module-level names that generated models, serializers, admin, views and factories use
# inside class bodies: a field with one of these names would shadow them.
GENERATED_CODE_NAMES = frozenset(
    {
        "action",
        "classmethod",
        "db",
        "default_pipeline",
        "django_filters",
        "fields",
        "get_user_model",
        "normalise_domain",
        "normalise_email",
        "normalise_phone",
        "property",
        "record_type_filter",
        "staticmethod",
        "tags_prefetch",
        "admin",
        "build",
        "build_batch",
        "create",
        "create_batch",
        "datetime",
        "decimal",
        "django",
        "expressions_runtime",
        "factory",
        "filters",
        "models",
        "serializers",
        "settings",
        "timezone",
        "viewsets",
    }
)

# Reserved words of SQL (standard, PostgreSQL and SQLite) that commonly break hand-written
# queries and reports; ordinary words (name, date, status, type, value...) stay allowed.
SQL_KEYWORDS = frozenset(
    {
        "all",
        "alter",
        "analyse",
        "analyze",
        "and",
        "any",
        "array",
        "as",
        "asc",
        "asymmetric",
        "between",
        "both",
        "by",
        "case",
        "cast",
        "check",
        "collate",
        "column",
        "commit",
        "constraint",
        "create",
        "cross",
        "current_date",
        "current_role",
        "current_time",
        "current_timestamp",
        "current_user",
        "database",
        "default",
        "deferrable",
        "delete",
        "desc",
        "distinct",
        "do",
        "drop",
        "else",
        "end",
        "except",
        "exists",
        "false",
        "fetch",
        "for",
        "foreign",
        "from",
        "full",
        "grant",
        "group",
        "having",
        "ilike",
        "in",
        "index",
        "initially",
        "inner",
        "insert",
        "intersect",
        "into",
        "is",
        "isnull",
        "join",
        "lateral",
        "leading",
        "left",
        "like",
        "limit",
        "localtime",
        "localtimestamp",
        "natural",
        "not",
        "notnull",
        "null",
        "offset",
        "on",
        "only",
        "or",
        "order",
        "outer",
        "placing",
        "primary",
        "references",
        "returning",
        "revoke",
        "right",
        "rollback",
        "select",
        "session_user",
        "set",
        "some",
        "symmetric",
        "table",
        "then",
        "to",
        "trailing",
        "transaction",
        "trigger",
        "true",
        "union",
        "unique",
        "update",
        "user",
        "using",
        "values",
        "variadic",
        "view",
        "when",
        "where",
        "window",
        "with",
    }
)

# Words of the expression language that would read as values, not fields.
EXPRESSION_KEYWORDS = frozenset({"true", "false", "null", "none"})

# Concrete kit models every app defines (crm.kit.registry.KIT_MODEL_NAMES).
KIT_MODEL_NAMES = frozenset(
    {
        "Attachment",
        "ChoiceList",
        "ChoiceOption",
        "Note",
        "Pipeline",
        "RolePolicy",
        "Stage",
        "StageChange",
        "Tag",
        "TaggedItem",
        "Task",
        "TimelineEntry",
    }
)

# Class names that generated modules import or Python defines.
IMPORTED_CLASS_NAMES = frozenset(
    {
        "Any",
        "AppConfig",
        "ChoiceListField",
        "Decimal",
        "DjangoModelFactory",
        "Exception",
        "GenericRelation",
        "MaxValueValidator",
        "MinValueValidator",
        "Model",
        "MultipleChoiceListField",
        "Record",
        "Response",
        "Router",
        "ValidationError",
    }
)
# Suffixes of classes the compiler generates per entity (CompanyAdmin, CompanySerializer):
# an entity named CompanyAdmin next to Company would collide.
GENERATED_CLASS_SUFFIXES = ("Admin", "Factory", "Filter", "Inline", "Serializer", "ViewSet")


def reserved_name_reason(name: str) -> str | None:
    """Why ``name`` cannot name a field (or related name), or None if it can."""
    if name in PYTHON_KEYWORDS:
        return "it is a Python keyword"
    if name in {"id", "pk"}:
        return "Django uses it for the primary key"
    if name in DJANGO_MODEL_ATTRIBUTES:
        return "Django models already use it"
    if name in RECORD_ATTRIBUTES:
        return "every CRM record already has it (stamps, owner, soft delete, notes, tasks...)"
    if name in EXPRESSION_KEYWORDS:
        return "it is a value in expressions"
    if name in SQL_KEYWORDS:
        return "it is an SQL keyword"
    if name in GENERATED_CODE_NAMES:
        return "the generated code uses it"
    if name.startswith("_"):
        return "names cannot start with an underscore"
    if "__" in name:
        return "Django uses __ to follow relations in queries"
    if name.endswith("_"):
        return "Django field names cannot end with an underscore"
    if name.startswith(("get_next_by_", "get_previous_by_")) or (
        name.startswith("get_") and name.endswith("_display")
    ):
        return "Django generates methods with names like this one"
    return None


def reserved_class_name_reason(name: str) -> str | None:
    """Why ``name`` cannot name an entity class, or None if it can."""
    if name in PYTHON_KEYWORDS:
        return "it is a Python keyword"
    lowered = name.lower()
    for kit_name in sorted(KIT_MODEL_NAMES):
        if kit_name.lower() == lowered:
            return f"the CRM kit already defines the model {kit_name} in every app"
    if name in IMPORTED_CLASS_NAMES or name in DJANGO_MODEL_ATTRIBUTES:
        return "the generated code already uses this name"
    return None


# URL segments and route names of the endpoints every app's API has for the kit's tables
# (the compiler's router registers them after the entities' endpoints).
KIT_API_ENDPOINTS = (
    ("tasks", "task"),
    ("notes", "note"),
    ("tags", "tag"),
    ("choice-lists", "choice-list"),
    ("pipelines", "pipeline"),
    ("timeline", "timeline-entry"),
    ("stage-changes", "stage-change"),
)


def api_url_segment(entity_id: str) -> str:
    """URL segment of an entity's endpoint: its id, hyphenated and pluralised (deal-contacts)."""
    words = entity_id.split("_")
    last = words[-1]
    if last.endswith(("s", "x", "z", "ch", "sh")):
        last += "es"
    elif last.endswith("y") and last[-2:-1] not in set("aeiou"):
        last = last[:-1] + "ies"
    else:
        last += "s"
    return "-".join([*words[:-1], last])


def api_endpoint_names(entity_id: str) -> tuple[str, str]:
    """(URL segment, route name) of an entity's endpoint: ``deal_contact`` gives
    ("deal-contacts", "deal-contact"). No two endpoints of an app may share any of them."""
    return api_url_segment(entity_id), entity_id.replace("_", "-")
