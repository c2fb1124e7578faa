"""Entry point of a sandbox process: ``python entry.py MODE ARGS...``.

Modes: ``manage ARGS`` (a ``manage.py`` command), ``pytest ARGS``, ``steps LABEL JSON``
(the check's import, check, makemigrations and migrate steps in one process, a JSON report
line each, and optionally the app's models as JSON) and ``script PATH ARGS``
(run a Python file after ``django.setup()``, for callers that need their own code in the
scratch process, such as a migration questioner).

The parent (``factory.sandbox.runner``) sets the environment read here and in
``sandbox_settings``. This file only arranges ``sys.path`` and dispatches.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import pkgutil
import runpy
import sys
import time
import traceback

STEP_MARKER = "@@sandbox-step "
MODELS_MARKER = "@@sandbox-models "


def arrange_sys_path() -> None:
    # The project root goes last, after site-packages: ``crm`` (the kit) still resolves,
    # while ``factory`` is factory-boy, as in any project the compiled apps are handed to.
    sys.path.append(os.environ["FACTORY_SANDBOX_PROJECT_ROOT"])
    sys.path.insert(0, os.environ["FACTORY_SANDBOX_APPS_DIR"])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sandbox_settings")


def import_modules(label: str) -> str:
    """Import every module of the app (migrations and tests aside); returns a summary."""
    package = importlib.import_module(label)
    names = [label] + [
        info.name
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{label}.")
        if ".migrations" not in info.name and ".tests" not in info.name
    ]
    for name in sorted(names):
        importlib.import_module(name)
    return f"Imported {len(names)} modules: {', '.join(sorted(names))}"


def run_step(name: str, label: str, options: dict[str, list[str]]) -> str:
    """One step of the check; raises on failure, returns what it printed."""
    import django
    from django.core.management import call_command

    if name == "import":
        django.setup()
        return import_modules(label)
    output = io.StringIO()
    if name == "migrate":
        # makemigrations may have just written files this process has not seen yet.
        importlib.invalidate_caches()
    call_command(*options[name], stdout=output, stderr=output)
    return output.getvalue()


def run_steps(label: str, spec: str) -> int:
    """Run the check's steps in this one process, printing a JSON report line per step.

    ``spec`` is JSON: {"steps": [names], "<name>": [command arguments], "describe": bool};
    with ``describe``, a last line gives the app's models as JSON (see sandbox_introspect).
    """
    options = json.loads(spec)
    for name in options["steps"]:
        started = time.perf_counter()
        try:
            output, ok = run_step(name, label, options), True
        except SystemExit as exit_:
            output, ok = (
                f"The command stopped with exit code {exit_.code}.",
                exit_.code in (0, None),
            )
        except Exception:
            output, ok = traceback.format_exc(), False
        report = {
            "name": name,
            "ok": ok,
            "duration": time.perf_counter() - started,
            "output": output,
        }
        print(STEP_MARKER + json.dumps(report), flush=True)
        if not ok:
            return 1
    if options.get("describe"):
        # A sibling of this script, on sys.path only in the sandbox process.
        from sandbox_introspect import app_models_describe  # type: ignore[import-not-found]

        print(MODELS_MARKER + json.dumps(app_models_describe(label), sort_keys=True), flush=True)
    return 0


def run_script(path: str, args: list[str]) -> int:
    import django

    django.setup()
    sys.argv = [path, *args]
    try:
        runpy.run_path(path, run_name="__main__")
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
    return 0


def main(argv: list[str]) -> int:
    arrange_sys_path()
    mode, args = argv[0], argv[1:]
    if mode == "manage":
        from django.core.management import execute_from_command_line

        execute_from_command_line(["manage.py", *args])
        return 0
    if mode == "pytest":
        import pytest

        return int(pytest.main(args))
    if mode == "steps":
        return run_steps(args[0], args[1])
    if mode == "script":
        return run_script(args[0], args[1:])
    print(f"Unknown sandbox mode {mode!r}.", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
