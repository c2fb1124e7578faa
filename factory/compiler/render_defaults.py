"""Renders ``defaults.py`` (starting data) and the fixed files filled from ``templates/``.

``defaults.py`` holds the spec's choice lists, pipelines and roles as data, in the shapes
the kit's install services take, and the ``post_migrate`` receiver that installs them.
"""

from __future__ import annotations

from pathlib import Path
from string import Template

from factory.compiler.common import docstring, module
from factory.compiler.context import AppContext
from factory.compiler.pycode import INDENT, Dict, Imports, Seq, layout, lit, py_str

TEMPLATES_DIR = Path(__file__).with_name("templates")


def render_template(name: str, **values: str) -> str:
    """Fill a fixed file of ``templates/``; values must be identifiers or rendered code."""
    return Template((TEMPLATES_DIR / name).read_text()).substitute(values)


def kit_block(name: str) -> list[str]:
    """Lines of a fixed block of ``templates/`` (the kit tables' part of a module)."""
    return (TEMPLATES_DIR / name).read_text().rstrip("\n").splitlines()


def render_apps(context: AppContext) -> str:
    verbose_name = "\n".join(layout(lit(context.spec.name), INDENT, "verbose_name = "))
    return render_template(
        "apps.py.tmpl",
        label=context.label,
        config_class=context.config_class,
        verbose_name=verbose_name,
    )


def render_defaults(context: AppContext) -> str:
    spec = context.spec
    choice_lists = Dict(
        [
            (
                lit(choice_list.key),
                Dict(
                    [
                        (lit("name"), lit(choice_list.name)),
                        (
                            lit("options"),
                            Seq(
                                [
                                    lit((option.value, option.label, option.colour))
                                    for option in choice_list.options
                                ]
                            ),
                        ),
                    ]
                ),
            )
            for choice_list in spec.choice_lists
        ]
    )
    pipelines = Seq(
        [
            Dict(
                [
                    (lit("key"), lit(pipeline.id)),
                    (lit("entity"), lit(context.model_name(pipeline.entity))),
                    (lit("name"), lit(pipeline.name)),
                    (lit("is_default"), lit(pipeline.is_default)),
                    (
                        lit("stages"),
                        Seq(
                            [
                                lit((stage.id, stage.name, str(stage.kind), stage.probability))
                                for stage in pipeline.stages
                            ]
                        ),
                    ),
                ]
            )
            for pipeline in spec.pipelines
        ]
    )
    roles = Dict(
        [
            (
                lit(role.name),
                Dict(
                    [
                        (
                            lit("permissions"),
                            Dict(
                                [
                                    (
                                        lit(context.model_name(entity_id)),
                                        lit([str(action) for action in actions]),
                                    )
                                    for entity_id, actions in role.permissions.items()
                                ]
                            ),
                        ),
                        (lit("own_records_only"), lit(role.own_records_only)),
                    ]
                ),
            )
            for role in spec.roles
        ]
    )
    imports = Imports()
    imports.add("__future__", "annotations")
    imports.add("typing", "Any")
    imports.add("crm.kit.services", "choice_lists_install", "pipelines_install")
    install_roles = [
        f"{INDENT}choice_lists_install(app_label=APP_LABEL, choice_lists=CHOICE_LISTS)",
        f"{INDENT}pipelines_install(app_label=APP_LABEL, pipelines=PIPELINES)",
    ]
    if spec.roles:
        imports.add("crm.kit.roles", "roles_install")
        install_roles.append(f"{INDENT}roles_install(app_label=APP_LABEL, roles=ROLES)")
    else:
        imports.add("crm.kit.roles", "role_groups_install")
        install_roles.append(f"{INDENT}role_groups_install(app_label=APP_LABEL)")
    data = [
        f"APP_LABEL = {py_str(context.label)}",
        "",
        "# Key → name and options (value, label, colour); editable afterwards in the admin.",
        *layout(choice_lists, "", "CHOICE_LISTS = "),
        "",
        "# Synced by key (the spec's ids) after every migrate; stages: (key, name, kind,",
        "# probability). Stages the spec no longer lists stay, after the listed ones.",
        "# Values an admin edited are kept; the others follow the spec.",
        *layout(pipelines, "", "PIPELINES = "),
    ]
    if spec.roles:
        data += [
            "",
            "# Role name → allowed actions per model, and whether it sees only its own records.",
            *layout(roles, "", "ROLES = "),
        ]
    install = [
        "def defaults_install(**kwargs: Any) -> None:",
        f'{INDENT}"""Create or refresh the choice lists, pipelines and roles of the spec."""',
        *install_roles,
    ]
    receiver = [
        "def defaults_install_after_migrate(**kwargs: Any) -> None:",
        f'{INDENT}"""``post_migrate`` receiver: install once the app\'s tables exist."""',
        f'{INDENT}migrated = kwargs.get("apps")',
        f"{INDENT}if migrated is not None and not migrated.is_installed(APP_LABEL):",
        f"{INDENT * 2}return",
        f"{INDENT}defaults_install()",
    ]
    header = docstring(
        f"Starting data of the {context.label} app: its spec's choice lists, pipelines, roles.",
        [
            "``defaults_install`` runs after every ``migrate`` (see ``apps.py``). It creates",
            "missing choice lists, options, pipelines and stages (found by their spec ids, so a",
            "renamed stage keeps its records) and refreshes the role groups. An existing row",
            "takes a value of the spec only when the spec changed it and the row still holds",
            "the value installed before: what an admin edited stays. It never deletes an",
            "option or a stage that rows may still use.",
        ],
    )
    return module(header, imports, data, install, receiver)
