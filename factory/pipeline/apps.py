"""The pipeline app (label ``pipeline``): change requests and their steps."""

from django.apps import AppConfig


class PipelineConfig(AppConfig):
    name = "factory.pipeline"
    label = "pipeline"
    verbose_name = "Change requests"
    default_auto_field = "django.db.models.BigAutoField"
