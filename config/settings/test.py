"""Test settings: fast hasher, local-memory cache, eager Celery unless a test starts a worker.

DATABASE_URL picks the database as everywhere else (CI sets it to PostgreSQL); without it
the tests use SQLite.
"""

from config.settings.base import *  # noqa: F403
from config.settings.base import env

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = "memory://"
CELERY_RESULT_BACKEND = "cache+memory://"
FACTORY_REQUIRE_SERVICES = env.bool("FACTORY_REQUIRE_SERVICES", default=False)
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
