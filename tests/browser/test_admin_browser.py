"""The CRM admin in a real browser: log in, open the dashboard and the deal board, move a
deal with the board's form, and keep screenshots under var/screenshots/ to look at.

Drives the system's Chromium through Playwright against pytest-django's live server.
"""

from __future__ import annotations

import datetime
import os
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connections

from crm import defaults, models
from crm.factories import CompanyFactory, DealFactory, TaskFactory
from crm.kit.current_user import acting_as
from crm.kit.services import choice_lists_install, pipelines_install
from tests.conftest import skip_or_fail

# Playwright's sync API runs an event loop in this thread; Django refuses ORM calls from a
# thread with a running loop unless told it is safe, which it is here (one test thread).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser_page():
    if not shutil.which(CHROMIUM):
        skip_or_fail(f"Chromium is not installed at {CHROMIUM}.")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("The playwright package is not installed.")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(15_000)
        try:
            yield page
        finally:
            browser.close()
            # The test's ORM calls, made beside Playwright's event loop, leave a second
            # database connection open; on PostgreSQL it kept the test database from being
            # dropped at the end of the run ("accessed by other users"). Close it here.
            connections.close_all()


@pytest.fixture
def crm_data():
    # The transactional test flushes the data migration's rows: install them again.
    choice_lists_install(app_label="crm", choice_lists=defaults.CHOICE_LISTS)
    pipelines_install(app_label="crm", pipelines=defaults.PIPELINES)
    user = get_user_model().objects.create_superuser("boss", "boss@example.com", "secret-pass")
    sales = models.Pipeline.objects.get(name="Sales")
    stages = {stage.name: stage for stage in sales.stages.all()}
    with acting_as(user):
        acme = CompanyFactory(name="Acme")
        deal = DealFactory(
            name="Acme renewal",
            company=acme,
            pipeline=sales,
            stage=stages["Lead"],
            amount=Decimal("12000"),
            currency="EUR",
        )
        DealFactory(
            name="Globex pilot",
            pipeline=sales,
            stage=stages["Proposal"],
            amount=Decimal("4500"),
            currency="EUR",
        )
        DealFactory(
            name="Initech upsell",
            pipeline=sales,
            stage=stages["Negotiation"],
            amount=Decimal("8000"),
            currency="EUR",
        )
        TaskFactory(title="Call Acme back", target=deal, due_date=datetime.date.today())
    return {"user": user, "sales": sales, "deal": deal, "stages": stages}


def test_log_in_open_dashboard_and_board_and_move_a_deal(live_server, browser_page, crm_data):
    page = browser_page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    deal, won = crm_data["deal"], crm_data["stages"]["Won"]

    page.goto(f"{live_server.url}/crm/login/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", "secret-pass")
    page.click("input[type=submit]")
    page.wait_for_selector("#recent-activity")
    sales_chart = page.locator('[aria-label="Deals: Sales (EUR) per stage"] .crm-bar-row')
    assert sales_chart.locator("> span:first-child").all_inner_texts() == [
        "Lead (1)",
        "Qualified (0)",
        "Proposal (1)",
        "Negotiation (1)",
        "Won (0)",
        "Lost (0)",
    ]
    page.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=True)

    page.click("text=Deal board")
    page.wait_for_selector(".crm-board")
    lead_total = page.locator('section[aria-label="Lead"] [data-testid="stage-total"]')
    assert lead_total.inner_text() == "12,000.00 EUR"
    page.screenshot(path=str(SCREENSHOTS / "board-before.png"), full_page=True)

    card = page.locator(f'article[data-record="{deal.pk}"]')
    card.locator("select").select_option(str(won.pk))
    card.locator("input[type=submit]").click()
    page.wait_for_selector(".messagelist .success")
    page.screenshot(path=str(SCREENSHOTS / "board-after.png"), full_page=True)

    deal.refresh_from_db()
    assert deal.stage == won
    assert models.StageChange.objects.filter(record_id=deal.pk, to_stage=won).count() == 1
    won_total = page.locator('section[aria-label="Won"] [data-testid="stage-total"]')
    assert won_total.inner_text() == "12,000.00 EUR"
