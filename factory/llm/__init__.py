"""Model providers behind one interface.

Every model the factory talks to, hosted or local, real or scripted, is a
``ModelProvider`` with two calls: ``run_turn`` (a tool-using turn) and ``structured``
(an answer validated against a pydantic model). Adapters translate our messages and tools
into each vendor's dialect and back, retry only what is worth retrying, and report usage.

This package knows nothing of agents, specs or the database: it must not import Django
models. Settings are read in one place only, ``factory.llm.config``.
"""

from factory.llm.base import ModelProvider, RetryPolicy
from factory.llm.types import (
    Message,
    StopReason,
    StructuredResult,
    ToolCall,
    ToolSpec,
    TurnResult,
    Usage,
)

__all__ = [
    "Message",
    "ModelProvider",
    "RetryPolicy",
    "StopReason",
    "StructuredResult",
    "ToolCall",
    "ToolSpec",
    "TurnResult",
    "Usage",
]
