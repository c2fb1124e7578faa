"""Render the system prompts kept in ``prompts/`` (one Markdown file per role).

A prompt names its context with ``{{ placeholder }}``; rendering fills every one and
fails on a missing value rather than sending a model a hole. The version recorded on each
run is a hash of the file, so a run can always be traced to the exact prompt text it had.
Prompts are data, not code: nothing in them is evaluated.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from factory.agents.outputs import AnalystReport

PROMPTS_DIR = Path(__file__).resolve().parent.parent.parent / "prompts"
_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}")


class PromptError(ValueError):
    pass


@dataclass(frozen=True)
class RenderedPrompt:
    name: str
    version: str
    text: str


def prompt_placeholders(name: str) -> set[str]:
    return set(_PLACEHOLDER.findall(_source(name)))


def prompt_render(name: str, context: Mapping[str, str]) -> RenderedPrompt:
    source = _source(name)
    missing = sorted(set(_PLACEHOLDER.findall(source)) - set(context))
    if missing:
        raise PromptError(
            f"The {name} prompt needs {', '.join(missing)}; pass them in the prompt context."
        )
    text = _PLACEHOLDER.sub(lambda match: str(context[match.group(1)]).strip(), source)
    version = hashlib.sha256(source.encode("utf-8")).hexdigest()[:12]
    return RenderedPrompt(name=name, version=version, text=text.strip() + "\n")


def _source(name: str) -> str:
    path = PROMPTS_DIR / f"{name}.md"
    if not path.is_file():
        raise PromptError(f"There is no prompt {name!r}: expected the file prompts/{name}.md.")
    return path.read_text(encoding="utf-8")


def requirements_context(report: AnalystReport) -> str:
    """The analyst's requirements as prompts show them: one per line, with their ids."""
    return "\n".join(f"{item.id}. {item.text}" for item in report.requirements)
