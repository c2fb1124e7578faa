"""The sandbox itself: failures are reported, not raised, and its settings mirror the project's.

Small hand-written apps keep these runs short; the compiled apps' checks are in
``test_template_app.py`` and ``test_recruiting_app.py``.
"""

from __future__ import annotations

import importlib.util

import pytest
from django.conf import settings

from factory.sandbox import SandboxError, sandbox_check_app, sandbox_run_manage
from factory.sandbox.runner import SCRATCH_SIDE_DIR

APP_CONFIG = (
    "from django.apps import AppConfig\n\n\n"
    "class SmallConfig(AppConfig):\n"
    '    name = "t_small"\n'
    '    default_auto_field = "django.db.models.BigAutoField"\n'
)
MODELS = (
    "from django.db import models\n\n\n"
    "class Thing(models.Model):\n"
    "    name = models.CharField(max_length=20)\n"
)
OLD_MIGRATION = (
    "from django.db import migrations, models\n\n\n"
    "class Migration(migrations.Migration):\n"
    "    initial = True\n"
    "    dependencies = []\n"
    "    operations = [\n"
    "        migrations.CreateModel(\n"
    '            name="Thing",\n'
    '            fields=[("id", models.BigAutoField(primary_key=True, serialize=False))],\n'
    "        ),\n"
    "    ]\n"
)


def small_app(folder, models=MODELS):
    app = folder / "t_small"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "apps.py").write_text(APP_CONFIG)
    (app / "models.py").write_text(models)
    (app / "urls.py").write_text("urlpatterns = []\n")
    return app


def test_an_app_that_does_not_import_fails_at_the_import_step(tmp_path):
    app = small_app(tmp_path, models="from django.db import models\n\nraise RuntimeError('boom')\n")

    report = sandbox_check_app(app_dir=app, app_label="t_small")

    assert not report.ok
    assert [(step.name, step.ok) for step in report.steps] == [("import", False)]
    assert "RuntimeError: boom" in report.step("import").output
    assert "  - migrate          not run" in report.as_text()
    assert report.migrations == {}


def test_an_app_whose_migrations_are_behind_fails_without_making_one(tmp_path):
    """An evolving app's migrations are made by the questioner, never by --noinput here."""
    app = small_app(tmp_path)
    (app / "migrations").mkdir()
    (app / "migrations" / "__init__.py").write_text("")
    (app / "migrations" / "0001_initial.py").write_text(OLD_MIGRATION)

    report = sandbox_check_app(app_dir=app, app_label="t_small", run_tests=False)

    assert [(step.name, step.ok) for step in report.steps] == [
        ("import", True),
        ("check", True),
        ("makemigrations", False),
    ]
    assert report.migrations == {}
    assert sorted(path.name for path in (app / "migrations").iterdir()) == [
        "0001_initial.py",
        "__init__.py",
    ]


def test_run_manage_works_on_the_given_folder_and_reports_the_process(tmp_path):
    app = small_app(tmp_path)

    made = sandbox_run_manage(apps={"t_small": app}, args=["makemigrations", "t_small"])
    broken = sandbox_run_manage(apps={"t_small": app}, args=["no_such_command"])

    assert made.returncode == 0, made.stderr
    assert (app / "migrations" / "0001_initial.py").exists()
    assert broken.returncode == 1
    assert "Unknown command: 'no_such_command'" in broken.stderr


def test_a_label_that_is_no_package_name_is_refused_before_any_process(tmp_path):
    app = small_app(tmp_path)

    with pytest.raises(SandboxError, match="lower-case letters"):
        sandbox_check_app(app_dir=app, app_label="T-small")
    with pytest.raises(SandboxError, match="not a Python package"):
        sandbox_check_app(app_dir=tmp_path, app_label="t_other")


def test_the_scratch_settings_mirror_the_project_settings(tmp_path, monkeypatch):
    """The scratch project cannot import config.settings (see sandbox_settings); this keeps
    the knobs generated code depends on in step with it."""
    monkeypatch.setenv("FACTORY_SANDBOX_DIR", str(tmp_path))
    monkeypatch.setenv("FACTORY_SANDBOX_APPS", "t_one,t_two")
    spec = importlib.util.spec_from_file_location(
        "sandbox_settings_under_test", SCRATCH_SIDE_DIR / "sandbox_settings.py"
    )
    scratch = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scratch)

    authentication = "DEFAULT_AUTHENTICATION_CLASSES"
    assert {k: v for k, v in scratch.REST_FRAMEWORK.items() if k != authentication} == {
        k: v for k, v in settings.REST_FRAMEWORK.items() if k != authentication
    }
    assert [
        name
        for name in settings.REST_FRAMEWORK[authentication]
        if not name.startswith("factory.") and name not in scratch.REST_FRAMEWORK[authentication]
    ] == []
    assert scratch.TEMPLATES == settings.TEMPLATES
    assert scratch.AUTH_PASSWORD_VALIDATORS == settings.AUTH_PASSWORD_VALIDATORS
    assert scratch.CRM_DEFAULT_CURRENCY == settings.CRM_DEFAULT_CURRENCY
    assert [
        item for item in settings.MIDDLEWARE if not item.startswith(("factory.", "whitenoise."))
    ] == scratch.MIDDLEWARE
    project_apps = [app for app in settings.INSTALLED_APPS if not app.startswith("factory")]
    assert [app for app in project_apps if app not in scratch.INSTALLED_APPS] == [
        "drf_spectacular_sidecar"
    ]
    assert scratch.INSTALLED_APPS[-2:] == ["t_one", "t_two"]
