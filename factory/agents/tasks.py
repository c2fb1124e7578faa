"""Celery tasks of the agent harness: thin, ids in, the work in services.

``agents.run_execute`` runs or resumes one agent run. It is idempotent: a finished run is
returned as it is, a run that a dead worker left mid-way resumes from its last recorded
turn. ``acks_late`` with ``reject_on_worker_lost`` puts the message back when the worker
dies, so another worker picks the run up.
"""

from __future__ import annotations

from celery import shared_task

from factory.agents.services import agent_run_execute


@shared_task(name="agents.run_execute", acks_late=True, reject_on_worker_lost=True)
def agent_run_execute_task(run_id: int) -> str:
    return agent_run_execute(run_id=run_id).status
