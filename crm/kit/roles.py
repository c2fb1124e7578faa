"""Roles as Django groups, and record visibility for roles limited to their own records.

Four roles per app: Admin (everything), Manager (everything but deleting configuration),
Member (view, add and change records; no delete), Read-only (view). A role's
``RolePolicy`` can limit it to the records its members own. Admin screens and API views
call ``records_visible_to`` and ``record_owner_check`` so both enforce the same rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models, transaction

from crm.kit.models import Record
from crm.kit.registry import kit_model

ROLE_ADMIN = "Admin"
ROLE_MANAGER = "Manager"
ROLE_MEMBER = "Member"
ROLE_READ_ONLY = "Read-only"
ROLES = (ROLE_ADMIN, ROLE_MANAGER, ROLE_MEMBER, ROLE_READ_ONLY)

OWNER_OF_NEW_RECORD_REFUSED = (
    "Your role limits you to records you own, so you cannot create one for someone else; "
    "leave the owner empty or choose yourself."
)
OWNER_HANDOVER_REFUSED = (
    "Your role limits you to records you own, so you cannot hand this one over to someone "
    "else or leave it without an owner; keep yourself as the owner."
)

# Configuration tables: only admins and managers edit them.
CONFIGURATION_MODELS = {"choicelist", "choiceoption", "pipeline", "stage", "rolepolicy"}
# History tables: nobody edits them by hand.
HISTORY_MODELS = {"timelineentry", "stagechange"}


def role_group_name(app_label: str, role: str) -> str:
    """Group names carry the app label so two apps' roles never mix (``crm: Manager``)."""
    return f"{app_label}: {role}"


def _codenames_for(role: str, model_name: str) -> set[str]:
    actions: set[str]
    if role == ROLE_ADMIN:
        actions = {"view", "add", "change", "delete"}
    elif role == ROLE_MANAGER:
        actions = {"view", "add", "change"} | (
            set() if model_name in CONFIGURATION_MODELS else {"delete"}
        )
    elif role == ROLE_MEMBER:
        actions = {"view"} if model_name in CONFIGURATION_MODELS else {"view", "add", "change"}
    else:
        actions = {"view"}
    if model_name in HISTORY_MODELS:
        actions &= {"view"}
    return {f"{action}_{model_name}" for action in actions}


@transaction.atomic
def role_groups_install(*, app_label: str, own_records_only: set[str] | None = None) -> dict:
    """Create or refresh the four role groups of an app with their model permissions.

    ``own_records_only`` names the roles limited to their members' records; when it is
    None, existing role policies keep what an administrator set in the admin.
    """
    from django.apps import apps

    models_of_app = list(apps.get_app_config(app_label).get_models())
    content_types = ContentType.objects.get_for_models(*models_of_app).values()
    permissions = list(Permission.objects.filter(content_type__in=content_types))
    policy_model = kit_model(app_label, "RolePolicy")
    groups = {}
    for role in ROLES:
        group, _ = Group.objects.get_or_create(name=role_group_name(app_label, role))
        wanted = set()
        for model in models_of_app:
            wanted |= _codenames_for(role, model._meta.model_name)  # type: ignore[arg-type]  # a model's model_name is never None
        group.permissions.set([p for p in permissions if p.codename in wanted])
        if own_records_only is None:
            policy_model.objects.get_or_create(group=group)
        else:
            policy_model.objects.update_or_create(
                group=group, defaults={"own_records_only": role in own_records_only}
            )
        groups[role] = group
    return groups


def _kit_role_for(name: str, permissions: Mapping[str, Iterable[str]]) -> str:
    """The standard role whose rights a described role gets on tables it does not list."""
    if name in ROLES:
        return name
    writes = {action for actions in permissions.values() for action in actions} - {"view"}
    return ROLE_MEMBER if writes else ROLE_READ_ONLY


@transaction.atomic
def roles_install(*, app_label: str, roles: Mapping[str, Mapping[str, Any]]) -> dict:
    """Create or refresh roles described as data (the roles of a compiled app's spec).

    ``roles`` maps a role name to ``{"permissions": {model_name: [action, ...]},
    "own_records_only": bool}``. Listed models get exactly the listed actions; the app's
    other models (the kit's tables) get what the standard role of that name gets, or for
    another name what a Member gets if the role may add or change anything, else Read-only.
    """
    from django.apps import apps

    models_of_app = list(apps.get_app_config(app_label).get_models())
    content_types = ContentType.objects.get_for_models(*models_of_app).values()
    permissions = list(Permission.objects.filter(content_type__in=content_types))
    policy_model = kit_model(app_label, "RolePolicy")
    groups = {}
    for name, definition in roles.items():
        listed = definition.get("permissions", {})
        kit_role = _kit_role_for(name, listed)
        wanted = set()
        for model in models_of_app:
            model_name = model._meta.model_name
            if model_name in listed:
                wanted |= {f"{action}_{model_name}" for action in listed[model_name]}
            else:
                wanted |= _codenames_for(kit_role, model_name)  # type: ignore[arg-type]  # a model's model_name is never None
        group, _ = Group.objects.get_or_create(name=role_group_name(app_label, name))
        group.permissions.set([p for p in permissions if p.codename in wanted])
        policy_model.objects.update_or_create(
            group=group, defaults={"own_records_only": bool(definition.get("own_records_only"))}
        )
        groups[name] = group
    return groups


def user_limited_to_own_records(user: Any, app_label: str) -> bool:
    """True when every role the user has in this app is limited to its own records."""
    if not user.is_authenticated:
        return True
    if user.is_superuser:
        return False
    policy_model = kit_model(app_label, "RolePolicy")
    cache_name = f"_own_records_only_{app_label}"
    if not hasattr(user, cache_name):
        policies = list(
            policy_model.objects.filter(group__user=user).values_list("own_records_only", flat=True)
        )
        setattr(user, cache_name, bool(policies) and all(policies))
    return getattr(user, cache_name)


def records_visible_to(user: Any, queryset: models.QuerySet) -> models.QuerySet:
    """The part of ``queryset`` the user may see: all of it, or only what they own."""
    model = queryset.model
    if issubclass(model, Record) and user_limited_to_own_records(user, model._meta.app_label):
        return queryset.filter(owner=user)
    return queryset


def record_owner_check(*, user: Any, model: type[Record], owner: Any, creating: bool) -> None:
    """Refuse an owner that ``user`` may not give a record of ``model``.

    A user limited to their own records would lose sight of a record owned by someone else,
    so they may only own what they create (an empty owner on create means themselves:
    ``Record.save`` stamps the creator) and may not hand a record over, to another user or
    to nobody. Everyone else chooses any owner. Raises ``ValidationError`` for the owner
    field; the admin's record forms and the API's record serializers both call this.
    """
    if not user_limited_to_own_records(user, model._meta.app_label):
        return
    if owner is None and creating:
        return
    if owner is not None and owner.pk == user.pk:
        return
    message = OWNER_OF_NEW_RECORD_REFUSED if creating else OWNER_HANDOVER_REFUSED
    raise ValidationError(message, code="owner_not_allowed")
