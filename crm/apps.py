from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def install_crm_roles(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    """The four role groups exist as soon as the base CRM is migrated (not only after
    ``seed_demo``); policies an administrator changed are kept."""
    from crm.kit.roles import role_groups_install

    migrated_apps = kwargs.get("apps")
    try:
        # Only once the app's tables exist (``migrate other_app`` on a fresh database
        # sends post_migrate for every app).
        if migrated_apps is not None:
            migrated_apps.get_model(sender.label, "RolePolicy")
    except LookupError:
        return
    role_groups_install(app_label=sender.label)


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = "CRM"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Connects the timeline receivers once per process, for every app built on the kit.
        from crm.kit import timeline  # noqa: F401

        post_migrate.connect(install_crm_roles, sender=self, dispatch_uid="crm_install_roles")
