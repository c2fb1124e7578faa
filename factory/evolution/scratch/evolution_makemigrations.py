"""Makes the migrations of an evolving app, in the scratch process (see ``evolution_step``).

Runs after the new release's code is written into the app folder: Django's registry is
frozen per process, so the new models only exist in a fresh one. Django's autodetector
compares the state of the existing migrations with the new models and asks its questions
to ``SpecDiffQuestioner``.

Django recognises a rename only when the field or model is otherwise unchanged, so a
change that renames and alters at once is made in steps, each a migration file:

1. model renames: the old state with the renamed models, autodetected (``RenameModel``);
2. field renames and fields replaced by an incompatible type: the state with those fields
   renamed or dropped (``RenameField``, ``RemoveField``), indexes and constraints on them
   dropped to be recreated by step 4;
3. a data step when the plan has one (stored text mapped to choice options, choice lists
   brought in line with the spec), rendered as a plain ``RunPython`` migration;
4. everything else, from that state to the new models (``AlterField``, ``AddField``...).

Before returning, ``make_migrations`` checks that every rename of the plan became a rename
operation and never a drop and add; if not, it deletes the files it wrote and raises. It
returns the files written with their operations and every question asked with its answer.
Imports only Django, the standard library and the sibling questioner module (``factory``
is factory-boy in this process).
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

from django.apps import apps
from django.db.migrations import operations
from django.db.migrations.autodetector import MigrationAutodetector
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.state import ProjectState
from django.db.migrations.writer import MigrationWriter

if __package__:
    from .evolution_questioner import SpecDiffQuestioner
else:  # run as a script in the scratch process, beside its sibling modules
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from evolution_questioner import SpecDiffQuestioner


LINE_LENGTH = 100


class RenameLost(Exception):
    """A rename of the plan did not become a rename operation."""


def _loader() -> MigrationLoader:
    importlib.invalidate_caches()
    return MigrationLoader(None, ignore_no_migrations=True)


def _references(thing: Any, field_name: str) -> bool:
    names = getattr(thing, "fields", ()) or ()
    return field_name in [str(name).lstrip("-") for name in names]


def _forget_field_in_options(model_state: Any, old: str, new: str | None) -> None:
    """Point ordering at the new name; drop indexes and constraints naming the field.

    Django rebuilds a table from the target state; an index or constraint naming a field that
    state no longer has would break that rebuild, so step 2 drops them and step 4 re-adds
    them as the new models declare them.
    """
    options = model_state.options
    if "ordering" in options:
        ordering = []
        for item in options["ordering"]:
            bare = item.lstrip("-") if isinstance(item, str) else None
            if bare == old:
                if new is None:
                    continue
                item = item.replace(old, new, 1)
            ordering.append(item)
        options["ordering"] = ordering
    for option in ("indexes", "constraints"):
        if option in options:
            options[option] = [item for item in options[option] if not _references(item, old)]
    for option in ("unique_together", "index_together"):
        if option in options and new is None:
            options[option] = {group for group in options[option] if old not in group}


def model_renames_state(from_state: ProjectState, plan: dict[str, Any]) -> ProjectState:
    state = from_state.clone()
    for rename in plan["renamed_models"]:
        operations.RenameModel(rename["old"], rename["new"]).state_forwards(
            plan["app_label"], state
        )
    return state


def field_renames_state(from_state: ProjectState, plan: dict[str, Any]) -> ProjectState:
    state = from_state.clone()
    label = plan["app_label"]
    for rename in plan["renamed_fields"]:
        model_state = state.models[label, rename["model"].lower()]
        _forget_field_in_options(model_state, rename["old"], rename["new"])
        operations.RenameField(rename["model"], rename["old"], rename["new"]).state_forwards(
            label, state
        )
    for replaced in plan["replaced_fields"]:
        model_state = state.models[label, replaced["model"].lower()]
        _forget_field_in_options(model_state, replaced["field"], None)
        operations.RemoveField(replaced["model"], replaced["field"]).state_forwards(label, state)
    return state


def _write_changes(
    loader: MigrationLoader,
    to_state: ProjectState,
    questioner: SpecDiffQuestioner,
    label: str,
    name: str | None,
) -> list[dict[str, Any]]:
    autodetector = MigrationAutodetector(loader.project_state(), to_state, questioner)
    changes = autodetector.changes(
        graph=loader.graph, trim_to_apps={label}, convert_apps={label}, migration_name=name
    )
    written = []
    for migration in changes.get(label, []):
        writer = MigrationWriter(migration, include_header=False)
        path = Path(writer.path)
        # A freshly compiled app has no migrations package yet: make it as Django does.
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.parent / "__init__.py").touch()
        path.write_text(writer.as_string())
        written.append(
            {
                "path": f"migrations/{path.name}",
                "name": migration.name,
                "operations": [_operation_describe(op) for op in migration.operations],
            }
        )
    return written


def _operation_describe(operation: Any) -> dict[str, Any]:
    description = {"type": type(operation).__name__}
    for attribute in ("name", "model_name", "old_name", "new_name"):
        value = getattr(operation, attribute, None)
        if isinstance(value, str):
            description[attribute] = value
    return description


DATA_MIGRATION_TEMPLATE = '''\
"""Data step of an evolution of the app spec, made by the CRM factory.

Runs between the renames and the schema changes: maps stored text to choice option values,
creates the spec's missing choice lists and options, and renames the stages of pipelines
installed before pipelines had keys. Removed options are deactivated, never deleted, and
removed stages stay, so rows that use them keep their value. Labels, colours, names and
order of existing rows are the app's install after migrate (``defaults.py``), which keeps
what an admin edited.
"""

from django.db import migrations

APP_LABEL = {app_label}
CHOICE_LISTS = {choice_lists}
RENAMED_CHOICE_LISTS = {renamed_choice_lists}
REMOVED_OPTIONS = {removed_options}
CONVERSIONS = {conversions}
BLANK_REPLACEMENTS = {blank_replacements}
PIPELINES = {pipelines}
BATCH = 500


def normalise(text):
    return " ".join(text.replace("_", " ").replace("-", " ").split()).casefold()


def sync_choice_lists(apps, schema_editor):
    if not (CHOICE_LISTS or RENAMED_CHOICE_LISTS or REMOVED_OPTIONS):
        return
    choice_list_model = apps.get_model(APP_LABEL, "ChoiceList")
    option_model = apps.get_model(APP_LABEL, "ChoiceOption")
    for old_key, new_key in RENAMED_CHOICE_LISTS.items():
        choice_list_model.objects.filter(key=old_key).update(key=new_key)
    for key, definition in CHOICE_LISTS.items():
        choice_list, _created = choice_list_model.objects.get_or_create(
            key=key, defaults={{"name": definition["name"]}}
        )
        for order, (value, label, colour) in enumerate(definition["options"]):
            option, created = option_model.objects.get_or_create(
                choice_list=choice_list,
                value=value,
                defaults={{"label": label, "colour": colour, "order": order}},
            )
            if not created and not option.is_active:
                option.is_active = True
                option.save(update_fields=["is_active"])
    for key, values in REMOVED_OPTIONS.items():
        option_model.objects.filter(choice_list__key=key, value__in=values).update(is_active=False)


def sync_pipelines(apps, schema_editor):
    if not PIPELINES:
        return
    pipeline_model = apps.get_model(APP_LABEL, "Pipeline")
    stage_model = apps.get_model(APP_LABEL, "Stage")
    # A pipeline with a key is found again by the app's install after migrate, which keeps
    # what an admin edited; only pipelines installed before keys are matched here by name.
    keyed = any(field.name == "key" for field in pipeline_model._meta.fields)
    for definition in PIPELINES:
        rows = pipeline_model.objects.filter(
            entity=definition["entity_old"], name=definition["old_name"]
        )
        pipeline = (rows.filter(key="") if keyed else rows).first()
        if pipeline is None:
            continue  # keyed, or never installed: the app installs it after migrate
        pipeline.entity = definition["entity"]
        pipeline.name = definition["name"]
        pipeline.is_default = definition["is_default"]
        pipeline.save()
        for order, stage in enumerate(definition["stages"]):
            values = {{
                "name": stage["name"],
                "kind": stage["kind"],
                "probability": stage["probability"],
                "order": order,
            }}
            existing = None
            if stage["old_name"] is not None:
                existing = stage_model.objects.filter(
                    pipeline=pipeline, name=stage["old_name"]
                ).first()
            if existing is None:
                stage_model.objects.create(pipeline=pipeline, **values)
            else:
                stage_model.objects.filter(pk=existing.pk).update(**values)


def _update(model, name, pks_by_value):
    for value, pks in pks_by_value.items():
        for start in range(0, len(pks), BATCH):
            model._base_manager.filter(pk__in=pks[start : start + BATCH]).update(**{{name: value}})


def convert_values(apps, schema_editor):
    for conversion in CONVERSIONS:
        model = apps.get_model(APP_LABEL, conversion["model"])
        name = conversion["field"]
        rows = model._base_manager.exclude(**{{name: ""}}).exclude(**{{name + "__isnull": True}})
        pks_by_value, unmatched = {{}}, {{}}
        for pk, text in rows.values_list("pk", name).order_by("pk"):
            value = conversion["mapping"].get(normalise(text), conversion["fallback"])
            if value is None:
                unmatched[text] = unmatched.get(text, 0) + 1
            elif value != text:
                pks_by_value.setdefault(value, []).append(pk)
        if unmatched:
            raise ValueError(
                f"{{sum(unmatched.values())}} values of {{conversion['model']}}.{{name}} match no"
                f" option of the choice list {{conversion['choice_list']}}:"
                f" {{sorted(unmatched)[:10]}}. Add options for them, or give the field a default"
                " for values that match none, then evolve again."
            )
        _update(model, name, pks_by_value)
    for replacement in BLANK_REPLACEMENTS:
        model = apps.get_model(APP_LABEL, replacement["model"])
        model._base_manager.filter(**{{replacement["field"]: ""}}).update(
            **{{replacement["field"]: replacement["value"]}}
        )


class Migration(migrations.Migration):
    dependencies = {dependencies}

    operations = [
        migrations.RunPython(sync_choice_lists, migrations.RunPython.noop),
        migrations.RunPython(sync_pipelines, migrations.RunPython.noop),
        migrations.RunPython(convert_values, migrations.RunPython.noop),
    ]
'''


def _flat_literal(value: Any) -> str:
    if isinstance(value, dict):
        items = ", ".join(f"{_flat_literal(k)}: {_flat_literal(v)}" for k, v in value.items())
        return f"{{{items}}}"
    if isinstance(value, tuple):
        items = ", ".join(_flat_literal(item) for item in value)
        return f"({items}{',' if len(value) == 1 else ''})"
    if isinstance(value, list):
        items = ", ".join(_flat_literal(item) for item in value)
        return f"[{items}]"
    if isinstance(value, str):
        # A JSON string is a valid Python string literal, in double quotes like ruff writes.
        return json.dumps(value, ensure_ascii=False)
    return repr(value)


def _literal(value: Any, indent: str = "") -> str:
    """Data as Python source laid out the way ruff formats it (user text only as literals)."""
    flat = _flat_literal(value)
    if len(indent) + len(flat) <= LINE_LENGTH or not isinstance(value, dict | list):
        return flat
    inner = indent + "    "
    if isinstance(value, dict):
        lines = [f"{inner}{_flat_literal(k)}: {_literal(v, inner)}," for k, v in value.items()]
        return "{\n" + "\n".join(lines) + f"\n{indent}}}"
    lines = [f"{inner}{_literal(item, inner)}," for item in value]
    return "[\n" + "\n".join(lines) + f"\n{indent}]"


def _migrations_dir(label: str) -> Path:
    return Path(importlib.import_module(f"{label}.migrations").__path__[0])


def write_data_migration(loader: MigrationLoader, plan: dict[str, Any]) -> dict[str, Any]:
    label = plan["app_label"]
    leaves = sorted(loader.graph.leaf_nodes(label))
    numbers = [
        int(name.split("_", 1)[0]) for _app, name in loader.graph.nodes if _app == label
    ] or [0]
    name = f"{max(numbers) + 1:04d}_evolution_data"
    source = DATA_MIGRATION_TEMPLATE.format(
        app_label=_literal(label),
        choice_lists=_literal(plan["choice_lists"]),
        renamed_choice_lists=_literal(plan["renamed_choice_lists"]),
        removed_options=_literal(plan["removed_options"]),
        conversions=_literal(plan["conversions"]),
        blank_replacements=_literal(plan["blank_replacements"]),
        pipelines=_literal(plan["pipelines"]),
        dependencies=_literal([tuple(leaf) for leaf in leaves], "    "),
    )
    path = _migrations_dir(label) / f"{name}.py"
    path.write_text(source)
    return {
        "path": f"migrations/{path.name}",
        "name": name,
        "operations": [{"type": "RunPython"}] * 3,
    }


def check_renames(plan: dict[str, Any], written: list[dict[str, Any]]) -> None:
    """Every planned rename is a rename operation, and nothing drops what was renamed."""
    ops = [op for migration in written for op in migration["operations"]]

    def has(kind: str, **attributes: str) -> bool:
        return any(
            op["type"] == kind
            and all(op.get(key, "").lower() == value.lower() for key, value in attributes.items())
            for op in ops
        )

    problems = []
    for rename in plan["renamed_models"]:
        old, new = rename["old"], rename["new"]
        if not has("RenameModel", old_name=old, new_name=new) or has("DeleteModel", name=old):
            problems.append(f"model {old} → {new}")
    for rename in plan["renamed_fields"]:
        model, old, new = rename["model"], rename["old"], rename["new"]
        renamed = has("RenameField", model_name=model, old_name=old, new_name=new)
        if not renamed or has("RemoveField", model_name=model, name=old):
            problems.append(f"field {model}.{old} → {new}")
    if problems:
        raise RenameLost(
            "Django did not migrate these renames as renames: "
            + ", ".join(problems)
            + ". Nothing was written; rename them in one change and alter them in the next."
        )


def make_migrations(plan: dict[str, Any]) -> dict[str, Any]:
    label = plan["app_label"]
    questioner = SpecDiffQuestioner(plan=plan, specified_apps={label})
    written: list[dict[str, Any]] = []
    try:
        loader = _loader()
        has_history = bool(loader.graph.leaf_nodes(label))
        if has_history and plan["renamed_models"]:
            state = model_renames_state(loader.project_state(), plan)
            written += _write_changes(loader, state, questioner, label, "rename_models")
            loader = _loader()
        if has_history and (plan["renamed_fields"] or plan["replaced_fields"]):
            state = field_renames_state(loader.project_state(), plan)
            written += _write_changes(loader, state, questioner, label, "rename_fields")
            loader = _loader()
        data_step = any(
            plan[key] for key in ("conversions", "choice_lists", "blank_replacements", "pipelines")
        )
        if has_history and data_step:
            written.append(write_data_migration(loader, plan))
            loader = _loader()
        written += _write_changes(loader, ProjectState.from_apps(apps), questioner, label, None)
        if has_history:
            check_renames(plan, written)
    except Exception:
        if written:
            folder = _migrations_dir(label)
            for migration in written:
                (folder / Path(migration["path"]).name).unlink(missing_ok=True)
        raise
    return {"migrations": written, "answers": questioner.answers}
