"""Field names must never shadow a name generated code reads inside a class body.

A field called ``property`` once broke a model's ``@property`` computed field. This test
derives, from real compiled apps, every name a class body reads and checks that the spec
validator reserves each lower-case one (class names are PascalCase and cannot collide).
"""

from __future__ import annotations

import ast

from factory.compiler import compile_app_spec
from factory.spec.reserved import GENERATED_CODE_NAMES
from factory.spec.template import template_app_spec
from factory.spec.validation import validate_app_spec
from tests.compiler.specs import recruiting_spec


def class_body_names(source: str) -> set[str]:
    """Names read at class-body level: decorators and field definitions, not method bodies."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ClassDef):
            continue
        for statement in node.body:
            if isinstance(statement, ast.FunctionDef):
                roots = statement.decorator_list
            elif isinstance(statement, ast.ClassDef):
                roots = []
            else:
                roots = [statement]
            for root in roots:
                lambda_params = {
                    arg.arg
                    for inner in ast.walk(root)
                    if isinstance(inner, ast.Lambda)
                    for arg in inner.args.args
                }
                names |= {
                    inner.id
                    for inner in ast.walk(root)
                    if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Load)
                } - lambda_params
    return names


def test_every_lower_case_name_read_in_a_class_body_is_reserved():
    read = set()
    for spec in (template_app_spec(), recruiting_spec()):
        for path, source in compile_app_spec(spec=spec, app_label="t_check").items():
            if path.endswith(".py"):
                read |= class_body_names(source)

    lower_case = {name for name in read if name[0].islower()}

    assert "property" in lower_case  # the recruiting spec has computed fields
    assert lower_case - GENERATED_CODE_NAMES == set()


def test_a_field_named_property_is_refused_with_its_place():
    spec = recruiting_spec()
    entity = spec.entities[0]
    field = entity.fields[-1]
    field.name = "property"

    problems = validate_app_spec(spec)
    name_path = f"entities[{entity.id}].fields[{field.id}].name"

    assert [problem.path for problem in problems if problem.path == name_path] == [name_path]
    assert "property" in next(p.message for p in problems if p.path == name_path)
