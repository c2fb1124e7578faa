"""``factory demo``: the recruitment agency CRM of DESIGN.md, built end to end.

By default the agents' answers come from a REPLAY of a hand-authored, scripted session
(``factory/pipeline/demo/recruitment.jsonl``): no model is called, and the output says so.
``--live`` sends the same request to the configured model provider instead. Either way the
real pipeline runs: questions answered by the simulated builder, plan, specialists,
merge, checks, preview, deploy; then sample data, and the URLs and credentials to try it.
A second run reuses the demo tenant when it is already built (``--fresh`` rebuilds it).
The command only orchestrates: the work happens in ``factory.pipeline`` services.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any, TextIO

EXIT_OK, EXIT_FAILED, EXIT_REFUSED = 0, 1, 2
REPLAY_NOTICE = (
    "REPLAY — no model is called. The agents' answers are replayed from a hand-authored, "
    "scripted session recorded at the provider interface ({path}); they were written by "
    "hand, not produced by a model. Run `factory demo --live` to send the same request to "
    "your configured model."
)


def register(subparsers: Any) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="Build the recruitment agency CRM end to end (a replay, offline, by default).",
    )
    mode = demo.add_mutually_exclusive_group()
    mode.add_argument(
        "--live", action="store_true", help="Use the configured model provider (FACTORY_LLM_*)."
    )
    mode.add_argument(
        "--rerecord",
        action="store_true",
        help="Maintainers: record recruitment.jsonl again from the scenario's hand-authored "
        "script (after a prompt, tool or template change).",
    )
    demo.add_argument(
        "--fresh", action="store_true", help="Rebuild the demo tenant even if it is built."
    )
    demo.add_argument("--port", type=int, default=8000, help="Port shown in the URLs.")
    demo.add_argument(
        "--timeout", type=float, default=1800, help="Seconds to wait for each stage (worker)."
    )
    demo.set_defaults(handler=demo_command)


def _say(stdout: TextIO, text: str = "") -> None:
    stdout.write(text)


def _provider_config(options: dict, stdout: TextIO, record_to: Path | None) -> dict[str, Any]:
    from factory.pipeline.demo import RECORDING_PATH
    from factory.pipeline.scenarios import scenario_load

    if options["live"]:
        from factory.llm.config import ProviderSettings, provider_for_role

        provider_for_role("analyst", config=ProviderSettings.from_django())
        _say(stdout, "LIVE — the agents' answers come from your configured model provider.")
        return {}
    if options["rerecord"]:
        from factory.pipeline.demo import SCENARIO_PATH

        scenario = scenario_load(SCENARIO_PATH)
        _say(
            stdout,
            "RE-RECORDING — playing the hand-authored script of the scenario and recording it "
            f"to {RECORDING_PATH.name}. No model is called.",
        )
        return {
            "kind": "scripted",
            "script": dict(scenario.script),
            "record": str(record_to),
            "count_tokens": True,
        }
    _say(stdout, REPLAY_NOTICE.format(path=_shown(RECORDING_PATH)))
    return {"kind": "replay", "path": str(RECORDING_PATH)}


def _shown(path: Path) -> str:
    from django.conf import settings

    try:
        return str(path.relative_to(Path(settings.BASE_DIR)))
    except ValueError:
        return str(path)


def _urls(port: int, slug: str) -> tuple[str, str]:
    from django.conf import settings

    from factory.tenants.naming import tenant_host_name

    domain = settings.FACTORY_BASE_DOMAIN
    suffix = "" if port == 80 else f":{port}"
    return (
        f"http://{domain}{suffix}/admin/",
        f"http://{tenant_host_name(slug, base_domain=domain)}{suffix}/",
    )


def _print_ready(stdout: TextIO, *, tenant: Any, builder: Any, port: int, api_key: str) -> None:
    from factory.pipeline.demo.services import DEMO_BUILDER_PASSWORD, demo_console_token

    console, crm = _urls(port, tenant.slug)
    _say(stdout)
    _say(stdout, f"{tenant.name} is live. Start the server (`python manage.py runserver {port}`,")
    _say(stdout, "or `./dev.sh demo`, which runs this command first) and open:")
    _say(stdout, f"  Builders' console: {console}")
    _say(stdout, f"  The tenant's CRM:  {crm}")
    _say(stdout, f"  Its API docs:      {crm}api/docs/")
    _say(stdout, f"  Log in on both as: {builder.username} / {DEMO_BUILDER_PASSWORD}")
    _say(stdout, f"  Factory API token: {demo_console_token(builder=builder)}")
    if api_key:
        _say(stdout, f"  Tenant API key:    {api_key}  (header: Authorization: Api-Key …)")


def _print_questions(stdout: TextIO) -> Any:
    def show(questions: list, answers: dict[int, str]) -> None:
        _say(
            stdout, f"The analyst asks {len(questions)} question(s); the simulated builder answers:"
        )
        for number, question in enumerate(questions, start=1):
            blocking = " [blocking]" if question.blocking else ""
            _say(stdout, f"  Q{number}{blocking}. {question.text}")
            answer = answers.get(question.pk) or ""
            shown = answer or f"(no answer: the default is taken — {question.default})"
            _say(stdout, f"      → {shown}")

    return show


def demo_command(options: dict, stdout: TextIO, stderr: TextIO) -> int:
    from django.core.management import call_command

    from factory.llm.errors import ProviderConfigurationError
    from factory.pipeline.demo import RECORDING_PATH, SCENARIO_PATH
    from factory.pipeline.demo.services import (
        demo_api_key,
        demo_builder_ensure,
        demo_request_deployed,
        demo_sample_data,
        demo_tenant_create,
        scratch_tenant_remove,
    )
    from factory.pipeline.scenarios import scenario_load

    logging.getLogger("celery").setLevel(logging.WARNING)
    call_command("migrate", interactive=False, verbosity=0)
    scenario = scenario_load(SCENARIO_PATH)
    scratch = Path(tempfile.mkdtemp(prefix="factory-demo-"))
    record_to = scratch / "recording.jsonl"
    try:
        try:
            config = _provider_config(options, stdout, record_to)
        except ProviderConfigurationError as error:
            stderr.write(
                f"No model provider is configured for `factory demo --live`: {error}\n"
                "Without --live the demo replays its recorded session and needs no provider."
            )
            return EXIT_REFUSED
        builder = demo_builder_ensure()
        slug = scenario.tenant_slug
        reuse = not (options["fresh"] or options["live"] or options["rerecord"])
        if reuse and demo_request_deployed(slug=slug, request_text=scenario.request):
            from factory.tenants.selectors import tenant_get

            tenant = tenant_get(slug=slug)
            assert tenant is not None, "a deployed demo request has its tenant"
            _say(stdout, f"The demo tenant {slug} is already built; reusing it (--fresh rebuilds).")
            api_key = demo_api_key(tenant=tenant, builder=builder)
            _print_ready(
                stdout, tenant=tenant, builder=builder, port=options["port"], api_key=api_key
            )
            return EXIT_OK
        if scratch_tenant_remove(slug=slug):
            _say(stdout, f"Removed the previous demo tenant {slug} (its tables and releases).")
        tenant = demo_tenant_create(slug=slug, name=scenario.tenant_name, builder=builder)
        code = _build_and_deploy(options, stdout, stderr, scenario, tenant, builder, config)
        if code != EXIT_OK:
            return code
        if options["rerecord"]:
            shutil.copyfile(record_to, RECORDING_PATH)
            _say(stdout, f"Recorded {RECORDING_PATH}.")
        rows, kind = demo_sample_data(tenant=tenant)
        _say(stdout, f"Sample data: {rows} {kind} added.")
        api_key = demo_api_key(tenant=tenant, builder=builder)
        _print_ready(stdout, tenant=tenant, builder=builder, port=options["port"], api_key=api_key)
        return EXIT_OK
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _build_and_deploy(
    options: dict,
    stdout: TextIO,
    stderr: TextIO,
    scenario: Any,
    tenant: Any,
    builder: Any,
    config: dict[str, Any],
) -> int:
    from django.conf import settings

    from factory.agents.budgets import runs_cost_shown
    from factory.pipeline.models import RequestState
    from factory.pipeline.scenarios import change_request_wait, scenario_run
    from factory.pipeline.selectors import change_request_runs
    from factory.pipeline.services import change_request_deploy_request, request_usage
    from factory.pipeline.tasks import steps_send

    if not settings.CELERY_TASK_ALWAYS_EAGER:
        _say(
            stdout,
            "REDIS_URL is set: the steps run on a Celery worker (`celery -A config worker`).",
        )
    _say(stdout, f"Tenant {tenant.slug} ({tenant.name}) created. The builder's request:")
    for line in scenario.request.splitlines():
        _say(stdout, f"  | {line}")
    try:
        change_request = scenario_run(
            scenario=scenario,
            tenant=tenant,
            builder=builder,
            provider_config=config,
            send=steps_send,
            on_questions=_print_questions(stdout),
            timeout=options["timeout"],
        )
    except Exception as error:  # a step that raised in-process has failed the request
        change_request = tenant.change_requests.order_by("-id").first()
        stderr.write(f"The request failed: {getattr(change_request, 'error', '') or error}")
        return EXIT_FAILED
    if change_request.state != RequestState.PREVIEW:
        stderr.write(
            f"The request ended {change_request.get_state_display().lower()}: "
            f"{change_request.error or 'it did not reach the preview in time.'}"
        )
        return EXIT_FAILED
    usage = request_usage(change_request)
    cost = runs_cost_shown(change_request_runs(change_request=change_request))
    tasks = list(change_request.tasks.order_by("position"))
    _say(
        stdout,
        f"Plan: {len(tasks)} tasks in {change_request.wave} waves "
        f"({', '.join(f'{task.key} (wave {task.wave})' for task in tasks)}); "
        f"{usage['runs']} agent runs, {usage['turns']} turns, {usage['input_tokens']:,} input "
        f"and {usage['output_tokens']:,} output tokens, {cost}"
        + (
            " (tokens counted offline when the session was recorded)."
            if config.get("kind")
            else "."
        ),
    )
    _say(stdout, change_request.summary)
    steps_send(change_request_deploy_request(change_request=change_request, actor=builder))
    change_request = change_request_wait(
        change_request,
        timeout=options["timeout"],
        states=frozenset({RequestState.DEPLOYED, RequestState.FAILED}),
    )
    if change_request.state != RequestState.DEPLOYED:
        stderr.write(f"The deploy did not complete: {change_request.error or 'timed out.'}")
        return EXIT_FAILED
    assert change_request.release is not None, "a deployed request has its release"
    _say(stdout, f"Release {change_request.release.number} deployed.")
    return EXIT_OK
