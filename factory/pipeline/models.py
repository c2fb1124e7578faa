"""Change requests and what the pipeline records about them.

A ``ChangeRequest`` is a builder's request for one tenant: plain words for the agents, or
a spec uploaded directly. It keeps its state, the step to resume after a crash, the spec
it starts from and the spec merged so far, the requirements and assumptions, and the
release it produced. ``Question``/``Answer`` are the analyst's clarifying questions and the
builder's answers (or the default taken when nobody answered); ``PlanTask`` is one task of
the architect's plan for one specialist; ``AgentStep`` links each agent run of the
harness to the request and the slot it fills, so that a re-delivered task finds its run
instead of starting another. Models hold data only: every write goes through
``factory.pipeline.services``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from factory.agents.models import AgentRun
from factory.tenants.models import Tenant, TenantRelease


class RequestState(models.TextChoices):
    ANALYSING = "analysing", "Analysing the request"
    AWAITING_ANSWERS = "awaiting_answers", "Waiting for answers"
    PLANNING = "planning", "Planning"
    BUILDING = "building", "Building"
    CHECKING = "checking", "Checking"
    PREVIEW = "preview", "In preview"
    DEPLOYED = "deployed", "Deployed"
    ROLLED_BACK = "rolled_back", "Rolled back"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


# States in which a Celery step is (or should be) working on the request.
ACTIVE_STATES = frozenset(
    {
        RequestState.ANALYSING,
        RequestState.PLANNING,
        RequestState.BUILDING,
        RequestState.CHECKING,
    }
)
# States after which nothing happens to the request any more.
FINAL_STATES = frozenset({RequestState.FAILED, RequestState.CANCELLED, RequestState.ROLLED_BACK})
# How far along each state is, for the console's progress bar (percent).
STATE_PROGRESS = {
    RequestState.ANALYSING: 10,
    RequestState.AWAITING_ANSWERS: 20,
    RequestState.PLANNING: 30,
    RequestState.BUILDING: 45,
    RequestState.CHECKING: 80,
    RequestState.PREVIEW: 90,
    RequestState.DEPLOYED: 100,
    RequestState.ROLLED_BACK: 100,
    RequestState.FAILED: 100,
    RequestState.CANCELLED: 100,
}


class RequestKind(models.TextChoices):
    AGENTS = "agents", "Plain words (agents)"
    SPEC = "spec", "Spec upload (no model)"


class ChangeRequest(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="change_requests")
    builder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="change_requests",
    )
    kind = models.CharField(max_length=16, choices=RequestKind, default=RequestKind.AGENTS)
    text = models.TextField("request", blank=True)
    language = models.CharField(
        "language",
        max_length=16,
        default="en",
        help_text="The builder's language (en, fr, de...): questions and summaries use it.",
    )
    state = models.CharField(
        max_length=24, choices=RequestState, default=RequestState.ANALYSING, db_index=True
    )
    step = models.CharField(
        max_length=32,
        blank=True,
        help_text="The Celery step working on the request now (what a resume sends again).",
    )
    error = models.TextField("error", blank=True)
    summary = models.TextField("summary", blank=True)
    requirements = models.JSONField(default=list, blank=True)
    assumptions = models.JSONField(default=list, blank=True)
    analysis_round = models.PositiveSmallIntegerField(default=0)
    qa_round = models.PositiveSmallIntegerField(default=0)
    qa_notes = models.JSONField(default=list, blank=True, help_text="Gaps QA left open.")
    wave = models.PositiveSmallIntegerField(default=0, help_text="The last wave dispatched.")
    merged_wave = models.PositiveSmallIntegerField(default=0, help_text="The last wave merged.")
    base_release = models.ForeignKey(
        TenantRelease,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The live release the request started from (empty: the template).",
    )
    spec_base = models.JSONField("spec before", null=True, blank=True)
    spec_working = models.JSONField("spec merged so far", null=True, blank=True)
    spec_uploaded = models.JSONField("uploaded spec", null=True, blank=True)
    confirm_destructive = models.BooleanField(
        default=False,
        help_text="The builder accepts changes that remove or narrow data (backed up first).",
    )
    release = models.ForeignKey(
        TenantRelease,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="change_requests",
        help_text="The release this request built.",
    )
    provider_config = models.JSONField(
        default=dict,
        blank=True,
        help_text="Which model answers: the configured provider (empty), a replay or a script.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "change request"

    def __str__(self) -> str:
        return f"#{self.pk} {self.tenant.slug}: {self.title}"

    @property
    def title(self) -> str:
        if self.kind == RequestKind.SPEC:
            return "Spec upload"
        first = (self.text.strip().splitlines() or [""])[0]
        return first[:80] + ("…" if len(first) > 80 else "")

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def progress(self) -> int:
        return STATE_PROGRESS.get(RequestState(self.state), 0)


class Question(models.Model):
    change_request = models.ForeignKey(
        ChangeRequest, on_delete=models.CASCADE, related_name="questions"
    )
    round = models.PositiveSmallIntegerField()
    position = models.PositiveSmallIntegerField()
    text = models.TextField("question")
    why = models.TextField("why it matters", blank=True)
    options = models.JSONField(default=list, blank=True)
    default = models.CharField(
        "suggested default", max_length=300, blank=True, help_text="Taken when nobody answers."
    )
    free_text = models.BooleanField("free text allowed", default=True)
    blocking = models.BooleanField(
        default=False, help_text="The build cannot go on without the builder's answer."
    )

    class Meta:
        ordering = ["change_request", "round", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["change_request", "round", "position"], name="pipeline_question_unique"
            )
        ]

    def __str__(self) -> str:
        return self.text


class AnswerSource(models.TextChoices):
    BUILDER = "builder", "Builder"
    DEFAULT = "default", "Assumed (suggested default)"


class Answer(models.Model):
    question = models.OneToOneField(Question, on_delete=models.CASCADE, related_name="answer")
    text = models.TextField("answer")
    source = models.CharField(max_length=16, choices=AnswerSource, default=AnswerSource.BUILDER)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.text


class Specialist(models.TextChoices):
    DATA_MODEL = "data_model", "Data model"
    PROCESS = "process", "Process (pipelines, automations)"
    AUTOMATIONS = "automations", "Automations (computed fields, automations)"
    SCREENS = "screens", "Screens"
    API_ROLES = "api_roles", "API and roles"


class TaskStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class PlanTask(models.Model):
    change_request = models.ForeignKey(
        ChangeRequest, on_delete=models.CASCADE, related_name="tasks"
    )
    key = models.CharField(max_length=40)
    position = models.PositiveSmallIntegerField()
    specialist = models.CharField(max_length=32, choices=Specialist)
    title = models.CharField(max_length=200)
    description = models.TextField()
    requirements = models.JSONField(default=list, blank=True)
    depends_on = models.JSONField(default=list, blank=True)
    planned_wave = models.PositiveSmallIntegerField(default=1)
    wave = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Wave it ran in.")
    qa_round = models.PositiveSmallIntegerField(
        default=0, help_text="0: planned by the architect; n: added by QA round n."
    )
    status = models.CharField(max_length=16, choices=TaskStatus, default=TaskStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    patch = models.JSONField(default=list, blank=True, help_text="The edits of the last attempt.")
    report = models.TextField(blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["change_request", "position"]
        constraints = [
            models.UniqueConstraint(fields=["change_request", "key"], name="pipeline_task_unique")
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.get_specialist_display()})"


class AgentStep(models.Model):
    """One agent run of a request, in a named slot (``analyst:1``, ``task:crm#2``, ``qa:1``)."""

    change_request = models.ForeignKey(
        ChangeRequest, on_delete=models.CASCADE, related_name="agent_steps"
    )
    slot = models.CharField(max_length=80)
    task = models.ForeignKey(
        PlanTask, null=True, blank=True, on_delete=models.CASCADE, related_name="agent_steps"
    )
    run = models.OneToOneField(AgentRun, on_delete=models.CASCADE, related_name="pipeline_step")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["change_request", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["change_request", "slot"], name="pipeline_agent_step_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.slot} of request {self.change_request_id}"
