"""The builders' console in a real browser: submit a request, answer the questions, open
the preview, deploy; screenshots under var/screenshots/.

Runs against a real gunicorn on a stack of its own (``tests.pipeline.stack``) without a
broker, so the pipeline runs in the web process as in the embedded default setup; the
agents' answers are the demo scenario's hand-authored script (FACTORY_PIPELINE_PROVIDER),
so no model is involved. The preview and the deployed tenant are served by the same
gunicorn, reloaded by the pipeline.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from factory.pipeline.demo import SCENARIO_PATH
from factory.pipeline.scenarios import scenario_load
from tests.conftest import skip_or_fail
from tests.pipeline.stack import PipelineStack
from tests.tenants.conftest import uses_postgres

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
SCREENSHOTS = Path(__file__).resolve().parent.parent.parent / "var" / "screenshots"
BUILD_TIMEOUT_MS = 120_000

# The analyst's first questions in the scenario's script, in order, and what the console
# records for each once sent: the builder's answer, or the suggested default where the
# scenario's builder has no answer (the role question).
QUESTIONS = [
    "Which statuses does a client company go through, and which dates matter?",
    "What do you record about each candidate?",
    "What do you track about a hiring campaign?",
    "What defines a role you recruit for?",
    "When do you bill a placement?",
]
ANSWERS = [
    (QUESTIONS[0], "Prospect or active; we record the contract start date once active.", "builder"),
    (
        QUESTIONS[1],
        "Title, years of experience, expertise, availability date and salary expectation.",
        "builder",
    ),
    (
        QUESTIONS[2],
        "Start and end dates, status open / on hold / closed, and the fee terms.",
        "builder",
    ),
    (QUESTIONS[3], "Profile, seniority, contract type, location and salary range.", "default"),
    (QUESTIONS[4], "When the trial period is over and the candidate is hired.", "builder"),
]
# The builder reads this before deploying (factory.pipeline.summary): the scripted agents
# make the same first release every time.
SUMMARY = """\
Release 1 of Talent Bridge Recruiting is ready in preview.
What changes (18 changes):
- [safe] Adds optional field client_status (choice) to Company.
- [safe] Adds optional field contract_start (date) to Company.
- [safe] Adds entity Candidate with 9 fields.
- [safe] Adds entity Campaign with 6 fields.
- [safe] Adds entity JobRole with 8 fields.
- [safe] Adds entity Application with 4 fields.
- [safe] Adds choice list client_status with 2 options.
- [safe] Adds choice list campaign_status with 3 options.
- [safe] Adds choice list role_profile with 7 options.
- [safe] Adds choice list seniority with 4 options.
- [safe] Adds choice list contract_type with 3 options.
- [safe] Adds choice list expertise with 6 options.
- [safe] Adds pipeline 'Application steps' to Application with 11 stages.
- [safe] Adds automation 'Set the billing date when hired'.
- [safe] Changes role 'Admin'.
- [safe] Changes role 'Manager'.
- [safe] Changes role 'Member'.
- [safe] Changes role 'Read-only'.
Data touched: none yet. This is the tenant's first release, so every table starts empty (the \
preview has sample rows).
Assumptions (questions nobody answered, or details the request left open):
- Candidates are people apart from the client companies' contacts.
- Both recruiters see and edit every candidate.
- What defines a role you recruit for? → Profile, seniority, contract type, location and salary \
range.
- Architect's note: Candidates are separate from client contacts; automations, screens and API \
run in parallel once the pipeline exists."""

pytestmark = pytest.mark.browser


@pytest.fixture
def console_stack() -> Iterator[PipelineStack]:
    with ExitStack() as cleanup:
        root = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="console-stack-")))
        if uses_postgres():
            from factory.sandbox import SandboxError, scratch_postgres_database

            try:
                url = cleanup.enter_context(
                    scratch_postgres_database(
                        server_url=os.environ["DATABASE_URL"], prefix="console_stack"
                    )
                )
            except SandboxError as error:
                skip_or_fail(f"PostgreSQL is not reachable for the console stack: {error}")
        else:
            url = f"sqlite:///{root / 'db.sqlite3'}"
        stack = PipelineStack(root, url, redis_url="")
        stack.env["DEBUG"] = "true"  # static files served from the apps, for the screenshots
        stack.env["FACTORY_PIPELINE_PROVIDER"] = json.dumps(
            {"kind": "scripted", "path": str(SCENARIO_PATH)}
        )
        cleanup.callback(stack.close)
        migrated = stack.manage("migrate", "--noinput", "-v", "0")
        assert migrated.code == 0, migrated.stderr
        yield stack


@pytest.fixture
def page():
    if not shutil.which(CHROMIUM):
        skip_or_fail(f"Chromium is not installed at {CHROMIUM}.")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("The playwright package is not installed.")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(20_000)
        try:
            yield page
        finally:
            browser.close()


def log_in(page, address: str) -> None:
    page.goto(address)
    page.fill("input[name=username]", "ada")
    page.fill("input[name=password]", "pw-ada-123")
    page.click("input[type=submit]")


def test_a_builder_walks_a_request_from_words_to_a_deployed_crm(console_stack, page):
    stack = console_stack
    scenario = scenario_load(SCENARIO_PATH)
    stack.command("setup", scenario.tenant_slug, scenario.tenant_name)
    stack.serve()
    console = f"http://localhost:{stack.port}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    log_in(page, f"{console}/admin/login/?next=/admin/pipeline/changerequest/new/")
    page.fill("textarea[name=text]", scenario.request)
    page.click("input[name=submit]")

    # The analyst's questions, as a form.
    page.wait_for_selector("#answers-form")
    questions = page.locator(".cr-question")
    asked = [
        questions.nth(n).locator("strong").first.inner_text() for n in range(questions.count())
    ]
    assert asked == [f"{number}. {text}" for number, text in enumerate(QUESTIONS, start=1)]
    for number, text in enumerate(QUESTIONS):
        # The scenario's builder leaves the role question empty: it takes its default.
        questions.nth(number).locator("input[type=text]").fill(scenario.answer_for(text))
    page.screenshot(path=str(SCREENSHOTS / "console-questions.png"), full_page=True)
    page.click("#send-answers", timeout=BUILD_TIMEOUT_MS)

    # Plan, specialists, merge, QA and the release: the preview is ready.
    page.wait_for_selector("#cr-deploy", timeout=BUILD_TIMEOUT_MS)
    assert page.inner_text("#cr-state") == "In preview"
    assert stack.sql(
        "SELECT q.text, a.text, a.source FROM pipeline_answer a "
        "JOIN pipeline_question q ON q.id = a.question_id ORDER BY q.round, q.position"
    ) == list(ANSWERS)
    assert page.inner_text("#cr-summary") == f"What changes\n{SUMMARY}"
    assert page.locator("#cr-plan tr").count() == 6  # header and five tasks
    page.screenshot(path=str(SCREENSHOTS / "console-preview.png"), full_page=True)

    # The preview: its own host, its own login, sample data.
    with page.context.expect_page() as opened:
        page.click("#cr-site-link")
    preview = opened.value
    preview.wait_for_load_state()
    assert preview.url.startswith(f"http://{scenario.tenant_slug}--preview.localhost:{stack.port}/")
    log_in(preview, preview.url)
    preview.wait_for_selector("text=Applications")
    preview.screenshot(path=str(SCREENSHOTS / "console-preview-site.png"), full_page=True)
    preview.close()

    page.click("#cr-deploy", timeout=BUILD_TIMEOUT_MS)
    page.wait_for_selector("#cr-state[data-state=deployed]", timeout=BUILD_TIMEOUT_MS)
    assert page.inner_text("#cr-state") == "Deployed"
    assert page.locator("#cr-rollback").count() == 0  # a first release has nothing to go back to
    assert stack.releases(scenario.tenant_slug) == {1: "live"}
    page.screenshot(path=str(SCREENSHOTS / "console-deployed.png"), full_page=True)

    live = page.context.new_page()
    log_in(live, f"http://{scenario.tenant_slug}.localhost:{stack.port}/login/")
    live.wait_for_selector("text=Candidates")
    live.screenshot(path=str(SCREENSHOTS / "console-live-site.png"), full_page=True)
