"""Spec-editing tools: the only effect an agent has on the world.

Agents have no shell, no file system and no Python: they read the tenant's app spec and
edit it through these typed tools, each checked at once (``workspace``), each edit kept
in a patch that can be re-applied, destructive edits kept pending unless confirmed. The
tools know nothing of models, prompts or the database.
"""

from factory.agents.tools.catalogue import SPEC_TOOLS, TOOLSETS, spec_tool_specs
from factory.agents.tools.reading import spec_summary_text
from factory.agents.tools.workspace import (
    SpecOperation,
    SpecPatchError,
    SpecWorkspace,
    ToolOutcome,
    spec_patch_apply,
)

__all__ = [
    "SPEC_TOOLS",
    "TOOLSETS",
    "SpecOperation",
    "SpecPatchError",
    "SpecWorkspace",
    "ToolOutcome",
    "spec_patch_apply",
    "spec_summary_text",
    "spec_tool_specs",
]
