"""Subcommands of ``python manage.py factory``.

Each module in ``SUBCOMMAND_MODULES`` exposes ``register(subparsers)`` that adds its
parsers and sets ``handler=function(options, stdout, stderr) -> int`` (the exit code).
The command only parses and dispatches; the work happens in services.
"""

SUBCOMMAND_MODULES = [
    "factory.cli.spec",
    "factory.cli.compile",
    "factory.cli.tenant",
    "factory.cli.demo",
    "factory.cli.eval",
]
