"""gunicorn settings (``gunicorn -c config/gunicorn.conf.py``).

Deploys reload the web processes with SIGHUP to the master, whose pid is in ``pidfile``:
the master starts new workers, which import the project afresh and so load the tenant
releases now live, then stops the old workers gracefully (they finish their requests).
That only works because the app is NOT preloaded in the master: with ``preload_app`` the
new workers would be forks of the master's old code. Knobs: GUNICORN_BIND,
GUNICORN_WORKERS, GUNICORN_PIDFILE (the same path must be in FACTORY_RELOAD_PIDFILES).
"""

import os
from pathlib import Path

_VAR_DIR = Path(__file__).resolve().parent.parent / "var"

wsgi_app = "config.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
preload_app = False
pidfile = os.environ.get("GUNICORN_PIDFILE", str(_VAR_DIR / "run" / "gunicorn.pid"))
# Old workers get this long to finish their requests after a reload.
# The control socket (gunicornc) is not used; its default path is shared by every
# instance on the machine.
control_socket_disable = True
graceful_timeout = 30
timeout = 60
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

Path(pidfile).parent.mkdir(parents=True, exist_ok=True)
