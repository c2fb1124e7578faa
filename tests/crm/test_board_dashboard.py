"""The CRM admin's dashboard (amounts per stage, tasks due, recent activity) and the deal
board (stage totals, pipeline switcher, moving a deal, and who may move what)."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from crm import models
from crm.factories import ContactFactory, DealFactory, TaskFactory, UserFactory
from crm.kit.current_user import acting_as
from crm.kit.dashboard import stage_foreign_key
from crm.kit.models import TimelineAction
from crm.kit.roles import ROLE_MEMBER, ROLE_READ_ONLY, role_groups_install

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def roles(db):
    return role_groups_install(app_label="crm", own_records_only={ROLE_MEMBER})


def role_user(roles, role: str, username: str):
    user = UserFactory(username=username, is_staff=True)
    user.groups.add(roles[role])
    return user


@pytest.fixture
def sales():
    return models.Pipeline.objects.get(name="Sales")


def stage(pipeline, name: str) -> models.Stage:
    return pipeline.stages.get(name=name)


def board_url(pipeline) -> str:
    return reverse("crm:board_pipeline", args=[pipeline.pk])


def move_url(pipeline) -> str:
    return reverse("crm:board_move", args=[pipeline.pk])


def column_of(response, stage_name: str):
    return next(c for c in response.context["columns"] if c.stage.name == stage_name)


# --- Board --------------------------------------------------------------------------


def test_board_shows_each_stage_with_exact_totals(admin_client, sales):
    lead, proposal = stage(sales, "Lead"), stage(sales, "Proposal")
    DealFactory(pipeline=sales, stage=lead, amount=Decimal("1000.50"), currency="EUR")
    DealFactory(pipeline=sales, stage=lead, amount=Decimal("2500.00"), currency="EUR")
    DealFactory(pipeline=sales, stage=proposal, amount=Decimal("700.00"), currency="USD")
    DealFactory(pipeline=sales, stage=proposal, amount=Decimal("300.00"), currency="EUR")
    DealFactory(pipeline=sales, stage=lead, amount=Decimal("9999")).archive()

    response = admin_client.get(board_url(sales))

    assert response.status_code == 200
    names = [c.stage.name for c in response.context["columns"]]
    assert names == ["Lead", "Qualified", "Proposal", "Negotiation", "Won", "Lost"]
    lead_column, proposal_column = column_of(response, "Lead"), column_of(response, "Proposal")
    assert (lead_column.count, lead_column.totals) == (2, {"EUR": Decimal("3500.50")})
    assert proposal_column.totals == {"EUR": Decimal("300.00"), "USD": Decimal("700.00")}
    assert column_of(response, "Won").count == 0
    html = response.content.decode()
    assert "3,500.50 EUR" in html
    assert "300.00 EUR + 700.00 USD" in html


def test_board_switches_between_pipelines(admin_client, sales):
    renewals = models.Pipeline.objects.get(name="Renewals")
    DealFactory(pipeline=renewals, stage=stage(renewals, "Upcoming"), amount=Decimal("50"))

    response = admin_client.get(board_url(renewals))

    switcher = response.context["switcher"]
    assert [(item["pipeline"].name, item["current"]) for item in switcher] == [
        ("Sales", False),
        ("Renewals", True),
    ]
    assert column_of(response, "Upcoming").totals == {"EUR": Decimal("50.00")}
    assert f'href="{board_url(sales)}"' in response.content.decode()


def test_board_default_url_opens_the_default_pipeline(admin_client, sales):
    response = admin_client.get(reverse("crm:board") + "?entity=deal")

    assert response.status_code == 302
    assert response.url == board_url(sales)


def test_moving_a_deal_on_the_board_records_the_stage_change(admin_client, superuser, sales):
    deal = DealFactory(pipeline=sales, stage=stage(sales, "Lead"))
    won = stage(sales, "Won")

    response = admin_client.post(move_url(sales), {"record_id": deal.pk, "stage_id": won.pk})

    assert response.status_code == 302
    assert response.url == board_url(sales)
    deal.refresh_from_db()
    assert deal.stage == won
    change = models.StageChange.objects.filter(record_id=deal.pk).order_by("-pk").first()
    assert (change.from_stage.name, change.to_stage, change.changed_by) == ("Lead", won, superuser)
    moved = models.TimelineEntry.objects.get(record_id=deal.pk, action=TimelineAction.MOVED)
    assert (moved.old_value, moved.new_value) == ("Lead", "Won")


def test_moving_to_another_pipelines_stage_moves_the_deal_there(admin_client, sales):
    renewals = models.Pipeline.objects.get(name="Renewals")
    deal = DealFactory(pipeline=sales, stage=stage(sales, "Lead"))

    admin_client.post(
        move_url(sales), {"record_id": deal.pk, "stage_id": stage(renewals, "Renewed").pk}
    )

    deal.refresh_from_db()
    assert (deal.pipeline, deal.stage.name) == (renewals, "Renewed")


def test_a_move_without_a_valid_stage_changes_nothing(admin_client, sales):
    deal = DealFactory(pipeline=sales, stage=stage(sales, "Lead"))
    before = models.StageChange.objects.count()

    response = admin_client.post(move_url(sales), {"record_id": deal.pk, "stage_id": "nope"})

    assert response.status_code == 302
    deal.refresh_from_db()
    assert deal.stage.name == "Lead"
    assert models.StageChange.objects.count() == before


def test_board_move_needs_post(admin_client, sales):
    assert admin_client.get(move_url(sales)).status_code == 405


def test_board_move_is_csrf_protected(superuser, sales):
    client = Client(enforce_csrf_checks=True)
    client.force_login(superuser)
    deal = DealFactory(pipeline=sales, stage=stage(sales, "Lead"))

    response = client.post(
        move_url(sales), {"record_id": deal.pk, "stage_id": stage(sales, "Won").pk}
    )

    assert response.status_code == 403
    deal.refresh_from_db()
    assert deal.stage.name == "Lead"


def test_read_only_user_sees_the_board_but_cannot_move(client, roles, sales):
    reader = role_user(roles, ROLE_READ_ONLY, "reader")
    deal = DealFactory(pipeline=sales, stage=stage(sales, "Lead"))
    before = models.StageChange.objects.count()
    client.force_login(reader)

    page = client.get(board_url(sales))
    response = client.post(
        move_url(sales), {"record_id": deal.pk, "stage_id": stage(sales, "Won").pk}
    )

    assert page.status_code == 200
    assert page.context["can_move"] is False
    assert 'name="stage_id"' not in page.content.decode()
    assert response.status_code == 403
    deal.refresh_from_db()
    assert deal.stage.name == "Lead"
    assert models.StageChange.objects.count() == before


def test_member_limited_to_own_records_cannot_see_or_move_anothers_deal(client, roles, sales):
    member = role_user(roles, ROLE_MEMBER, "member")
    other = UserFactory(username="other")
    lead = stage(sales, "Lead")
    mine = DealFactory(pipeline=sales, stage=lead, owner=member, amount=Decimal("100"))
    theirs = DealFactory(pipeline=sales, stage=lead, owner=other, amount=Decimal("900"))
    client.force_login(member)

    page = client.get(board_url(sales))
    response = client.post(
        move_url(sales), {"record_id": theirs.pk, "stage_id": stage(sales, "Won").pk}
    )

    lead_column = column_of(page, "Lead")
    assert [r.pk for r in lead_column.records] == [mine.pk]
    assert lead_column.totals == {"EUR": Decimal("100.00")}
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.stage == lead


def test_member_moves_their_own_deal(client, roles, sales):
    member = role_user(roles, ROLE_MEMBER, "member")
    mine = DealFactory(pipeline=sales, stage=stage(sales, "Lead"), owner=member)
    client.force_login(member)

    client.post(move_url(sales), {"record_id": mine.pk, "stage_id": stage(sales, "Qualified").pk})

    mine.refresh_from_db()
    assert mine.stage.name == "Qualified"


# --- Dashboard ----------------------------------------------------------------------


def test_dashboard_charts_amounts_per_stage(admin_client, sales):
    DealFactory(pipeline=sales, stage=stage(sales, "Lead"), amount=Decimal("1000"))
    DealFactory(pipeline=sales, stage=stage(sales, "Won"), amount=Decimal("4000"))

    response = admin_client.get(reverse("crm:index"))

    assert response.status_code == 200
    chart = next(c for c in response.context["pipeline_charts"] if "Sales" in c["title"])
    bars = {
        bar["stage"].name: (bar["value"], bar["count"], bar["percent"]) for bar in chart["bars"]
    }
    assert bars["Lead"] == ("1,000.00 EUR", 1, 25)
    assert bars["Won"] == ("4,000.00 EUR", 1, 100)
    assert bars["Lost"] == ("0.00 EUR", 0, 0)
    assert 'style="width: 25%"' in response.content.decode()


def test_dashboard_lists_overdue_and_upcoming_open_tasks(admin_client):
    today = timezone.localdate()
    overdue = TaskFactory(title="Call back", due_date=today - datetime.timedelta(days=2))
    soon = TaskFactory(title="Send quote", due_date=today + datetime.timedelta(days=3))
    TaskFactory(title="Later", due_date=today + datetime.timedelta(days=20))
    TaskFactory(title="Finished", due_date=today - datetime.timedelta(days=1), status="done")

    response = admin_client.get(reverse("crm:index"))

    rows = [(row["task"].title, row["overdue"]) for row in response.context["tasks_due"]]
    assert rows == [(overdue.title, True), (soon.title, False)]
    assert "Overdue" in response.content.decode()


def test_dashboard_shows_recent_activity_of_visible_records(client, roles):
    member = role_user(roles, ROLE_MEMBER, "member")
    other = UserFactory(username="other")
    with acting_as(member):
        ContactFactory(last_name="Mine", first_name="", company=None)
    with acting_as(other):
        ContactFactory(last_name="Theirs", first_name="", company=None)
    client.force_login(member)

    response = client.get(reverse("crm:index"))

    assert [e.record_repr for e in response.context["recent_activity"]] == ["Mine"]
    assert "Recent activity" in response.content.decode()


def test_dashboard_query_count_does_not_grow_with_records(admin_client, sales):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            admin_client.get(reverse("crm:index"))
        return len(captured)

    for _ in range(3):
        TaskFactory(target=DealFactory(), due_date=timezone.localdate())
    queries()
    few = queries()
    for _ in range(12):
        TaskFactory(target=DealFactory(), due_date=timezone.localdate())

    assert queries() == few


def test_stage_foreign_key_is_the_field_named_by_pipeline_stage_field():
    assert stage_foreign_key(models.Deal) is models.Deal._meta.get_field("stage")
    assert stage_foreign_key(models.Deal).attname == "stage_id"


def test_stage_foreign_key_of_a_model_without_pipelines_says_what_to_set():
    message = (
        "Company does not move through pipelines; set its pipeline_stage_field to the name "
        "of its stage foreign key."
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        stage_foreign_key(models.Company)
