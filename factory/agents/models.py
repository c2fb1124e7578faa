"""Agent runs and their turns, persisted as they happen.

An ``AgentRun`` freezes everything a run depends on when it starts (role, task, rendered
system prompt and its version, tool names, the spec it started from, budgets) and keeps
its running state (current spec, patch, pending destructive edits, totals, status). An
``AgentTurn`` is one model call: what the model said and called, what the harness
answered, usage and cost, and which provider answered ("replay" and "scripted" turns say
so). From these rows the conversation can be rebuilt exactly: that is how a run resumes
and how it is replayed. Logic lives in services and the harness, not here.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import models

from factory.agents.roles import AgentRole


class AgentRunStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    FINISHED = "finished", "Finished"
    MAX_TURNS = "max_turns", "Stopped: turn limit"
    BUDGET = "budget", "Stopped: budget"
    STUCK = "stuck", "Stopped: stuck"
    REFUSED = "refused", "Stopped: the model refused"
    FAILED = "failed", "Failed (can be resumed)"


# A run in one of these states will not take another turn; the others can (re)start.
TERMINAL_STATUSES = frozenset(
    {
        AgentRunStatus.FINISHED,
        AgentRunStatus.MAX_TURNS,
        AgentRunStatus.BUDGET,
        AgentRunStatus.STUCK,
        AgentRunStatus.REFUSED,
    }
)

_MONEY: dict[str, Any] = {"max_digits": 12, "decimal_places": 6}


class AgentRun(models.Model):
    role = models.CharField(max_length=32, choices=AgentRole.choices)
    status = models.CharField(
        max_length=16, choices=AgentRunStatus.choices, default=AgentRunStatus.PENDING
    )
    status_message = models.TextField(blank=True)
    task = models.TextField(help_text="The first user message: what this run must do.")
    prompt_name = models.CharField(max_length=64)
    prompt_version = models.CharField(max_length=64)
    system_prompt = models.TextField()
    tools = models.JSONField(default=list, help_text="Names of the spec tools offered.")
    spec_before = models.JSONField()
    spec_current = models.JSONField()
    patch = models.JSONField(default=list, help_text="Edits applied, in order.")
    pending = models.JSONField(default=list, help_text="Destructive edits awaiting confirmation.")
    result = models.JSONField(null=True, blank=True, help_text="The role's report.")
    provider = models.CharField(max_length=32, blank=True)
    model = models.CharField(max_length=128, blank=True)
    max_turns = models.PositiveIntegerField()
    max_input_tokens = models.PositiveBigIntegerField()
    max_output_tokens = models.PositiveBigIntegerField()
    max_cost = models.DecimalField(
        null=True, blank=True, help_text="USD; empty for no money budget.", **_MONEY
    )
    turns_count = models.PositiveIntegerField(default=0)
    input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    cost = models.DecimalField(default=Decimal(0), **_MONEY)
    context = models.JSONField(
        default=dict, blank=True, help_text="What the caller links the run to (build, tenant)."
    )
    replay_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replays"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_role_display()} run {self.pk} ({self.status})"

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


class AgentTurn(models.Model):
    run = models.ForeignKey(AgentRun, on_delete=models.CASCADE, related_name="turns")
    index = models.PositiveIntegerField()
    provider = models.CharField(max_length=32)
    model = models.CharField(max_length=128, blank=True)
    text = models.TextField(blank=True)
    tool_calls = models.JSONField(default=list)
    replies = models.JSONField(
        default=list, help_text="Messages the harness sent back: tool results, guidance."
    )
    stop_reason = models.CharField(max_length=16)
    raw_stop_reason = models.CharField(max_length=64, blank=True)
    refusal = models.TextField(blank=True)
    input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    cached_input_tokens = models.PositiveBigIntegerField(default=0)
    cost = models.DecimalField(default=Decimal(0), **_MONEY)
    malformed = models.BooleanField(default=False)
    operations = models.JSONField(default=list, help_text="Edits applied in this turn.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "index"]
        constraints = [
            models.UniqueConstraint(fields=["run", "index"], name="agents_turn_unique_index")
        ]

    def __str__(self) -> str:
        return f"turn {self.index} of run {self.run_id}"
