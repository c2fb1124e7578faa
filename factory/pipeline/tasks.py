"""Celery tasks of the pipeline: thin, ids in, the work in ``factory.pipeline.services``.

Each task runs one step of one change request and sends the steps the service returns,
once the transaction commits (``steps_send``). Every task is idempotent (the service
checks the request's state first), acknowledged late and put back when its worker is lost,
so a step that a crashed worker left half-done runs again and continues from what was
recorded. Passing failures (the model provider, the database connection) are retried a
few times with backoff; when a step still fails, the request ends failed with the error.
The specialists of one wave go out as one Celery group and run in parallel.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from celery import Task, group, shared_task
from django.db import InterfaceError, OperationalError, transaction

from factory.pipeline import services
from factory.pipeline.services import Step, StepRetry


class StepFailed(Exception):
    """A step that failed for good; the request already says why."""


class PipelineTask(Task):
    acks_late = True
    reject_on_worker_lost = True
    autoretry_for = (StepRetry, OperationalError, InterfaceError)
    retry_backoff = 5
    retry_backoff_max = 120
    retry_jitter = True
    max_retries = 3

    def on_failure(self, exc: Any, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        change_request_id = kwargs.get("change_request_id", args[0] if args else None)
        if change_request_id is not None:
            services.change_request_step_failed(change_request_id=change_request_id, error=exc)


def steps_send(steps: Iterable[Step]) -> None:
    """Send each step once the current transaction (if any) commits."""
    for step in steps:
        transaction.on_commit(partial(_send, step))


def _send(step: Step) -> None:
    if step.name == "specialists":
        group(
            plan_task_work_task.si(change_request_id=step.change_request_id, task_id=task_id)
            for task_id in step.task_ids
        ).apply_async()
        return
    task, kwargs = {
        "analyse": (analyse_task, {"round_number": step.number}),
        "plan": (plan_task, {}),
        "dispatch": (dispatch_task, {}),
        "merge": (merge_task, {"wave": step.number}),
        "qa": (qa_task, {"round_number": step.number}),
        "release": (release_task, {}),
        "deploy": (deploy_task, {}),
        "rollback": (rollback_task, {}),
    }[step.name]
    task.apply_async(kwargs={"change_request_id": step.change_request_id, **kwargs})


def _step(task: Task, change_request_id: int, work: Callable[[], list[Step]]) -> None:
    """Run one step and send what follows. A step that fails for good (not retried, or out
    of retries) ends the request as failed with the error; ``on_failure`` would not be
    called when tasks run in-process with errors propagated."""
    try:
        steps = work()
    except task.autoretry_for as error:  # type: ignore[attr-defined]  # not in celery-types
        # In-process (eager) Celery does not run retries later: the step has failed for good.
        if task.request.is_eager or (
            task.max_retries is not None and task.request.retries >= task.max_retries
        ):
            services.change_request_step_failed(change_request_id=change_request_id, error=error)
            raise StepFailed(str(error)) from error
        raise
    except Exception as error:
        services.change_request_step_failed(change_request_id=change_request_id, error=error)
        raise
    steps_send(steps)


@shared_task(bind=True, base=PipelineTask, name="pipeline.analyse")
def analyse_task(self: Task, *, change_request_id: int, round_number: int) -> None:
    _step(
        self,
        change_request_id,
        lambda: services.change_request_analyse(
            change_request_id=change_request_id, round_number=round_number
        ),
    )


@shared_task(bind=True, base=PipelineTask, name="pipeline.plan")
def plan_task(self: Task, *, change_request_id: int) -> None:
    _step(
        self,
        change_request_id,
        lambda: services.change_request_plan(change_request_id=change_request_id),
    )


@shared_task(bind=True, base=PipelineTask, name="pipeline.dispatch")
def dispatch_task(self: Task, *, change_request_id: int) -> None:
    _step(
        self,
        change_request_id,
        lambda: services.change_request_dispatch(change_request_id=change_request_id),
    )


@shared_task(bind=True, base=PipelineTask, name="pipeline.task_work")
def plan_task_work_task(self: Task, *, change_request_id: int, task_id: int) -> None:
    _step(
        self,
        change_request_id,
        lambda: services.plan_task_work(change_request_id=change_request_id, task_id=task_id),
    )


@shared_task(bind=True, base=PipelineTask, name="pipeline.merge")
def merge_task(self: Task, *, change_request_id: int, wave: int) -> None:
    _step(
        self,
        change_request_id,
        lambda: services.change_request_merge(change_request_id=change_request_id, wave=wave),
    )


@shared_task(bind=True, base=PipelineTask, name="pipeline.qa")
def qa_task(self: Task, *, change_request_id: int, round_number: int) -> None:
    _step(
        self,
        change_request_id,
        lambda: services.change_request_qa(
            change_request_id=change_request_id, round_number=round_number
        ),
    )


@shared_task(bind=True, base=PipelineTask, name="pipeline.release")
def release_task(self: Task, *, change_request_id: int) -> None:
    _step(
        self,
        change_request_id,
        lambda: services.change_request_release(change_request_id=change_request_id),
    )


@shared_task(bind=True, base=PipelineTask, name="pipeline.deploy")
def deploy_task(self: Task, *, change_request_id: int) -> None:
    _step(
        self,
        change_request_id,
        lambda: services.change_request_deploy(change_request_id=change_request_id),
    )


@shared_task(bind=True, base=PipelineTask, name="pipeline.rollback")
def rollback_task(self: Task, *, change_request_id: int) -> None:
    _step(
        self,
        change_request_id,
        lambda: services.change_request_rollback(change_request_id=change_request_id),
    )
