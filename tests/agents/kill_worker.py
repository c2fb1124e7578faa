"""A separate process running an agent run, for the kill-and-resume test.

``start``: migrate a fresh SQLite file, create a run, play two scripted turns, then kill
this very process with SIGKILL in the middle of the third model call. ``resume``: pick
the run up from the database with the rest of the script and print what happened.
"""

from __future__ import annotations

import json
import os
import signal
import sys


def main(database: str, phase: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    import django

    django.setup()
    from django.core.management import call_command

    from factory.agents.budgets import AgentBudget
    from factory.agents.models import AgentRun
    from factory.agents.services import agent_run_create, agent_run_execute
    from factory.llm.scripted import ScriptedProvider
    from factory.spec.models import AppSpec
    from tests.agents.conftest import small_spec_data
    from tests.agents.test_harness import SCRIPT

    if phase == "start":
        call_command("migrate", "agents", verbosity=0)
        run = agent_run_create(
            role="data_model",
            task="Add a website field to company.",
            spec=AppSpec.model_validate(small_spec_data()),
            prompt_context={"request": "We sell software.", "requirements": "R1. Websites."},
            budget=AgentBudget(max_cost=None),
        )

        def killed(messages, tools):
            os.kill(os.getpid(), signal.SIGKILL)

        agent_run_execute(
            run_id=run.pk, provider=ScriptedProvider([*SCRIPT[:2], killed]), prices={}
        )
        raise SystemExit("the kill did not happen")

    run = AgentRun.objects.get()
    before = {"status": run.status, "turns": run.turns_count}
    provider = ScriptedProvider(SCRIPT[2:])
    run = agent_run_execute(run_id=run.pk, provider=provider, prices={})
    print(
        json.dumps(
            {
                "before": before,
                "status": run.status,
                "turn_indexes": list(run.turns.order_by("index").values_list("index", flat=True)),
                "patch": [operation["tool"] for operation in run.patch],
                "messages_sent_on_resume": len(provider.requests[0]["messages"]),
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
