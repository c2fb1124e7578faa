"""URLs of the scratch project: each compiled app's own URLconf under ``/<label>/``."""

from django.conf import settings
from django.urls import include, path

# SANDBOX_APPS is in sandbox_settings, which django-stubs does not see (it reads config.settings).
sandbox_apps = settings.SANDBOX_APPS  # type: ignore[misc]
urlpatterns = [path(f"{label}/", include(f"{label}.urls")) for label in sandbox_apps]
