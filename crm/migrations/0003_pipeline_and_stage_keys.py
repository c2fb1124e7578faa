"""Pipelines and stages get the key of their spec id, and the default ones receive theirs.

The key lets ``pipelines_install`` find a pipeline or stage again after it was renamed. The
data step only gives keys (those of ``crm/defaults.py``) to the default pipelines and stages
that still carry their default names; it creates, renames and deletes nothing, so pipelines
edited in the admin stay as they are (and stay without key).
"""

from django.db import migrations, models

from crm.defaults import PIPELINES


def default_keys_give(apps, schema_editor):
    pipeline_model = apps.get_model("crm", "Pipeline")
    stage_model = apps.get_model("crm", "Stage")
    for definition in PIPELINES:
        if pipeline_model.objects.filter(key=definition["key"]).exists():
            continue
        pipeline = (
            pipeline_model.objects.filter(
                key="", entity=definition["entity"], name=definition["name"]
            )
            .order_by("pk")
            .first()
        )
        if pipeline is None:
            continue
        pipeline.key = definition["key"]
        pipeline.save(update_fields=["key"])
        for key, name, _kind, _probability in definition["stages"]:
            stage = (
                stage_model.objects.filter(pipeline=pipeline, key="", name=name)
                .order_by("pk")
                .first()
            )
            if stage is not None:
                stage.key = key
                stage.save(update_fields=["key"])


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0002_default_choice_lists_and_pipelines"),
    ]

    operations = [
        migrations.AddField(
            model_name="pipeline",
            name="key",
            field=models.SlugField(
                blank=True,
                db_index=False,
                default="",
                editable=False,
                help_text="Id of this row in the app's spec; empty for rows added by hand.",
                max_length=64,
                verbose_name="spec key",
            ),
        ),
        migrations.AddField(
            model_name="stage",
            name="key",
            field=models.SlugField(
                blank=True,
                db_index=False,
                default="",
                editable=False,
                help_text="Id of this row in the app's spec; empty for rows added by hand.",
                max_length=64,
                verbose_name="spec key",
            ),
        ),
        migrations.AddConstraint(
            model_name="pipeline",
            constraint=models.UniqueConstraint(
                condition=models.Q(("key", ""), _negated=True),
                fields=("key",),
                name="crm_pipeline_unique_key",
            ),
        ),
        migrations.AddConstraint(
            model_name="stage",
            constraint=models.UniqueConstraint(
                condition=models.Q(("key", ""), _negated=True),
                fields=("pipeline", "key"),
                name="crm_stage_unique_key",
            ),
        ),
        migrations.RunPython(default_keys_give, migrations.RunPython.noop),
    ]
