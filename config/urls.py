"""URLs of the bare domain: the builders' console, the base CRM and its API.

Tenant hosts (``<slug>.<FACTORY_BASE_DOMAIN>``) never reach this module:
``factory.tenants.middleware.TenantHostMiddleware`` gives each its own URLconf (its admin
site at ``/``, its API at ``/api/``), and unknown hosts get a bare 404.
"""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from crm.admin import crm_site

urlpatterns = [
    path("", RedirectView.as_view(url="/crm/", permanent=False)),
    path("admin/", admin.site.urls),
    path("crm/", crm_site.urls),
    path("api/crm/", include("crm.api.urls")),
    path("api/factory/", include("factory.pipeline.urls")),
]
