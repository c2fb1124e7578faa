"""Scenarios: a business's request, a simulated builder, acceptance checks and (for offline
runs) a hand-authored script of the agents' answers.

The offline demo and the eval cases are scenarios (YAML files). ``scenario_run`` plays one
through the real pipeline, exactly as a builder would: it creates the change request,
waits for the questions, answers them as the simulated builder (the first answer one of
whose ``match`` words appears in the question; a question nothing matches is left to its
suggested default), and waits for the preview. With a Celery worker (REDIS_URL) the steps
run there and this process follows the request in the database; without, they run here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from factory.pipeline.models import ChangeRequest, Question, RequestState
from factory.pipeline.services import change_request_answer, change_request_create, open_questions

WAIT_POLL_SECONDS = 0.5
SETTLED_STATES = frozenset(
    {
        RequestState.AWAITING_ANSWERS,
        RequestState.PREVIEW,
        RequestState.DEPLOYED,
        RequestState.FAILED,
        RequestState.CANCELLED,
        RequestState.ROLLED_BACK,
    }
)


class ScenarioInvalid(ValueError):
    pass


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    request: str
    path: Path
    language: str = "en"
    tenant_slug: str = ""
    tenant_name: str = ""
    answers: tuple[tuple[tuple[str, ...], str], ...] = ()
    checks: tuple[Mapping[str, Any], ...] = ()
    script: Mapping[str, Any] = field(default_factory=dict)

    def answer_for(self, question: str) -> str:
        text = question.lower()
        for words, answer in self.answers:
            if any(word.lower() in text for word in words):
                return answer
        return ""


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ScenarioInvalid(f"{path} cannot be read as YAML: {error}") from error
    if not isinstance(data, dict):
        raise ScenarioInvalid(f"{path} must hold a mapping (name, request, answers, checks).")
    base = data.pop("extends", None)
    if base:
        # A case may reuse another scenario file and override some of its keys.
        return {**_read((path.parent / base).resolve()), **data}
    return data


def scenario_load(path: Path) -> Scenario:
    path = Path(path)
    data = _read(path)
    missing = [key for key in ("name", "request") if not data.get(key)]
    if missing:
        raise ScenarioInvalid(f"{path} lacks {', '.join(missing)}.")
    answers = []
    for number, item in enumerate(data.get("answers") or [], start=1):
        if not isinstance(item, Mapping) or not item.get("match") or not item.get("answer"):
            raise ScenarioInvalid(f"Answer {number} of {path} needs 'match' (words) and 'answer'.")
        words = item["match"] if isinstance(item["match"], list) else [item["match"]]
        answers.append((tuple(str(word) for word in words), str(item["answer"])))
    tenant = data.get("tenant") or {}
    return Scenario(
        name=str(data["name"]),
        title=str(data.get("title") or data["name"]),
        request=str(data["request"]).strip(),
        path=path,
        language=str(data.get("language") or "en"),
        tenant_slug=str(tenant.get("slug", "")),
        tenant_name=str(tenant.get("name", "")),
        answers=tuple(answers),
        checks=tuple(data.get("checks") or ()),
        script=data.get("script") or {},
    )


def scenarios_in(folder: Path) -> list[Scenario]:
    folder = Path(folder)
    if not folder.is_dir():
        raise ScenarioInvalid(f"{folder} is not a folder of cases (*.yaml).")
    return [scenario_load(path) for path in sorted(folder.glob("*.yaml"))]


def builder_answers(scenario: Scenario, questions: Sequence[Question]) -> dict[int, str]:
    """The simulated builder's answers; a blocking question nothing matches gets its
    suggested default, as a builder who accepts the suggestion would answer."""
    answers = {}
    for question in questions:
        answer = scenario.answer_for(question.text)
        if not answer and question.blocking:
            answer = question.default
        answers[question.pk] = answer
    return answers


def change_request_wait(
    change_request: ChangeRequest, *, timeout: float, states: frozenset[str] = SETTLED_STATES
) -> ChangeRequest:
    """Follow the request in the database until it reaches one of ``states``."""
    deadline = time.monotonic() + timeout
    while True:
        change_request.refresh_from_db()
        settled = change_request.state in states and not (
            change_request.state == RequestState.PREVIEW and change_request.step
        )
        if settled or time.monotonic() > deadline:
            return change_request
        time.sleep(WAIT_POLL_SECONDS)


def scenario_run(
    *,
    scenario: Scenario,
    tenant: Any,
    builder: Any,
    provider_config: Mapping[str, Any],
    send: Callable[[Sequence[Any]], None],
    on_questions: Callable[[list[Question], dict[int, str]], None] | None = None,
    timeout: float = 1800,
) -> ChangeRequest:
    """Play the scenario up to the preview (or the failure); returns the request."""
    change_request, steps = change_request_create(
        tenant=tenant,
        builder=builder,
        text=scenario.request,
        language=scenario.language,
        provider_config=provider_config,
    )
    send(steps)
    while True:
        change_request = change_request_wait(change_request, timeout=timeout)
        if change_request.state != RequestState.AWAITING_ANSWERS:
            return change_request
        questions = open_questions(change_request)
        answers = builder_answers(scenario, questions)
        if on_questions is not None:
            on_questions(questions, answers)
        send(change_request_answer(change_request=change_request, answers=answers, actor=builder))
