from django.db import migrations

from crm.defaults import CHOICE_LISTS, PIPELINES


def choice_lists_create(apps):
    """Create the default choice lists as this migration always did.

    ``choice_lists_install`` now remembers the values it installed, in a column that only
    exists from 0004 on, so this step keeps its own copy of the old create-or-update rule.
    """
    list_model = apps.get_model("crm", "ChoiceList")
    option_model = apps.get_model("crm", "ChoiceOption")
    for key, definition in CHOICE_LISTS.items():
        choice_list, _ = list_model.objects.update_or_create(
            key=key, defaults={"name": definition["name"]}
        )
        for order, (value, label, colour) in enumerate(definition["options"]):
            option_model.objects.update_or_create(
                choice_list=choice_list,
                value=value,
                defaults={"label": label, "colour": colour, "order": order},
            )


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
    choice_lists_create(apps)
    pipelines_create(apps)


class Migration(migrations.Migration):
    dependencies = [("crm", "0001_initial")]

    operations = [migrations.RunPython(install_defaults, migrations.RunPython.noop)]
