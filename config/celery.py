"""The Celery application, wired the standard Django way.

Without REDIS_URL the settings make every task run in-process (``task_always_eager``),
so the embedded default needs no broker; with REDIS_URL tasks go to Redis and a real
worker (``celery -A config worker``) runs them.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("crm_factory")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
