"""Creates and moves candidates of an evolving app through its stages, then reports them.

``SCRIPT LABEL ACTIONS.json``, run in the scratch process by the evolution tests: each
action is ["create", name, stage key] or ["move", name, stage key]; records are saved with
``save()`` (so automations run) and moved with the kit's ``records_move_stage``. Prints one
line ``PIPELINE-MOVES {...}``: the stages (key, name, order), each candidate's stage key
and the tasks with the candidate they belong to.
"""

from __future__ import annotations

import json
import sys

from django.apps import apps

from crm.kit.services import records_move_stage


def main(label: str, actions: list[list[str]]) -> dict:
    candidate_model = apps.get_model(label, "Candidate")
    stage_model = apps.get_model(label, "Stage")
    task_model = apps.get_model(label, "Task")
    for kind, name, stage_key in actions:
        stage = stage_model.objects.get(key=stage_key)
        if kind == "create":
            candidate_model.objects.create(full_name=name, pipeline=stage.pipeline, step=stage)
        else:
            candidate = candidate_model.objects.get(full_name=name)
            records_move_stage(records=[candidate], stage=stage)
    return {
        "stages": [
            [stage.key, stage.name, stage.order]
            for stage in stage_model.objects.order_by("pipeline", "order", "pk")
        ],
        "candidates": {
            candidate.full_name: candidate.step.key
            for candidate in candidate_model.objects.order_by("pk")
        },
        "tasks": [[task.title, str(task.target)] for task in task_model.objects.order_by("pk")],
    }


if __name__ == "__main__":
    report = main(sys.argv[1], json.loads(sys.argv[2]))
    print("PIPELINE-MOVES " + json.dumps(report))
