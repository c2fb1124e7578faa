#!/usr/bin/env bash
# One entry point for a fresh machine with Python 3.11+:
#   ./dev.sh demo   set up, migrate, build the recruitment demo tenant (a replay), serve on :8000
#   ./dev.sh test   set up the virtual environment and run the test suite
#   ./dev.sh setup  only set up the virtual environment
# Embedded defaults: SQLite under var/, Celery tasks in-process. Set DATABASE_URL and
# REDIS_URL to use PostgreSQL and a Redis broker instead.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}

setup() {
    if [ ! -x "$VENV/bin/python" ]; then
        "$PYTHON" -m venv "$VENV"
    fi
    # Reinstall only when pyproject.toml changed since the last install.
    local stamp="$VENV/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
    if [ ! -f "$stamp" ]; then
        "$VENV/bin/python" -m pip install --quiet --upgrade pip
        "$VENV/bin/python" -m pip install --quiet -e ".[dev]"
        rm -f "$VENV"/.installed-*
        touch "$stamp"
    fi
}

command=${1:-demo}
shift || true
case "$command" in
    setup)
        setup
        ;;
    demo)
        setup
        "$VENV/bin/python" manage.py migrate --noinput
        # The base CRM's sample data (/crm/); a second run is refused, and the demo goes on.
        "$VENV/bin/python" manage.py seed_demo || echo "Skipped seed_demo (see above); the demo goes on."
        "$VENV/bin/python" manage.py factory demo --port "${PORT:-8000}" "$@"
        exec "$VENV/bin/python" manage.py runserver "${PORT:-8000}"
        ;;
    test)
        setup
        exec "$VENV/bin/python" -m pytest "$@"
        ;;
    *)
        echo "Unknown command '$command'. Use: ./dev.sh demo | test | setup" >&2
        exit 2
        ;;
esac
