"""Abstract models of the CRM kit.

``Record`` is the base of every business entity: timestamps, who created and last changed
it, an owner, and soft delete with restore. The other abstract models are the kit's
building blocks (choice lists, pipelines with stage history, timeline, notes, tasks, tags,
attachments, role policies). Relations between them use bare model names, which Django
resolves inside the app of the concrete subclass, so each app gets its own tables.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone

from crm.kit.current_user import get_current_user
from crm.kit.fields import ChoiceListField

hex_colour_validator = RegexValidator(
    r"^#[0-9a-fA-F]{6}$", "Enter a colour as # followed by six hex digits, for example #1f77b4."
)


def installed_values_field() -> models.JSONField:
    """The spec's values as last installed on a row, so that an install can tell the
    values an admin edited (kept) from those still as installed (the spec may update)."""
    return models.JSONField(
        "values last installed from the spec",
        default=dict,
        blank=True,
        editable=False,
        help_text="Field → value the spec gave at the last install; empty for rows added by hand.",
    )


class RecordQuerySet(models.QuerySet):
    def alive(self) -> RecordQuerySet:
        return self.filter(deleted_at__isnull=True)

    def archived(self) -> RecordQuerySet:
        return self.filter(deleted_at__isnull=False)

    def owned_by(self, user: Any) -> RecordQuerySet:
        return self.filter(owner=user)


class AliveRecordManager(models.Manager.from_queryset(RecordQuerySet)):  # type: ignore[misc]
    """Default manager: hides soft-deleted records."""

    def get_queryset(self) -> RecordQuerySet:
        return super().get_queryset().filter(deleted_at__isnull=True)


class AllRecordManager(models.Manager.from_queryset(RecordQuerySet)):  # type: ignore[misc]
    """Every record, soft-deleted ones included (admin restore, backups, exports)."""


class Record(models.Model):
    """Base of every CRM entity."""

    created_at = models.DateTimeField("created", auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField("updated", auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="created by",
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="updated by",
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="owner",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    deleted_at = models.DateTimeField("archived at", null=True, blank=True, editable=False)

    objects = AliveRecordManager()
    all_objects = AllRecordManager()

    # Name of the field holding the pipeline stage, on entities that move through one.
    pipeline_stage_field: str | None = None
    # Fields the timeline never records (bookkeeping, not business data).
    timeline_ignored_fields = ("created_at", "updated_at", "created_by", "updated_by", "deleted_at")

    class Meta:
        abstract = True
        base_manager_name = "all_objects"

    def save(self, *args: Any, **kwargs: Any) -> None:
        user = get_current_user()
        if user is not None:
            if self._state.adding and self.created_by_id is None:
                self.created_by = user
            if self._state.adding and self.owner_id is None:
                self.owner = user
            self.updated_by = user
            update_fields = kwargs.get("update_fields")
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "updated_by", "updated_at"}
        super().save(*args, **kwargs)

    @property
    def is_archived(self) -> bool:
        return self.deleted_at is not None

    def archive(self) -> None:
        """Soft delete: the row stays, hidden from default lists, and can be restored."""
        if self.deleted_at is None:
            self.deleted_at = timezone.now()
            self.save(update_fields=["deleted_at"])

    def restore(self) -> None:
        if self.deleted_at is not None:
            self.deleted_at = None
            self.save(update_fields=["deleted_at"])


class TargetedMixin(models.Model):
    """A link to any record of the same app (generic relation)."""

    target_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    target_id = models.PositiveBigIntegerField(null=True, blank=True)
    target = GenericForeignKey("target_type", "target_id")

    class Meta:
        abstract = True
        indexes = [models.Index(fields=["target_type", "target_id"])]


class AbstractChoiceList(models.Model):
    """A named, editable list of values (task status, industry...), instead of code constants."""

    key = models.SlugField("key", max_length=64, unique=True)
    name = models.CharField("name", max_length=120)
    description = models.TextField("description", blank=True)
    installed_values = installed_values_field()

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AbstractChoiceOption(models.Model):
    # A bare model name resolves in the concrete subclass's app, which django-stubs cannot see.
    choice_list = models.ForeignKey(  # type: ignore[misc]
        "ChoiceList", verbose_name="list", on_delete=models.CASCADE, related_name="options"
    )
    value = models.SlugField("value", max_length=64)
    label = models.CharField("label", max_length=120)
    colour = models.CharField(
        "colour", max_length=7, default="#6c757d", validators=[hex_colour_validator]
    )
    order = models.PositiveIntegerField("order", default=0)
    is_active = models.BooleanField("active", default=True)
    installed_values = installed_values_field()

    class Meta:
        abstract = True
        ordering = ["choice_list", "order", "label"]
        constraints = [
            models.UniqueConstraint(
                fields=["choice_list", "value"], name="%(app_label)s_choice_option_unique_value"
            )
        ]

    def __str__(self) -> str:
        return self.label


class StageKind(models.TextChoices):
    OPEN = "open", "Open"
    WON = "won", "Won"
    LOST = "lost", "Lost"


class AbstractPipeline(models.Model):
    """An ordered set of stages an entity moves through; several per entity type.

    ``key`` is the id of the pipeline in the app's spec (and ``Stage.key`` the id of the
    stage), so that installing the spec again finds the same rows after a rename. Rows made
    by hand in the admin or the API have no key; the spec never edits the keys of rows.
    """

    key = models.SlugField(
        "spec key",
        max_length=64,
        blank=True,
        default="",
        db_index=False,  # the partial unique constraint indexes the keys that are set
        editable=False,
        help_text="Id of this row in the app's spec; empty for rows added by hand.",
    )
    entity = models.CharField("entity", max_length=64, help_text="Model name, e.g. deal.")
    name = models.CharField("name", max_length=120)
    order = models.PositiveIntegerField("order", default=0)
    is_default = models.BooleanField("default pipeline", default=False)
    installed_values = installed_values_field()

    class Meta:
        abstract = True
        ordering = ["entity", "order", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["key"],
                condition=~models.Q(key=""),
                name="%(app_label)s_pipeline_unique_key",
            )
        ]

    def __str__(self) -> str:
        return self.name


class AbstractStage(models.Model):
    # A bare model name resolves in the concrete subclass's app, which django-stubs cannot see.
    pipeline = models.ForeignKey(  # type: ignore[misc]
        "Pipeline", verbose_name="pipeline", on_delete=models.CASCADE, related_name="stages"
    )
    key = models.SlugField(
        "spec key",
        max_length=64,
        blank=True,
        default="",
        db_index=False,  # the partial unique constraint indexes the keys that are set
        editable=False,
        help_text="Id of this row in the app's spec; empty for rows added by hand.",
    )
    name = models.CharField("name", max_length=120)
    kind = models.CharField("kind", max_length=8, choices=StageKind, default=StageKind.OPEN)
    probability = models.PositiveSmallIntegerField(
        "probability (%)", default=0, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    order = models.PositiveIntegerField("order", default=0)
    installed_values = installed_values_field()

    class Meta:
        abstract = True
        ordering = ["pipeline", "order"]
        constraints = [
            models.UniqueConstraint(
                fields=["pipeline", "key"],
                condition=~models.Q(key=""),
                name="%(app_label)s_stage_unique_key",
            )
        ]

    def __str__(self) -> str:
        return self.name


class AbstractStageChange(models.Model):
    """One move of a record from a stage to another: the stage history."""

    record_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    record_id = models.PositiveBigIntegerField()
    record = GenericForeignKey("record_type", "record_id")
    # A bare model name resolves in the concrete subclass's app, which django-stubs cannot see.
    from_stage = models.ForeignKey(  # type: ignore[misc]
        "Stage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_stage = models.ForeignKey(  # type: ignore[misc]
        "Stage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["record_type", "record_id"])]


class TimelineAction(models.TextChoices):
    CREATED = "created", "Created"
    CHANGED = "changed", "Changed"
    MOVED = "moved", "Moved"
    ARCHIVED = "archived", "Archived"
    RESTORED = "restored", "Restored"
    DELETED = "deleted", "Deleted"
    TAGGED = "tagged", "Tag added"
    UNTAGGED = "untagged", "Tag removed"


class AbstractTimelineEntry(models.Model):
    """Who created, changed (one entry per field), moved, archived, tagged or deleted a record.

    A tag entry has ``field`` "tags" and the tag's name as its new value (added) or its old
    value (removed).
    """

    record_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    record_id = models.PositiveBigIntegerField()
    record_repr = models.CharField(max_length=200)
    action = models.CharField(max_length=10, choices=TimelineAction)
    field = models.CharField(max_length=64, blank=True)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        abstract = True
        ordering = ["-at", "-id"]
        verbose_name_plural = "timeline entries"
        indexes = [models.Index(fields=["record_type", "record_id", "at"])]

    def __str__(self) -> str:
        if self.action == TimelineAction.CHANGED:
            return f"{self.record_repr}: {self.field} {self.old_value!r} → {self.new_value!r}"
        if self.action in (TimelineAction.TAGGED, TimelineAction.UNTAGGED):
            return f"{self.record_repr}: {self.tag_summary}"
        return f"{self.record_repr}: {self.get_action_display().lower()}"

    @property
    def tag_summary(self) -> str:
        """The entry as people read it, "Tag added: VIP"; empty unless a tag entry."""
        if self.action == TimelineAction.TAGGED:
            return f"{self.get_action_display()}: {self.new_value}"
        if self.action == TimelineAction.UNTAGGED:
            return f"{self.get_action_display()}: {self.old_value}"
        return ""


class AbstractNote(Record, TargetedMixin):
    body = models.TextField("note")

    class Meta(Record.Meta, TargetedMixin.Meta):
        abstract = True
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.body[:60]


class AbstractTask(Record, TargetedMixin):
    title = models.CharField("title", max_length=200)
    description = models.TextField("description", blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="assignee",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    due_date = models.DateField("due date", null=True, blank=True, db_index=True)
    status = ChoiceListField("status", choice_list="task_status", default="todo", db_index=True)
    priority = ChoiceListField("priority", choice_list="task_priority", default="normal")
    reminder_at = models.DateTimeField("reminder", null=True, blank=True)
    completed_at = models.DateTimeField("completed at", null=True, blank=True, editable=False)

    class Meta(Record.Meta, TargetedMixin.Meta):
        abstract = True
        ordering = ["due_date", "-created_at"]

    # The value of the task_status list that means "done".
    done_status = "done"

    def __str__(self) -> str:
        return self.title

    @property
    def is_done(self) -> bool:
        return self.status == self.done_status


class AbstractTag(models.Model):
    name = models.CharField("name", max_length=64, unique=True)
    colour = models.CharField(
        "colour", max_length=7, default="#6c757d", validators=[hex_colour_validator]
    )

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AbstractTaggedItem(TargetedMixin):
    # A bare model name resolves in the concrete subclass's app, which django-stubs cannot see.
    tag = models.ForeignKey("Tag", on_delete=models.CASCADE, related_name="items")  # type: ignore[misc]

    class Meta(TargetedMixin.Meta):
        abstract = True
        constraints = [
            models.UniqueConstraint(
                fields=["tag", "target_type", "target_id"], name="%(app_label)s_tagged_item_unique"
            )
        ]

    def __str__(self) -> str:
        return str(self.tag)


def attachment_upload_to(instance: models.Model, filename: str) -> str:
    return f"attachments/{instance._meta.app_label}/{timezone.now():%Y/%m}/{filename}"


class AbstractAttachment(TargetedMixin):
    file = models.FileField("file", upload_to=attachment_upload_to)
    name = models.CharField("name", max_length=200, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta(TargetedMixin.Meta):
        abstract = True
        ordering = ["-uploaded_at"]

    def __str__(self) -> str:
        return self.name or self.file.name or ""


class AbstractRolePolicy(models.Model):
    """Per-app options of a role (a Django group): limit it to the records its members own."""

    group = models.OneToOneField(Group, on_delete=models.CASCADE, related_name="+")
    own_records_only = models.BooleanField(
        "only records they own",
        default=False,
        help_text="Members of this role see and change only the records they own.",
    )

    class Meta:
        abstract = True
        verbose_name_plural = "role policies"

    def __str__(self) -> str:
        return f"{self.group.name}{' (own records)' if self.own_records_only else ''}"
