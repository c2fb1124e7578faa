"""The builders' console: requests, questions as a form, the plan, agent turns, diffs,
buttons; and a builder of one tenant sees nothing of another's."""

from __future__ import annotations

import pytest
from django.test import Client

from factory.pipeline import services
from factory.pipeline.models import Answer, ChangeRequest, RequestState
from tests.pipeline import scripts

pytestmark = pytest.mark.usefixtures("spec_only_builder")


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def waiting(send, tenant, builder):
    change_request, steps = services.change_request_create(
        tenant=tenant, builder=builder, text=scripts.REQUEST, provider_config=scripts.scripted()
    )
    send(steps)
    change_request.refresh_from_db()
    return change_request


def test_a_builder_submits_a_request_and_answers_its_questions(
    tenant, builder, settings, django_capture_on_commit_callbacks
):
    settings.FACTORY_PIPELINE_PROVIDER = scripts.scripted()
    client = logged_in(builder)

    form = client.get("/admin/pipeline/changerequest/new/")
    assert form.status_code == 200
    assert b"Velo Rent" in form.content
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(
            "/admin/pipeline/changerequest/new/",
            {"tenant": tenant.pk, "text": scripts.REQUEST, "language": "en"},
        )
    change_request = ChangeRequest.objects.get()
    assert created.status_code == 302
    assert created["Location"] == f"/admin/pipeline/changerequest/{change_request.pk}/change/"

    page = client.get(created["Location"]).content.decode()
    assert "Which bike types do you rent?" in page
    assert "(blocking: please answer)" in page
    assert "Suggested: City and electric." in page
    assert "scripted session, written by hand — not from a model" in page

    deposit = change_request.questions.get(position=2)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            f"/admin/pipeline/changerequest/{change_request.pk}/answer/",
            {f"q{deposit.pk}_text": "Yes, 50 euros."},
        )
    change_request.refresh_from_db()
    assert change_request.state == RequestState.PREVIEW, change_request.error

    page = client.get(f"/admin/pipeline/changerequest/{change_request.pk}/change/").content.decode()
    for expected in (
        "Open the preview",
        'href="http://bikes--preview.localhost/"',
        "Deploy release 1",
        "The plan",
        "task:bikes#1",
        "entity_add",
        "Spec diff",
        "Code diff of release 1",
        "Adds entity Bike with 2 fields.",
        "City and electric. <em>(assumed: not answered)</em>",
    ):
        assert expected in page, expected
    assert 'http-equiv="refresh"' not in page


def test_the_list_refreshes_itself_while_a_request_is_at_work(tenant, builder):
    ChangeRequest.objects.create(
        tenant=tenant, builder=builder, text=scripts.REQUEST, state="building"
    )

    page = logged_in(builder).get("/admin/pipeline/changerequest/").content.decode()

    assert 'http-equiv="refresh" content="3"' in page
    assert "<progress" in page


def test_the_spec_page_starts_from_the_tenants_spec_and_builds_a_preview(
    tenant, builder, django_capture_on_commit_callbacks
):
    from factory.spec.io import spec_dump
    from factory.spec.template import template_app_spec

    client = logged_in(builder)
    page = client.get("/admin/pipeline/changerequest/spec/").content.decode()
    assert "Companies, contacts and deals" in page

    text = spec_dump(template_app_spec()).replace("name: CRM\n", "name: Velo CRM\n", 1)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/admin/pipeline/changerequest/spec/", {"tenant": tenant.pk, "spec_text": text})

    change_request = ChangeRequest.objects.get()
    assert (change_request.kind, change_request.state) == ("spec", RequestState.PREVIEW)
    assert change_request.release.spec["name"] == "Velo CRM"


def test_an_invalid_spec_is_shown_with_its_problems_and_nothing_is_built(tenant, builder):
    response = logged_in(builder).post(
        "/admin/pipeline/changerequest/spec/",
        {"tenant": tenant.pk, "spec_text": "name: X\nentities:\n  - id: Bad\n"},
    )

    assert response.status_code == 200
    assert "The spec is not valid" in response.content.decode()
    assert ChangeRequest.objects.count() == 0


def test_a_builder_of_another_tenant_can_neither_see_nor_act(
    waiting, other_builder, other_tenant, django_capture_on_commit_callbacks
):
    client = logged_in(other_builder)
    question = waiting.questions.get(position=2)
    before = ChangeRequest.objects.values().get(pk=waiting.pk)
    base = f"/admin/pipeline/changerequest/{waiting.pk}"

    listing = client.get("/admin/pipeline/changerequest/").content.decode()
    assert scripts.REQUEST[:40] not in listing
    with django_capture_on_commit_callbacks(execute=True):
        answers = [
            client.get(f"{base}/change/").status_code,
            client.get(f"{base}/status/").status_code,
            client.post(f"{base}/answer/", {f"q{question.pk}_text": "Hijack."}).status_code,
            client.post(f"{base}/deploy/").status_code,
            client.post(f"{base}/rollback/").status_code,
            client.post(f"{base}/cancel/").status_code,
            client.post(f"{base}/resume/").status_code,
        ]
    new_form = client.get("/admin/pipeline/changerequest/new/").content.decode()

    assert answers == [404] * 7
    assert "Velo Rent" not in new_form
    assert ChangeRequest.objects.values().get(pk=waiting.pk) == before
    assert Answer.objects.count() == 0


def test_a_staff_user_who_builds_for_no_tenant_has_no_console_page(db, waiting):
    from django.contrib.auth import get_user_model

    staff = get_user_model().objects.create_user("carl", password="pw-carl-123", is_staff=True)
    client = logged_in(staff)

    assert client.get("/admin/pipeline/changerequest/").status_code == 403
    assert client.get(f"/admin/pipeline/changerequest/{waiting.pk}/change/").status_code == 404
