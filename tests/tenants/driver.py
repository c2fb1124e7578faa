"""A long-lived ``manage.py factory`` for the tenant stack tests (``python -m ...driver``).

Starting Django costs about two seconds per command; the stack tests run dozens of
commands, so one process runs them all, exactly as ``manage.py factory ARGS`` would
(``call_command`` with the same parser and handlers). It reads one JSON request per line
on stdin ({"argv": [...], "stdin": "..."}) and answers one JSON line on stdout
({"code": ..., "stdout": ..., "stderr": ...}). A long-lived process is also what a Celery
worker running these services is: the services must not rely on the apps this process
loaded at start, and this driver checks that they do not.
"""

from __future__ import annotations

import io
import json
import os
import sys
import traceback


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    protocol = sys.stdout
    sys.stdout = sys.stderr  # anything printed stray must not break the protocol
    for line in sys.stdin:
        request = json.loads(line)
        out, err = io.StringIO(), io.StringIO()
        sys.stdin = io.StringIO(request.get("stdin", ""))
        try:
            call_command("factory", *request["argv"], stdout=out, stderr=err)
            code = 0
        except SystemExit as exit_:
            code = int(exit_.code or 0)
        except Exception:
            err.write(traceback.format_exc())
            code = 99
        finally:
            sys.stdin = sys.__stdin__
            connections.close_all()
        protocol.write(
            json.dumps({"code": code, "stdout": out.getvalue(), "stderr": err.getvalue()}) + "\n"
        )
        protocol.flush()


if __name__ == "__main__":
    main()
