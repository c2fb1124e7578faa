from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "factory.tenants"
    label = "tenants"
    verbose_name = "Tenants"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Binds sessions to the host they were opened on, and lets the development
        # server restart when a deploy touches the reload stamp.
        from factory.tenants import auth, reload

        auth.connect_session_binding()
        reload.connect_dev_server_reload()
