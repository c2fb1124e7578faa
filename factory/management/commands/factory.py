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
        exit_code = options["handler"](options, self.stdout, self.stderr)
        if exit_code:
            sys.exit(exit_code)
