"""The API's default permission class (settings: REST_FRAMEWORK DEFAULT_PERMISSION_CLASSES)
and the permission templates it shares with the admin (``ARCHIVE``: who archives and restores).

Kept apart from ``crm.kit.api`` on purpose: DRF imports the default permission classes
while ``rest_framework.views`` itself is being imported, so this module may import nothing
that imports DRF's views (viewsets, generics, decorators).
"""

from __future__ import annotations

from typing import Any

from django.db import models
from rest_framework.permissions import DjangoModelPermissions
from rest_framework.request import Request

VIEW = "%(app_label)s.view_%(model_name)s"
ADD = "%(app_label)s.add_%(model_name)s"
CHANGE = "%(app_label)s.change_%(model_name)s"
DELETE = "%(app_label)s.delete_%(model_name)s"
# Archiving is a soft delete, so archiving and restoring a record need the delete permission
# wherever they are offered: the API's DELETE and restore, and the admin's bulk actions.
ARCHIVE = DELETE


def permission_name(template: str, model: type[models.Model]) -> str:
    """The full permission name (``crm.delete_contact``) of a template for a model."""
    return template % {"app_label": model._meta.app_label, "model_name": model._meta.model_name}


class ModelPermissions(DjangoModelPermissions):
    """Django model permissions for every method, reads included.

    DRF's default lets any authenticated user read; here reading needs the view
    permission, so a user without a role gets 403 everywhere. A view can name the
    permissions of its actions in ``action_permissions`` (e.g. restore needs ``ARCHIVE``).
    """

    perms_map = {
        "GET": [VIEW],
        "OPTIONS": [VIEW],
        "HEAD": [VIEW],
        "POST": [ADD],
        "PUT": [CHANGE],
        "PATCH": [CHANGE],
        "DELETE": [DELETE],
    }

    def has_permission(self, request: Request, view: Any) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        if getattr(view, "_ignore_model_permissions", False):
            return True
        model = self._queryset(view).model
        templates = getattr(view, "action_permissions", {}).get(getattr(view, "action", None))
        if templates is None:
            # request.method is set on every request a view handles.
            return request.user.has_perms(self.get_required_permissions(request.method, model))  # type: ignore[arg-type]
        return request.user.has_perms([permission_name(template, model) for template in templates])
