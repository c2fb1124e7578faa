"""URLs of the base CRM's REST API (mounted at /api/crm/), its OpenAPI schema and docs page.

The schema describes this API only, not the factory's own API. The schema and docs need a
signed-in user (session or token): they describe the app's own data model, which is the
tenant's business, not public knowledge.
"""

from django.urls import path
from drf_spectacular.views import SpectacularSwaggerView
from rest_framework.permissions import IsAuthenticated
from rest_framework.routers import DefaultRouter

from crm.api import views
from crm.kit.api import AppSchemaView

app_name = "crm_api"

router = DefaultRouter()
router.register("companies", views.CompanyViewSet, basename="company")
router.register("contacts", views.ContactViewSet, basename="contact")
router.register("deals", views.DealViewSet, basename="deal")
router.register("deal-contacts", views.DealContactViewSet, basename="deal-contact")
router.register("tasks", views.TaskViewSet, basename="task")
router.register("notes", views.NoteViewSet, basename="note")
router.register("tags", views.TagViewSet, basename="tag")
router.register("choice-lists", views.ChoiceListViewSet, basename="choice-list")
router.register("pipelines", views.PipelineViewSet, basename="pipeline")
router.register("timeline", views.TimelineEntryViewSet, basename="timeline-entry")
router.register("stage-changes", views.StageChangeViewSet, basename="stage-change")

urlpatterns = [
    path(
        "schema/",
        AppSchemaView.as_view(api_patterns=router.urls, permission_classes=[IsAuthenticated]),
        name="schema",
    ),
    path(
        "docs/",
        SpectacularSwaggerView.as_view(
            url_name="crm_api:schema", permission_classes=[IsAuthenticated]
        ),
        name="docs",
    ),
    *router.urls,
]
