"""Kit rows remember the values the spec installed; the timeline records tag changes.

``installed_values`` lets ``choice_lists_install`` and ``pipelines_install`` keep what an
admin edited. The data step remembers, for the rows of ``crm/defaults.py`` that 0002 and
0003 installed, the values installed then, so edits made before this migration are kept
too. Rows without a memory (made by hand) are left as they are.
"""

from django.db import migrations, models

from crm.defaults import CHOICE_LISTS, PIPELINES


def installed_values_remember(apps, schema_editor):
    list_model = apps.get_model("crm", "ChoiceList")
    option_model = apps.get_model("crm", "ChoiceOption")
    pipeline_model = apps.get_model("crm", "Pipeline")
    stage_model = apps.get_model("crm", "Stage")
    for key, definition in CHOICE_LISTS.items():
        list_model.objects.filter(key=key).update(installed_values={"name": definition["name"]})
        for order, (value, label, colour) in enumerate(definition["options"]):
            option_model.objects.filter(choice_list__key=key, value=value).update(
                installed_values={"label": label, "colour": colour, "order": order}
            )
    for order, definition in enumerate(PIPELINES):
        pipeline_model.objects.filter(key=definition["key"]).update(
            installed_values={
                "entity": definition["entity"],
                "name": definition["name"],
                "order": order,
                "is_default": definition["is_default"],
            }
        )
        for position, (key, name, kind, probability) in enumerate(definition["stages"]):
            stage_model.objects.filter(pipeline__key=definition["key"], key=key).update(
                installed_values={
                    "name": name,
                    "kind": kind,
                    "probability": probability,
                    "order": position,
                }
            )


class Migration(migrations.Migration):

    dependencies = [
        ('crm', '0003_pipeline_and_stage_keys'),
    ]

    operations = [
        migrations.AddField(
            model_name='choicelist',
            name='installed_values',
            field=models.JSONField(blank=True, default=dict, editable=False, help_text='Field → value the spec gave at the last install; empty for rows added by hand.', verbose_name='values last installed from the spec'),
        ),
        migrations.AddField(
            model_name='choiceoption',
            name='installed_values',
            field=models.JSONField(blank=True, default=dict, editable=False, help_text='Field → value the spec gave at the last install; empty for rows added by hand.', verbose_name='values last installed from the spec'),
        ),
        migrations.AddField(
            model_name='pipeline',
            name='installed_values',
            field=models.JSONField(blank=True, default=dict, editable=False, help_text='Field → value the spec gave at the last install; empty for rows added by hand.', verbose_name='values last installed from the spec'),
        ),
        migrations.AddField(
            model_name='stage',
            name='installed_values',
            field=models.JSONField(blank=True, default=dict, editable=False, help_text='Field → value the spec gave at the last install; empty for rows added by hand.', verbose_name='values last installed from the spec'),
        ),
        migrations.AlterField(
            model_name='timelineentry',
            name='action',
            field=models.CharField(choices=[('created', 'Created'), ('changed', 'Changed'), ('moved', 'Moved'), ('archived', 'Archived'), ('restored', 'Restored'), ('deleted', 'Deleted'), ('tagged', 'Tag added'), ('untagged', 'Tag removed')], max_length=10),
        ),
        migrations.RunPython(installed_values_remember, migrations.RunPython.noop),
    ]
