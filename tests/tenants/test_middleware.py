"""Host routing and access in this process: unknown hosts, tenants not loaded here, sessions
bound to another host, and the 503 while a tenant's tables change under old code.

This process loads no tenant app (the test runner's database is created after start), so
tenant hosts that answer are covered by ``test_stack``; here a small console URLconf keeps
the tests independent of the rest of the project's URLs.
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import path

from factory.tenants.models import Tenant
from factory.tenants.runtime import state
from factory.tenants.runtime.state import (
    MODE_ADDITIVE,
    MODE_MAINTENANCE,
    MODE_STRICT,
    change_mode,
    request_held_back,
    tenant_state_write,
)

urlpatterns = [
    path("ping/", lambda request: HttpResponse("pong")),
    path("admin/", admin.site.urls),
]

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.tenants.test_middleware")]


def test_the_console_host_serves_the_project_urls(client) -> None:
    assert client.get("/ping/").content == b"pong"
    assert client.get("/ping/", HTTP_HOST="localhost").content == b"pong"


@pytest.mark.parametrize("host", ["nosuch.localhost", "acme.localhost", "acme--preview.localhost"])
def test_unknown_or_unloaded_tenant_hosts_get_a_bare_404(client, host: str) -> None:
    Tenant.objects.create(slug="acme", name="Acme")  # exists, but its app is not loaded here
    answer = client.get("/ping/", HTTP_HOST=host)
    assert answer.status_code == 404
    assert answer.content == b"Not found.\n"
    assert answer["Content-Type"] == "text/plain; charset=utf-8"


def test_a_session_opened_on_a_tenant_host_is_refused_on_the_console(client, superuser) -> None:
    client.force_login(superuser)
    session = client.session
    session["tenants_host"] = "acme"
    session.save()
    answer = client.get("/admin/")
    assert (answer.status_code, answer.content) == (403, b"Forbidden.\n")
    assert client.session["tenants_host"] == "acme"  # nothing written


def test_a_console_session_opens_the_console(client, superuser) -> None:
    client.force_login(superuser)
    assert client.get("/admin/").status_code == 200


@pytest.fixture
def apps_dir(settings, tmp_path):
    settings.FACTORY_APPS_DIR = tmp_path
    state._cache.clear()
    yield tmp_path
    state._cache.clear()


def _request(method: str):
    return getattr(RequestFactory(), method.lower())("/api/companies/")


def test_no_state_or_the_loaded_release_means_no_hold(apps_dir) -> None:
    assert request_held_back(_request("POST"), "t_idle") is None
    tenant_state_write(app_label="t_idle", release_id=None, mode=MODE_STRICT)
    assert request_held_back(_request("POST"), "t_idle") is None  # None: nothing loaded, same


def test_an_additive_change_lets_old_code_read_but_not_write(apps_dir) -> None:
    tenant_state_write(app_label="t_acme", release_id=7, mode=MODE_ADDITIVE)
    assert request_held_back(_request("GET"), "t_acme") is None
    held = request_held_back(_request("POST"), "t_acme")
    assert held is not None
    assert held.status_code == 503
    assert held["Retry-After"] == "5"


@pytest.mark.parametrize("mode", [MODE_STRICT, MODE_MAINTENANCE])
def test_a_strict_change_or_maintenance_holds_every_request(apps_dir, mode: str) -> None:
    tenant_state_write(app_label="t_acme", release_id=7, mode=mode)
    for method in ("GET", "POST"):
        assert request_held_back(_request(method), "t_acme").status_code == 503


def test_only_changes_old_code_survives_are_additive() -> None:
    added = {"changes": [{"kind": "field_added"}, {"kind": "field_relabelled"}]}
    renamed = {"changes": [{"kind": "field_added"}, {"kind": "field_renamed"}]}
    assert change_mode(added) == MODE_ADDITIVE
    assert change_mode(renamed) == MODE_STRICT
    assert change_mode({"changes": [{"kind": "something_new"}]}) == MODE_STRICT
    assert change_mode({}) == MODE_ADDITIVE
