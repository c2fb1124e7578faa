from django.db import migrations

from crm.defaults import CHOICE_LISTS, PIPELINES
from crm.kit.services import choice_lists_install


def pipelines_create(apps):
    """Create the default pipelines as this migration always did: once, without keys.

    ``pipelines_install`` now syncs by key, a column that only exists from 0003 on, so this
    step keeps its own copy of the old create-if-missing rule; 0003 gives the rows their keys.
    """
    pipeline_model = apps.get_model("crm", "Pipeline")
    stage_model = apps.get_model("crm", "Stage")
    for order, definition in enumerate(PIPELINES):
        pipeline, created = pipeline_model.objects.get_or_create(
            entity=definition["entity"],
            name=definition["name"],
            defaults={"order": order, "is_default": definition.get("is_default", False)},
        )
        if not created:
            continue
        stage_model.objects.bulk_create(
            stage_model(
                pipeline=pipeline, name=name, kind=kind, probability=probability, order=position
            )
            for position, (_key, name, kind, probability) in enumerate(definition["stages"])
        )


def install_defaults(apps, schema_editor):
    choice_lists_install(app_label="crm", choice_lists=CHOICE_LISTS, registry=apps)
    pipelines_create(apps)


class Migration(migrations.Migration):
    dependencies = [("crm", "0001_initial")]

    operations = [migrations.RunPython(install_defaults, migrations.RunPython.noop)]
