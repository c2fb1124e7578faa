"""URLs of the factory's REST API (mounted at /api/factory/ on the bare domain), with its
OpenAPI schema and docs page (public: they describe the factory API, no tenant's data)."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny
from rest_framework.routers import DefaultRouter

from factory.pipeline import api

app_name = "factory_api"

router = DefaultRouter()
router.register("tenants", api.TenantViewSet, basename="tenant")
router.register("requests", api.ChangeRequestViewSet, basename="request")

SCHEMA_SETTINGS = {
    "TITLE": "CRM Factory — factory API",
    "DESCRIPTION": (
        "Change requests for the tenants you build for: create one in plain words (or upload "
        "a spec), read and answer its questions, follow its state, deploy its preview, roll "
        "it back. Authenticate with `Authorization: Token <your token>`."
    ),
    "PREPROCESSING_HOOKS": ["factory.pipeline.api.factory_api_endpoints"],
}

urlpatterns = [
    path(
        "schema/",
        SpectacularAPIView.as_view(custom_settings=SCHEMA_SETTINGS, permission_classes=[AllowAny]),
        name="schema",
    ),
    path(
        "docs/",
        SpectacularSwaggerView.as_view(
            url_name="factory_api:schema", permission_classes=[AllowAny]
        ),
        name="docs",
    ),
    *router.urls,
]
