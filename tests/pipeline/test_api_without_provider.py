"""Creating a request through the API when no model provider is configured and no worker
runs (steps run in the web process): the request ends failed with a sentence saying what
to set, the API answers 201 with it, and nothing is logged as a crash."""

from __future__ import annotations

import logging

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from factory.pipeline.models import ChangeRequest
from factory.tenants.models import TenantRelease

# Transactional, so the steps run when the view's writes commit, as on a server without a
# worker, and the answer shows what they did.
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("spec_only_builder"),
]

MESSAGE = (
    "The analyst could not start because no model provider is ready: OPENAI_API_KEY is not "
    "set: set it, or choose another FACTORY_LLM_PROVIDER (anthropic, openai_compatible, "
    "replay). Send the request again once it is set."
)


def test_a_request_without_a_provider_is_created_failed_with_the_reason(
    settings, tenant, builder, caplog
):
    settings.FACTORY_LLM_PROVIDER = "openai"
    settings.OPENAI_API_KEY = ""
    settings.FACTORY_LLM_RECORD_PATH = ""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=builder).key}")

    with caplog.at_level(logging.INFO):
        response = client.post(
            "/api/factory/requests/",
            {"tenant": "bikes", "text": "Rent bikes by the hour."},
            format="json",
        )

    assert response.status_code == 201
    body = response.json()
    assert (body["tenant"], body["state"], body["step"], body["error"]) == (
        "bikes",
        "failed",
        "",
        MESSAGE,
    )
    stored = ChangeRequest.objects.get()
    assert (stored.pk, stored.state, stored.error) == (body["id"], "failed", MESSAGE)
    assert TenantRelease.objects.count() == 0
    assert [record for record in caplog.records if record.exc_info] == []
    assert [record for record in caplog.records if record.levelno >= logging.ERROR] == []
