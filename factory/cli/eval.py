"""``factory eval --cases DIR --tries K``: run eval cases through the real pipeline.

Prints, per case, pass@1, pass^k, tokens, time and cost, and the checks that failed.
Offline (the default) each case plays its hand-authored script: the figures check the
harness, not a model, and the output says so (the cost reads "scripted — no model
called"). ``--live`` uses the configured provider; a model with no price has its cost
unknown, never $0 (in JSON: ``cost_usd`` null and ``cost_note`` saying why).
Exit code 0 when every case passed every try, 1 otherwise, 2 when refused.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, TextIO

EXIT_OK, EXIT_FAILED, EXIT_REFUSED = 0, 1, 2
EVAL_BUILDER = "eval-builder"


def register(subparsers: Any) -> None:
    evaluate = subparsers.add_parser(
        "eval", help="Run eval cases (scenarios) and report pass@1, pass^k, tokens, cost, time."
    )
    evaluate.add_argument("--cases", type=Path, default=Path("evals"), help="Folder of *.yaml.")
    evaluate.add_argument("--tries", type=int, default=1, help="Tries per case (k).")
    evaluate.add_argument(
        "--case", action="append", default=[], help="Only this case (by name; repeatable)."
    )
    evaluate.add_argument(
        "--live", action="store_true", help="Use the configured model provider (FACTORY_LLM_*)."
    )
    evaluate.add_argument("--json", action="store_true", help="Print the results as JSON.")
    evaluate.add_argument(
        "--timeout", type=float, default=1800, help="Seconds to wait for a stage (worker)."
    )
    evaluate.set_defaults(handler=eval_command)


def _builder() -> Any:
    from django.contrib.auth import get_user_model

    user, _created = get_user_model().objects.get_or_create(
        username=EVAL_BUILDER, defaults={"is_active": True}
    )
    return user


def _as_data(outcome: Any, tries: int) -> dict[str, Any]:
    totals = outcome.totals()
    return {
        "case": outcome.scenario.name,
        "title": outcome.scenario.title,
        "skipped": outcome.skipped,
        "tries": len(outcome.tries),
        "passes": outcome.passes,
        "pass@1": round(outcome.pass_at_1, 3),
        f"pass^{tries}": round(outcome.pass_hat(tries), 3),
        "input_tokens": totals["input_tokens"],
        "output_tokens": totals["output_tokens"],
        "cost_usd": None if totals["cost"].amount is None else str(totals["cost"].amount),
        "cost_note": totals["cost"].note,
        "cost_text": str(totals["cost"]),
        "seconds": round(totals["seconds"], 1),
        "failures": [item.failures for item in outcome.tries if not item.passed],
    }


def eval_command(options: dict, stdout: TextIO, stderr: TextIO) -> int:
    from factory.llm.errors import ProviderConfigurationError
    from factory.pipeline.evaluation import eval_case
    from factory.pipeline.scenarios import ScenarioInvalid, scenarios_in
    from factory.pipeline.tasks import steps_send

    logging.getLogger("celery").setLevel(logging.WARNING)
    tries = options["tries"]
    if tries < 1:
        stderr.write("--tries must be 1 or more.")
        return EXIT_REFUSED
    try:
        cases = scenarios_in(options["cases"])
    except ScenarioInvalid as error:
        stderr.write(str(error))
        return EXIT_REFUSED
    if options["case"]:
        cases = [case for case in cases if case.name in set(options["case"])]
    if not cases:
        stderr.write(f"No case to run in {options['cases']}.")
        return EXIT_REFUSED
    if options["live"]:
        from factory.llm.config import ProviderSettings, provider_for_role

        try:
            provider_for_role("analyst", config=ProviderSettings.from_django())
        except ProviderConfigurationError as error:
            stderr.write(f"No model provider is configured for `factory eval --live`: {error}")
            return EXIT_REFUSED
        notice = "LIVE: the configured model answers; the figures measure the model."
    else:
        notice = (
            "OFFLINE: each case plays its hand-authored script (scripted provider, no model): "
            "the figures check the harness, the pipeline and the compiler, not a model."
        )
    if not options["json"]:
        stdout.write(notice)
    builder = _builder()
    results = []
    for scenario in cases:
        if not options["json"]:
            stdout.write(f"- {scenario.name}: {scenario.title} ({tries} tries)…")
        outcome = eval_case(
            scenario=scenario,
            tries=tries,
            builder=builder,
            live=options["live"],
            send=steps_send,
            timeout=options["timeout"],
        )
        results.append(_as_data(outcome, tries))
    if options["json"]:
        stdout.write(
            json.dumps(
                {"mode": "live" if options["live"] else "offline", "cases": results}, indent=2
            )
        )
    else:
        _print_table(stdout, results, tries)
    failed = any(item["passes"] < item["tries"] or item["skipped"] for item in results)
    return EXIT_FAILED if failed else EXIT_OK


def _print_table(stdout: TextIO, results: list[dict[str, Any]], tries: int) -> None:
    header = (
        f"{'case':<18} {'tries':>5} {'pass@1':>7} {'pass^' + str(tries):>7} "
        f"{'in tok':>9} {'out tok':>8} {'time s':>7}  cost"
    )
    stdout.write("")
    stdout.write(header)
    stdout.write("-" * len(header))
    for item in results:
        if item["skipped"]:
            stdout.write(f"{item['case']:<18} skipped: {item['skipped']}")
            continue
        stdout.write(
            f"{item['case']:<18} {item['tries']:>5} {item['pass@1']:>7.2f} "
            f"{item[f'pass^{tries}']:>7.2f} {item['input_tokens']:>9,} {item['output_tokens']:>8,} "
            f"{item['seconds']:>7.1f}  {item['cost_text']}"
        )
    for item in results:
        for number, failures in enumerate(item["failures"], start=1):
            stdout.write(f"{item['case']} failed try {number}:")
            for failure in failures:
                stdout.write(f"  - {failure}")
