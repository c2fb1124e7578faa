"""``manage.py tenant_migrate LABEL``: the subprocess side of deploys, previews and rollbacks.

Started by ``factory.tenants.services`` with FACTORY_TENANT_RELEASES pinning exactly the
release to migrate, so this process imports that release's code and nothing else of the
tenant. Steps, in order: optionally drop the app's tables (``--reset``), migrate the app
with Django's own ``migrate`` (which runs the app's ``post_migrate`` install; the project's
``migrate`` leaves tenant apps out), install its role groups and put the tenant's members
in them, optionally load a backup (``--restore``) or sample rows (``--sample-data``). The
last line of output is a JSON summary for the parent. Internal: builders use ``factory
deploy``, ``factory tenant upgrade`` and ``factory rollback``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.apps import apps
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.management.commands import migrate as django_migrate


class Command(BaseCommand):
    help = "Internal: migrate one tenant app in this process (used by deploys and rollbacks)."
    # The sandbox checked this release before; the project checks cost a second per deploy.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("label")
        parser.add_argument("--tenant", required=True, help="The tenant's slug.")
        parser.add_argument("--reset", action="store_true", help="Drop the app's tables first.")
        parser.add_argument("--restore", type=Path, help="A backup file to load afterwards.")
        parser.add_argument("--sample-data", type=int, default=0, help="Sample rows per model.")

    def handle(self, *args: Any, **options: Any) -> None:
        from crm.kit.registry import app_has_kit
        from crm.kit.roles import role_groups_install
        from factory.tenants import backups
        from factory.tenants.models import Membership
        from factory.tenants.sample_data import sample_data_create
        from factory.tenants.services import membership_groups_sync

        label = options["label"]
        if label not in apps.app_configs:
            raise CommandError(f"The app {label} is not loaded in this process.")
        summary: dict[str, Any] = {"label": label}
        if options["reset"]:
            summary["dropped"] = backups.app_tables_drop(app_label=label)
        # Django's own migrate: the project's ``migrate`` leaves tenant apps to this command.
        call_command(
            django_migrate.Command(), label, interactive=False, verbosity=1, stdout=self.stderr
        )
        if app_has_kit(label):
            role_groups_install(app_label=label)
        for membership in Membership.objects.filter(tenant__slug=options["tenant"]):
            membership_groups_sync(membership=membership)
        if options["restore"] is not None:
            snapshot = backups.snapshot_read(path=options["restore"])
            if snapshot["app_label"] != label:
                raise CommandError(
                    f"The backup holds the tables of {snapshot['app_label']}, not of {label}."
                )
            backups.tables_restore(snapshot=snapshot)
        if options["sample_data"]:
            summary["sample_rows"] = sample_data_create(
                app_label=label, per_model=options["sample_data"]
            )
        summary["migrations"] = backups.app_applied_migrations(app_label=label)
        summary["row_counts"] = backups.table_row_counts(app_label=label)
        self.stdout.write(json.dumps(summary, sort_keys=True))
