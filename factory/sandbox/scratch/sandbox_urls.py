"""URLs of the scratch project: each compiled app's own URLconf under ``/<label>/``."""

from django.conf import settings
from django.urls import include, path

urlpatterns = [path(f"{label}/", include(f"{label}.urls")) for label in settings.SANDBOX_APPS]
