"""Read-only admin for agent runs and turns: the console's audit trail of every build."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from factory.agents.budgets import run_cost_note, run_cost_shown, turn_cost_shown
from factory.agents.models import AgentRun, AgentTurn


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False


class AgentTurnInline(admin.TabularInline):
    model = AgentTurn
    extra = 0
    can_delete = False
    readonly_fields = (
        "index",
        "provider",
        "model",
        "stop_reason",
        "input_tokens",
        "output_tokens",
        "cost_shown",
    )
    fields = readonly_fields
    show_change_link = True

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    @admin.display(description="cost")
    def cost_shown(self, turn: AgentTurn) -> str:
        return str(turn_cost_shown(turn))


@admin.register(AgentRun)
class AgentRunAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "role",
        "status",
        "provider",
        "model",
        "turns_count",
        "input_tokens",
        "output_tokens",
        "cost_shown",
        "created_at",
    ]
    list_filter = ["role", "status", "provider"]
    search_fields = ["task", "status_message"]
    inlines = [AgentTurnInline]
    # The stored cost is $0 for an unpriced or replayed run: the page shows what it means.
    exclude = ["cost"]
    readonly_fields = ["cost_shown", "cost_note"]

    @admin.display(description="cost")
    def cost_shown(self, run: AgentRun) -> str:
        return str(run_cost_shown(run))

    @admin.display(description="cost note")
    def cost_note(self, run: AgentRun) -> str:
        return run_cost_note(run) or "—"


@admin.register(AgentTurn)
class AgentTurnAdmin(ReadOnlyAdmin):
    list_display = [
        "run",
        "index",
        "provider",
        "stop_reason",
        "input_tokens",
        "output_tokens",
        "cost_shown",
    ]
    list_filter = ["provider", "stop_reason", "malformed"]
    list_select_related = ["run"]
    exclude = ["cost"]
    readonly_fields = ["cost_shown"]

    @admin.display(description="cost")
    def cost_shown(self, turn: AgentTurn) -> str:
        return str(turn_cost_shown(turn))
