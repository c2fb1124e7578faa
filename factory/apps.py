from django.apps import AppConfig


class FactoryConfig(AppConfig):
    name = "factory"
    verbose_name = "CRM Factory"
    default_auto_field = "django.db.models.BigAutoField"
