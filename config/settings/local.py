"""Development settings: debug on, the embedded defaults (SQLite, in-process tasks)."""

from config.settings.base import *  # noqa: F403
from config.settings.base import env

DEBUG = env.bool("DEBUG", default=True)
