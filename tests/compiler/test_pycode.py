"""Literals and layout of the compiler's Python source building blocks."""

from __future__ import annotations

import ast
import subprocess
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from factory.compiler.pycode import Call, Imports, Seq, layout, lit, py_literal, py_str, raw
from tests.compiler.conftest import ruff_executable
from tests.compiler.specs import HOSTILE


def ruff_formats_unchanged(source: str) -> bool:
    process = subprocess.run(
        [ruff_executable(), "format", "--line-length", "100", "-"],
        input=source,
        capture_output=True,
        text=True,
        check=True,
    )
    return process.stdout == source


@pytest.mark.parametrize("text", [*HOSTILE, "", "'", '"', "\\", "\x00\x1b", "\r\n"])
def test_py_str_is_a_literal_of_the_same_text(text):
    source = py_str(text)

    assert ast.literal_eval(source) == text
    assert isinstance(ast.parse(source, mode="eval").body, ast.Constant)


def assignments(texts: list[str]) -> str:
    lines = []
    for index, text in enumerate(texts):
        lines += layout(lit(text), "", f"x{index} = ")
    return "\n".join(lines) + "\n"


def test_py_str_quotes_as_ruff_does():
    assert ruff_formats_unchanged(assignments(HOSTILE))


# Assigned characters only: ruff's and Python's Unicode tables may disagree on the width of
# code points one of them does not know yet.
KNOWN_CHARACTERS = st.characters(exclude_categories=("Cn", "Co", "Cs"))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(KNOWN_CHARACTERS, max_size=60), min_size=1, max_size=8))
def test_any_text_becomes_one_constant_that_ruff_keeps(texts):
    source = assignments(texts)
    tree = ast.parse(source)

    assert [ast.literal_eval(node.value) for node in tree.body] == texts
    assert ruff_formats_unchanged(source)


def test_py_literal_writes_decimals_and_refuses_the_unwritable():
    assert py_literal(Decimal("12.50")) == 'Decimal("12.50")'
    assert py_literal([1, "a", None]) == '[1, "a", None]'
    with pytest.raises(ValueError, match="cannot be written"):
        py_literal(float("nan"))
    with pytest.raises(TypeError, match="No literal"):
        py_literal(object())


def test_layout_keeps_short_calls_on_one_line_and_explodes_long_ones():
    short = Call("models.CharField", [lit("name")], [("max_length", lit(200))])
    long = Call("models.CharField", [lit("n" * 80)], [("help_text", lit("h" * 120))])

    assert layout(short, "    ", "name = ") == [
        '    name = models.CharField("name", max_length=200)'
    ]
    assert layout(long, "    ", "name = ") == [
        "    name = models.CharField(",
        f'        "{"n" * 80}",',
        f'        help_text="{"h" * 120}",',
        "    )",
    ]
    source = "class A:\n" + "\n".join(layout(long, "    ", "name = ")) + "\n"
    assert ruff_formats_unchanged(source)


def test_layout_parenthesises_a_long_atom_after_an_assignment_like_ruff():
    atom = lit("a" * 90)
    lines = layout(atom, "    ", "verbose_name = ")

    assert lines == ["    verbose_name = (", f'        "{"a" * 90}"', "    )"]
    assert ruff_formats_unchanged("class A:\n" + "\n".join(lines) + "\n")


def test_imports_are_written_in_isort_order():
    imports = Imports()
    imports.add("__future__", "annotations")
    imports.add("crm.kit.models", "Record", "AbstractNote")
    imports.add("django.db", "models")
    imports.add("datetime")
    imports.add("decimal", "Decimal")
    imports.add(".", "models")
    imports.add("..", "factories")

    assert imports.lines() == [
        "from __future__ import annotations",
        "",
        "import datetime",
        "from decimal import Decimal",
        "",
        "from django.db import models",
        "",
        "from crm.kit.models import AbstractNote, Record",
        "",
        "from .. import factories",
        "from . import models",
    ]


def test_seq_of_one_item_is_a_tuple():
    assert Seq([raw("a")], kind="tuple").flat() == "(a,)"
