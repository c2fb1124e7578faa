"""Read-only admin for agent runs and turns: the console's audit trail of every build."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

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
    fields = ["index", "provider", "model", "stop_reason", "input_tokens", "output_tokens", "cost"]
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False


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
        "cost",
        "created_at",
    ]
    list_filter = ["role", "status", "provider"]
    search_fields = ["task", "status_message"]
    inlines = [AgentTurnInline]


@admin.register(AgentTurn)
class AgentTurnAdmin(ReadOnlyAdmin):
    list_display = ["run", "index", "provider", "stop_reason", "input_tokens", "output_tokens"]
    list_filter = ["provider", "stop_reason", "malformed"]
