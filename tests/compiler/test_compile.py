"""The compiler without running its output: files, determinism, format, imports, literals."""

from __future__ import annotations

import ast
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tokenize
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from factory.compiler import (
    AppLabelInvalid,
    CompileError,
    SpecInvalid,
    compile_app_spec,
    generated_test_count,
    write_app_package,
)
from factory.compiler.context import AppContext
from factory.spec.models import AppSpec
from factory.spec.template import template_app_spec
from tests.compiler.conftest import ruff_format_check
from tests.compiler.specs import HOSTILE, recruiting_data, recruiting_spec

ALLOWED_ROOTS = {"__future__", "django", "rest_framework", "django_filters", "crm"}
TEMPLATE_FILES = [
    "__init__.py",
    "admin.py",
    "api/__init__.py",
    "api/filters.py",
    "api/serializers.py",
    "api/urls.py",
    "api/views.py",
    "apps.py",
    "defaults.py",
    "factories.py",
    "models.py",
    "tests/__init__.py",
    "tests/test_generated.py",
    "urls.py",
]


@pytest.fixture(scope="module")
def template_files():
    return compile_app_spec(spec=template_app_spec(), app_label="t_template")


@pytest.fixture(scope="module")
def recruiting_files():
    return compile_app_spec(spec=recruiting_spec(), app_label="t_recruit")


def test_the_template_compiles_to_a_full_app_package(template_files):
    assert list(template_files) == TEMPLATE_FILES
    assert "automations.py" not in template_files


def test_automations_get_their_module_only_when_the_spec_has_some(recruiting_files):
    assert sorted(recruiting_files) == sorted([*TEMPLATE_FILES, "automations.py"])


def test_the_same_spec_gives_byte_identical_files(template_files):
    again = compile_app_spec(spec=template_app_spec(), app_label="t_template")

    assert again == template_files


DIGEST_SCRIPT = """
import hashlib, json
from factory.compiler import compile_app_spec
from tests.compiler.specs import recruiting_spec
files = compile_app_spec(spec=recruiting_spec(), app_label="t_recruit")
print(hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest())
"""


def test_the_output_does_not_depend_on_the_process(recruiting_files):
    """String hashing is randomised per process (here, not there): no set decides an order."""
    expected = hashlib.sha256(json.dumps(recruiting_files, sort_keys=True).encode()).hexdigest()

    process = subprocess.run(
        [sys.executable, "-c", DIGEST_SCRIPT],
        cwd=settings.BASE_DIR,
        env={**os.environ, "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        check=True,
    )

    assert process.stdout.strip() == expected


@pytest.mark.parametrize("fixture", ["template_files", "recruiting_files"])
def test_the_output_is_formatted_as_ruff_formats_it(fixture, request, tmp_path):
    files = request.getfixturevalue(fixture)
    write_app_package(files=files, out_dir=tmp_path / "app")

    process = ruff_format_check(tmp_path / "app")

    assert process.returncode == 0, process.stdout + process.stderr


def imported_roots(tree: ast.Module) -> set[str]:
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            roots.add((node.module or "").split(".")[0])
    return roots


@pytest.mark.parametrize("fixture", ["template_files", "recruiting_files"])
def test_generated_code_imports_only_django_drf_the_stdlib_and_the_kit(fixture, request):
    files = request.getfixturevalue(fixture)
    for path, text in files.items():
        tree = ast.parse(text, filename=path)
        outside = {
            root
            for root in imported_roots(tree)
            if root not in ALLOWED_ROOTS and root not in sys.stdlib_module_names
        }
        assert outside == set(), path
        crm_modules = {
            node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("crm")
        }
        assert all(module.startswith("crm.kit") for module in crm_modules), path
        # factory-boy only through the kit's loader (``factory`` is the project's package),
        # and only in the sample-data factories.
        assert "factory" not in imported_roots(tree), path
        if "crm.kit.factory_boy" in crm_modules:
            assert path == "factories.py"


def string_constants(files: dict[str, str]) -> set[str]:
    return {
        node.value
        for text in files.values()
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


def test_every_hostile_string_is_a_literal_of_itself(recruiting_files):
    constants = string_constants(recruiting_files)
    unmatched = [text for text in HOSTILE if text not in constants]

    assert unmatched == []
    # Code in a label stays a string: the only imports are the generated ones.
    for path, text in recruiting_files.items():
        assert "os" not in imported_roots(ast.parse(text)), path


def test_user_text_never_lands_in_comments_or_docstrings(recruiting_files):
    for path, text in recruiting_files.items():
        tree = ast.parse(text)
        docstrings = [
            ast.get_docstring(node) or ""
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
        ]
        # Every comment, trailing ones included: a label after code on a line is a comment too.
        comments = [
            token.string
            for token in tokenize.generate_tokens(io.StringIO(text).readline)
            if token.type == tokenize.COMMENT
        ]
        for fragment in ("quoted", "braces", "import os", "single"):
            assert not any(fragment in doc for doc in docstrings), (path, fragment)
            assert not any(fragment in comment for comment in comments), (path, fragment)


def test_the_generated_test_count_matches_the_module(template_files):
    text = template_files["tests/test_generated.py"]
    defined = [
        node.name
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    ]

    assert generated_test_count(spec=template_app_spec(), app_label="t_template") == len(defined)
    assert len(defined) == 32


INVALID_RECRUITING_PATHS = [
    "entities[client].fields[client_name].name",
    "entities[client].display[0]",
    "entities[client].admin.list_display[0]",
    "entities[client].admin.search_fields[0]",
    "entities[client].api.search_fields[0]",
    "entities[client].api.ordering_fields[0]",
]


def test_an_invalid_spec_is_refused_with_every_problem_and_no_code():
    data = recruiting_data()
    data["entities"][0]["fields"][0]["name"] = "class"
    data["entities"][2]["fields"][1]["target"] = "nowhere"

    with pytest.raises(SpecInvalid) as refused:
        compile_app_spec(spec=AppSpec.model_validate(data), app_label="t_recruit")

    # The renamed field also leaves the lists that named it pointing at nothing.
    assert [problem.path for problem in refused.value.problems] == [
        *INVALID_RECRUITING_PATHS,
        "entities[opening].fields[opening_client].target",
    ]


LABEL_SHAPE = (
    "must be lower-case letters, digits and _ (at most 40, starting with a letter, not a "
    "Python keyword), e.g. acme_crm."
)
MODULE_NAME = "is already the name of a module the project uses; choose another label, e.g."


@pytest.mark.parametrize(
    ("label", "message"),
    [
        ("Acme", f"The app label 'Acme' {LABEL_SHAPE}"),
        ("class", f"The app label 'class' {LABEL_SHAPE}"),
        ("sandbox_x", "The app label 'sandbox_x' must not start with 'sandbox_'; e.g. acme_crm."),
        ("crm", f"The app label 'crm' {MODULE_NAME} crm_crm."),
        ("json", f"The app label 'json' {MODULE_NAME} json_crm."),
        ("django", f"The app label 'django' {MODULE_NAME} django_crm."),
    ],
)
def test_an_app_label_that_would_break_imports_is_refused(label, message):
    with pytest.raises(AppLabelInvalid) as refused:
        compile_app_spec(spec=template_app_spec(), app_label=label)

    assert str(refused.value) == message


def test_a_required_relation_cycle_is_refused_by_validation_before_the_compiler():
    data = recruiting_data()
    client = data["entities"][0]
    client["fields"].append(
        {
            "id": "client_main_opening",
            "name": "main_opening",
            "label": "main opening",
            "type": "relation",
            "target": "opening",
            "required": True,
            "on_delete": "protect",
            "related_name": "main_of",
        }
    )
    spec = AppSpec.model_validate(data)

    with pytest.raises(SpecInvalid) as refused:
        compile_app_spec(spec=spec, app_label="t_recruit")

    assert [str(problem) for problem in refused.value.problems] == [
        "entities[client].fields[client_main_opening].required: the required relations"
        " Client.main_opening → Opening.client → Client form a cycle, so no record of them"
        " could ever be created first; make one of these relations optional (required: false)."
    ]
    # The compiler's own ordering still refuses the same spec, should validation let it by.
    with pytest.raises(CompileError, match="client → opening → client form a cycle"):
        AppContext(spec=spec, label="t_recruit").creation_order  # noqa: B018


# --- write_app_package ---------------------------------------------------------------------


def tree(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): path.read_text()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_writing_replaces_the_previous_version_and_keeps_migrations(tmp_path):
    out = tmp_path / "apps" / "t_app"
    write_app_package(files={"__init__.py": "", "old.py": "x = 1\n"}, out_dir=out)
    (out / "migrations").mkdir()
    (out / "migrations" / "0001_initial.py").write_text("# made by Django\n")

    write_app_package(files={"__init__.py": "", "models.py": "y = 2\n"}, out_dir=out)

    assert tree(out) == {
        "__init__.py": "",
        "migrations/0001_initial.py": "# made by Django\n",
        "models.py": "y = 2\n",
    }
    assert sorted(path.name for path in out.parent.iterdir()) == ["t_app"]


def test_writing_without_keeping_migrations_leaves_exactly_the_files(tmp_path):
    out = tmp_path / "t_app"
    write_app_package(files={"migrations/0001_initial.py": "a\n"}, out_dir=out)

    write_app_package(files={"__init__.py": ""}, out_dir=out, keep_migrations=False)

    assert tree(out) == {"__init__.py": ""}


@pytest.mark.parametrize("path", ["../escape.py", "/etc/passwd", "a/../../b.py"])
def test_writing_outside_the_package_is_refused_and_writes_nothing(tmp_path, path):
    with pytest.raises(ValueError, match="outside the app package"):
        write_app_package(files={"__init__.py": "", path: "x"}, out_dir=tmp_path / "t_app")

    assert list(tmp_path.iterdir()) == []


# --- the command ----------------------------------------------------------------------------


def test_compile_command_writes_the_package(tmp_path):
    spec_file = tmp_path / "crm.yaml"
    call_command("factory", "spec", "export-template", "--out", str(spec_file), stdout=StringIO())
    stdout = StringIO()

    call_command(
        "factory",
        "compile",
        str(spec_file),
        "--label",
        "t_cli",
        "--out",
        str(tmp_path / "apps"),
        stdout=stdout,
    )

    expected = compile_app_spec(spec=template_app_spec(), app_label="t_cli")
    assert tree(tmp_path / "apps" / "t_cli") == expected
    assert re.fullmatch(
        rf"Compiled {re.escape(str(spec_file))} into {re.escape(str(tmp_path / 'apps' / 't_cli'))}"
        r" \(14 files\) in \d+\.\d\d s\.\n",
        stdout.getvalue(),
    ), stdout.getvalue()


def test_compile_command_refuses_an_invalid_spec_and_writes_nothing(tmp_path):
    spec_file = tmp_path / "bad.json"
    data = recruiting_data()
    data["entities"][0]["fields"][0]["name"] = "class"
    spec_file.write_text(json.dumps(data))
    stderr = StringIO()

    with pytest.raises(SystemExit) as exit_:
        call_command(
            "factory",
            "compile",
            str(spec_file),
            "--label",
            "t_bad",
            "--out",
            str(tmp_path / "apps"),
            stderr=stderr,
        )

    assert exit_.value.code == 1
    lines = stderr.getvalue().splitlines()
    assert lines[0] == f"{spec_file}: 6 problems; nothing was written."
    assert [line.removeprefix("- ").split(": ", 1)[0] for line in lines[1:]] == (
        INVALID_RECRUITING_PATHS
    )
    assert not (tmp_path / "apps").exists()


def test_compile_command_check_prints_the_report_and_fails_with_it(tmp_path, monkeypatch):
    from factory.cli import compile as compile_cli
    from factory.sandbox import CheckReport, CheckStep

    def failing_check(**kwargs):
        return CheckReport(
            app_label=kwargs["app_label"],
            database="SQLite",
            steps=[
                CheckStep("import", True, 0.5),
                CheckStep("check", False, 0.25, "SystemCheckError: admin.E108"),
            ],
        )

    monkeypatch.setattr(compile_cli, "sandbox_check_app", failing_check)
    spec_file = tmp_path / "crm.yaml"
    call_command("factory", "spec", "export-template", "--out", str(spec_file), stdout=StringIO())
    stdout = StringIO()

    with pytest.raises(SystemExit) as exit_:
        call_command(
            "factory",
            "compile",
            str(spec_file),
            "--label",
            "t_cli",
            "--out",
            str(tmp_path / "apps"),
            "--check",
            stdout=stdout,
        )

    assert exit_.value.code == 1
    report = stdout.getvalue()
    assert "Sandbox check of app t_cli on SQLite: FAILED" in report
    assert "  ✓ import           0.50 s" in report
    assert "  ✗ check            0.25 s" in report
    assert "      SystemCheckError: admin.E108" in report
    assert "  - makemigrations   not run" in report
