"""Script books for pipeline tests: what the scripted agents answer, slot by slot.

A small scenario on the template: a bike rental adds a Bike entity (data model, wave 1)
and its screens and API options (two tasks of wave 2, in parallel).
"""

from __future__ import annotations

import copy
from typing import Any

REQUEST = "We rent bikes to tourists. We need to track our bikes: code, type and daily rate."


def analyst(questions: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    return [
        {
            "value": {
                "summary": "Track rental bikes.",
                "requirements": [
                    {"id": "R1", "text": "A bike has a code, a type and a daily rate."},
                    {"id": "R2", "text": "Bikes are listed and searchable by code."},
                ],
                "questions": questions or [],
                "assumptions": ["One shop only."],
            }
        }
    ]


QUESTIONS = [
    {
        "question": "Which bike types do you rent?",
        "why": "They become a closed list.",
        "suggested_answer": "City and electric.",
        "options": ["City and electric.", "City, electric and mountain."],
    },
    {
        "question": "Do you charge a deposit?",
        "why": "A money field on rentals.",
        "suggested_answer": "No.",
        "blocking": True,
    },
]

BIKE = {
    "id": "bike",
    "name": "Bike",
    "label": "bike",
    "label_plural": "bikes",
    "display": ["code"],
    "fields": [
        {"id": "bike_code", "name": "code", "label": "Code", "type": "text", "required": True},
        {"id": "bike_daily_rate", "name": "daily_rate", "label": "Daily rate", "type": "money"},
    ],
}


def finish(summary: str) -> dict[str, Any]:
    return {"calls": [{"finish": {"summary": summary}}]}


def plan(*tasks: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"calls": [{"finish": {"tasks": list(tasks)}}]}]


def task(key: str, specialist: str, depends_on: list[str] | None = None) -> dict[str, Any]:
    return {
        "id": key,
        "specialist": specialist,
        "title": f"Task {key}",
        "instructions": f"Do {key}.",
        "requirements": ["R1"],
        "depends_on": depends_on or [],
    }


QA_PASS = [{"calls": [{"finish": {"verdict": "pass", "covered": ["R1", "R2"]}}]}]


def book(**overrides: Any) -> dict[str, Any]:
    """The whole script book; keyword arguments replace slots (``task_screens=...``)."""
    script: dict[str, Any] = {
        "analyst:1": analyst(QUESTIONS),
        "analyst:2": analyst(),
        "architect": plan(
            task("bikes", "data_model"),
            task("screens", "screens", ["bikes"]),
            task("api", "api_roles", ["bikes"]),
        ),
        "task:bikes": [
            {"calls": [{"entity_add": {"entity": copy.deepcopy(BIKE)}}]},
            finish("Added bikes."),
        ],
        "task:screens": [
            {
                "calls": [
                    {
                        "admin_options_update": {
                            "entity": "bike",
                            "list_display": ["code", "daily_rate"],
                            "search_fields": ["code"],
                        }
                    }
                ]
            },
            finish("Bike list."),
        ],
        "task:api": [
            {"calls": [{"api_options_update": {"entity": "bike", "search_fields": ["code"]}}]},
            finish("Bike API."),
        ],
        "qa:1": QA_PASS,
    }
    for key, value in overrides.items():
        script[key.replace("task_", "task:", 1).replace("qa_", "qa:", 1)] = value
    return script


def scripted(**overrides: Any) -> dict[str, Any]:
    return {"kind": "scripted", "script": book(**overrides)}
