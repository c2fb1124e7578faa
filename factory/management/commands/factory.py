"""``python manage.py factory ...``: the factory's command line.

Subcommands live in ``factory.cli`` modules; this command only builds the parser and
hands over to the chosen subcommand's handler, whose return value is the exit code.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from factory.cli import SUBCOMMAND_MODULES

# Subcommands that need no migrated database: spec and compile work on files only, and
# demo migrates the database itself. Every other one reads or writes the database.
DATABASE_FREE_SUBCOMMANDS = {"spec", "compile", "demo"}
EXIT_REFUSED = 2


class Command(BaseCommand):
    help = "CRM Factory: specs, compiler, tenants, releases, demo and evals."

    def add_arguments(self, parser: CommandParser) -> None:
        subparsers = parser.add_subparsers(dest="subcommand", required=True, metavar="COMMAND")
        for module_name in SUBCOMMAND_MODULES:
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as error:
                if error.name != module_name:
                    raise
                continue
            module.register(subparsers)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] not in DATABASE_FREE_SUBCOMMANDS:
            from factory.tenants.selectors import project_migrations_unapplied

            unapplied = project_migrations_unapplied()
            if unapplied:
                # Said plainly here rather than as a "no such table" traceback later.
                self.stderr.write(
                    f"The database is not ready for the factory: {len(unapplied)} migrations "
                    f"are not applied yet (the first is {unapplied[0]}). Run "
                    "`python manage.py migrate`, then this command again."
                )
                sys.exit(EXIT_REFUSED)
        exit_code = options["handler"](options, self.stdout, self.stderr)
        if exit_code:
            sys.exit(exit_code)
