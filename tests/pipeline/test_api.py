"""The factory's REST API: token auth, requests, questions, answers, state, isolation."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from factory.pipeline import services
from factory.pipeline.models import Answer, ChangeRequest, RequestState
from tests.pipeline import scripts

pytestmark = pytest.mark.usefixtures("spec_only_builder")


def client_for(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def waiting(send, tenant, builder):
    change_request, steps = services.change_request_create(
        tenant=tenant, builder=builder, text=scripts.REQUEST, provider_config=scripts.scripted()
    )
    send(steps)
    change_request.refresh_from_db()
    return change_request


def test_without_a_token_nothing_is_readable(db):
    response = APIClient().get("/api/factory/requests/")

    assert response.status_code == 401


def test_a_builder_follows_a_request_from_questions_to_preview(
    waiting, builder, django_capture_on_commit_callbacks
):
    client = client_for(builder)

    listed = client.get("/api/factory/requests/").json()
    assert [(item["id"], item["state"], item["open_questions"]) for item in listed["results"]] == [
        (waiting.pk, "awaiting_answers", 2)
    ]
    questions = client.get(f"/api/factory/requests/{waiting.pk}/questions/").json()
    assert [(q["position"], q["blocking"], q["answer"]) for q in questions] == [
        (1, False, None),
        (2, True, None),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        answered = client.post(
            f"/api/factory/requests/{waiting.pk}/answers/",
            {"answers": [{"question": questions[1]["id"], "answer": "No deposit."}]},
            format="json",
        )

    assert answered.status_code == 202
    detail = client.get(f"/api/factory/requests/{waiting.pk}/").json()
    assert (detail["state"], detail["progress"], detail["release"]) == (
        "preview",
        90,
        {"number": 1, "status": "preview"},
    )
    assert detail["preview_url"] == "http://bikes--preview.localhost/"
    assert [task["key"] for task in detail["tasks"]] == ["bikes", "screens", "api"]
    assert "Adds entity Bike" in detail["summary"]


def test_a_missing_blocking_answer_is_refused_with_the_reason(waiting, builder):
    response = client_for(builder).post(
        f"/api/factory/requests/{waiting.pk}/answers/", {"answers": []}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {
        "problems": ["Question 2 is blocking: answer it (“Do you charge a deposit?”)."]
    }
    assert Answer.objects.count() == 0


def test_deploying_a_request_that_is_not_in_preview_is_refused(waiting, builder):
    response = client_for(builder).post(f"/api/factory/requests/{waiting.pk}/deploy/")

    assert response.status_code == 409
    assert response.json()["problems"] == [
        f"Request #{waiting.pk} is waiting for answers; only a request in preview can be deployed."
    ]
    waiting.refresh_from_db()
    assert (waiting.state, waiting.step) == (RequestState.AWAITING_ANSWERS, "")


def test_a_builder_of_another_tenant_sees_and_changes_nothing(
    waiting, other_builder, other_tenant, django_capture_on_commit_callbacks
):
    client = client_for(other_builder)
    question = waiting.questions.get(position=2)
    before = ChangeRequest.objects.values().get(pk=waiting.pk)

    assert client.get("/api/factory/requests/").json()["results"] == []
    assert client.get(f"/api/factory/requests/{waiting.pk}/").status_code == 404
    assert client.get(f"/api/factory/requests/{waiting.pk}/questions/").status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        answers = client.post(
            f"/api/factory/requests/{waiting.pk}/answers/",
            {"answers": [{"question": question.pk, "answer": "Hijack."}]},
            format="json",
        )
        deploy = client.post(f"/api/factory/requests/{waiting.pk}/deploy/")
        rollback = client.post(f"/api/factory/requests/{waiting.pk}/rollback/", {"confirm": True})
        cancel = client.post(f"/api/factory/requests/{waiting.pk}/cancel/")
        create = client.post(
            "/api/factory/requests/", {"tenant": "bikes", "text": scripts.REQUEST}, format="json"
        )

    assert [r.status_code for r in (answers, deploy, rollback, cancel, create)] == [404] * 5
    assert ChangeRequest.objects.values().get(pk=waiting.pk) == before
    assert ChangeRequest.objects.count() == 1
    assert Answer.objects.count() == 0


def test_a_request_created_through_the_api_starts_with_the_analyst(
    tenant, builder, settings, django_capture_on_commit_callbacks
):
    settings.FACTORY_PIPELINE_PROVIDER = scripts.scripted()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(builder).post(
            "/api/factory/requests/",
            {"tenant": "bikes", "text": scripts.REQUEST, "language": "en"},
            format="json",
        )

    assert (response.status_code, response.json()["state"]) == (201, "analysing")
    change_request = ChangeRequest.objects.get(pk=response.json()["id"])
    assert (change_request.state, change_request.questions.count()) == ("awaiting_answers", 2)


def test_a_spec_upload_through_the_api_builds_a_preview(
    tenant, builder, django_capture_on_commit_callbacks
):
    from factory.spec.template import template_app_spec

    spec = template_app_spec().to_jsonable()
    spec["name"] = "Velo CRM"
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(builder).post(
            "/api/factory/requests/spec/", {"tenant": "bikes", "spec": spec}, format="json"
        )

    assert (response.status_code, response.json()["kind"]) == (201, "spec")
    change_request = ChangeRequest.objects.get(pk=response.json()["id"])
    assert (change_request.state, change_request.release.spec["name"]) == ("preview", "Velo CRM")


def test_an_invalid_spec_upload_is_refused_with_its_problems(tenant, builder):
    response = client_for(builder).post(
        "/api/factory/requests/spec/",
        {"tenant": "bikes", "spec": "name: X\nentities: 3\n"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["problems"][0].startswith("The spec is not valid.")
    assert ChangeRequest.objects.count() == 0


def test_the_schema_documents_the_factory_api_at_the_bare_domain(db):
    schema = APIClient().get("/api/factory/schema/", HTTP_ACCEPT="application/json").json()

    assert schema["info"]["title"] == "CRM Factory — factory API"
    assert {
        "/api/factory/requests/",
        "/api/factory/requests/{id}/",
        "/api/factory/requests/{id}/questions/",
        "/api/factory/requests/{id}/answers/",
        "/api/factory/requests/{id}/deploy/",
        "/api/factory/requests/{id}/rollback/",
        "/api/factory/requests/spec/",
        "/api/factory/tenants/",
    } <= set(schema["paths"])
    assert not any(path.startswith("/api/crm/") for path in schema["paths"])
    assert APIClient().get("/api/factory/docs/").status_code == 200
