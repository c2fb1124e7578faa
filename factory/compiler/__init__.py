"""The compiler: an app spec and an app label become a Django app package, as text.

``compile_app_spec`` validates the spec (``SpecInvalid`` lists every problem) and renders
each module of the package: models on the crm kit, admin, REST API, app config, starting
data, automations, sample-data factories and the app's own tests. The result depends only
on the spec and the label (same input, byte-identical files), is formatted as ``ruff
format`` leaves it, and every text a user wrote (labels, help texts, choice labels,
titles) is a Python literal, never code. ``write_app_package`` puts the files on disk.

The compiler never imports the code it renders, never runs Django commands (the sandbox
does, in another process) and never makes migrations (Django's autodetector does).

The package is named after the app label and imports itself relatively, so it works
from any folder on ``sys.path`` (the tenant runtime maps each label to its release
folder). Its modules: ``models.py`` (the app's own kit tables, then one model per entity),
``admin.py`` (a ``CRMAdminSite`` named after the label), ``api/`` (serializers, filters,
views, ``urls.py`` with the namespace ``<label>_api``), ``urls.py`` (API under ``api/``,
the admin site at the root), ``apps.py``, ``defaults.py`` (choice lists, pipelines and
roles, installed by a ``post_migrate`` receiver after every ``migrate``, so no data
migration is needed and a spec change reaches the rows on the next deploy),
``automations.py`` (called from the models' ``save()`` so set fields join
``update_fields``), ``factories.py`` (factory-boy; the only module importing it) and
``tests/test_generated.py`` (Django ``TestCase``s). Templates of the fixed parts are in
``templates/``.
"""

from __future__ import annotations

from factory.compiler.context import AppContext, CompileError
from factory.compiler.package import AppLabelInvalid, validate_app_label, write_app_package
from factory.compiler.render_admin import render_admin
from factory.compiler.render_api import render_api
from factory.compiler.render_automations import render_automations
from factory.compiler.render_defaults import render_apps, render_defaults, render_template
from factory.compiler.render_factories import render_factories
from factory.compiler.render_models import render_models
from factory.compiler.render_tests import render_tests
from factory.spec.models import AppSpec
from factory.spec.validation import SpecInvalid, validate_app_spec

GENERATED_TESTS_MODULE = "tests/test_generated.py"

__all__ = [
    "GENERATED_TESTS_MODULE",
    "AppLabelInvalid",
    "CompileError",
    "SpecInvalid",
    "compile_app_spec",
    "generated_test_count",
    "validate_app_label",
    "write_app_package",
]


def compile_app_spec(*, spec: AppSpec, app_label: str) -> dict[str, str]:
    """The files of the app package ``app_label`` (relative path → text), sorted by path.

    Raises ``AppLabelInvalid`` for a bad label, ``SpecInvalid`` for an invalid spec and
    ``CompileError`` for the rare valid spec that still cannot become an app.
    """
    validate_app_label(app_label)
    problems = validate_app_spec(spec)
    if problems:
        raise SpecInvalid(problems)
    context = AppContext(spec=spec, label=app_label)
    files = {
        "__init__.py": render_template("package_init.py.tmpl", label=app_label),
        "apps.py": render_apps(context),
        "models.py": render_models(context),
        "admin.py": render_admin(context),
        "urls.py": render_template("urls.py.tmpl", label=app_label),
        "defaults.py": render_defaults(context),
        "factories.py": render_factories(context),
        "api/__init__.py": render_template("api_init.py.tmpl", label=app_label),
        **render_api(context),
        "tests/__init__.py": render_template("tests_init.py.tmpl", label=app_label),
        GENERATED_TESTS_MODULE: render_tests(context)[0],
    }
    automations = render_automations(context)
    if automations is not None:
        files["automations.py"] = automations
    return dict(sorted(files.items()))


def generated_test_count(*, spec: AppSpec, app_label: str) -> int:
    """How many tests ``tests/test_generated.py`` of the compiled spec defines."""
    return render_tests(AppContext(spec=spec, label=app_label))[1]
