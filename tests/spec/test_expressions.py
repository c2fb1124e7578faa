"""The expression language: parsing, checking, compiling to Python and running the result."""

from __future__ import annotations

import datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from factory.spec.expressions import (
    BinaryOp,
    ExpressionError,
    FieldRef,
    NumberLiteral,
    check_expression,
    compile_expression,
    expression_fields,
    expression_imports,
    parse_expression,
)
from factory.spec.models import AppSpec, EntitySpec
from factory.spec.template import template_app_spec

TODAY = datetime.date.today()

CANDIDATE = EntitySpec.model_validate(
    {
        "id": "candidate",
        "name": "Candidate",
        "label": "candidate",
        "label_plural": "candidates",
        "fields": [
            {"id": "c_salary", "name": "salary", "label": "salary", "type": "money"},
            {"id": "c_years", "name": "years", "label": "years", "type": "integer"},
            {"id": "c_billing", "name": "billing_date", "label": "billing", "type": "date"},
            {"id": "c_start", "name": "start_date", "label": "start", "type": "date"},
            {"id": "c_first", "name": "first_name", "label": "first", "type": "text"},
            {"id": "c_last", "name": "last_name", "label": "last", "type": "text"},
            {"id": "c_remote", "name": "remote", "label": "remote", "type": "boolean"},
            {
                "id": "c_level",
                "name": "level",
                "label": "level",
                "type": "choice",
                "choice_list": "industry",
            },
            {
                "id": "c_company",
                "name": "company",
                "label": "company",
                "type": "relation",
                "target": "company",
                "on_delete": "set_null",
            },
        ],
        "computed": [
            {
                "id": "c_fee",
                "name": "fee",
                "label": "fee",
                "type": "money",
                "expression": "salary * 20%",
            }
        ],
    }
)
SPEC: AppSpec = template_app_spec()


def run(text: str, *, with_types: bool = True, **values: Any) -> Any:
    """Compile ``text`` and evaluate it on a record holding ``values`` (others empty)."""
    expression = parse_expression(text)
    entity = CANDIDATE if with_types else None
    source = compile_expression(expression, entity=entity)
    namespace: dict[str, Any] = {}
    exec("\n".join(expression_imports(expression, entity=entity)), namespace)
    fields = {field.name: None for field in CANDIDATE.fields}
    fields.update(created_at=None, updated_at=None, remote=False)
    fields.update(values)
    namespace["self"] = SimpleNamespace(**fields)
    return eval(source, namespace)


def check(text: str) -> list[str]:
    return check_expression(parse_expression(text), entity=CANDIDATE, spec=SPEC)


# --- parsing ---------------------------------------------------------------------------------


def test_parse_builds_a_tree_with_precedence() -> None:
    tree = parse_expression("salary + years * 2")
    assert isinstance(tree, BinaryOp)
    assert tree.operator == "+"
    assert tree.left == FieldRef(0, "salary")
    assert isinstance(tree.right, BinaryOp)
    assert tree.right.operator == "*"


def test_percent_literal_is_a_fraction() -> None:
    assert parse_expression("20%") == NumberLiteral(0, Decimal("0.2"), False)
    assert parse_expression("100%") == NumberLiteral(0, Decimal("1"), True)


def test_expression_fields() -> None:
    assert expression_fields(parse_expression("if(remote, salary, years * 2) > 3")) == {
        "remote",
        "salary",
        "years",
    }


@pytest.mark.parametrize(
    ("text", "position", "phrase"),
    [
        ("", 0, "the expression is empty"),
        ("salary *", 8, "ends too early"),
        ("(salary", 7, "expected a closing parenthesis (opened at character 1)"),
        ("salary.real", 6, "attribute access is not part of the expression language"),
        ("__import__('os')", 0, "cannot start with _ or contain __"),
        ("salary__x", 0, "cannot start with _ or contain __"),
        ("open('x')", 0, "unknown function 'open'"),
        ("salary = 3", 7, "use == to compare"),
        ("a && b", 2, "use `and`"),
        ("2 ** 3", 2, "powers are not part of the expression language"),
        ("x[0]", 1, "indexing is not part of the expression language"),
        ("lambda", 0, "'lambda' is a reserved word"),
        ("import os", 0, "'import' is a reserved word"),
        ("'open", 0, "text is not closed"),
        ("'a\\q'", 2, "unknown escape"),
        ("30days", 2, "must be followed by an operator"),
        ("1.", 2, "decimal point must be followed by digits"),
        ("1 < 2 < 3", 6, "comparisons cannot be chained"),
        ("prénom", 2, "names use ASCII letters"),
        ("round(1, 2, 3)", 0, "round() takes 1 to 2 arguments, not 3"),
        ("today(1)", 0, "today() takes 0 arguments, not 1"),
        ("if", 0, "write if(condition"),
        ("1 2", 2, "unexpected '2'"),
        ("9" * 31, 0, "at most 30 digits"),
        ("(" * 41 + "1" + ")" * 41, 40, "nested more than 40 levels"),
        ("x" * 501, 500, "longer than 500 characters"),
        ("+".join(["1"] * 90), 0, "too many operations in a row"),
        ("and", 0, "unexpected 'and'"),
        ("$", 0, "unexpected character '$'"),
    ],
)
def test_parse_errors_say_where_and_what(text: str, position: int, phrase: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_expression(text)
    assert caught.value.position == position
    assert phrase in caught.value.message
    assert str(caught.value).endswith(f"(at character {position + 1})")


# --- checking --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "salary * 20%",
        "fee + 100",
        "today() + 30",
        "billing_date - 7",
        "billing_date - start_date",
        "days_between(created_at, today())",
        "if(remote, salary * 1.1, salary)",
        "salary > 50000 and not remote",
        "level == 'software' or level == null",
        "first_name + ' ' + last_name",
        "round(min(salary, 100000) / 12, 2)",
        "max(years, 1) * abs(-2)",
        "billing_date == null",
        "TRUE and False",
    ],
)
def test_valid_expressions_pass_the_check(text: str) -> None:
    assert check(text) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("salry * 2", "unknown field 'salry'; did you mean 'salary'? (at character 1)"),
        (
            "company",
            "'company' is a relation field, which expressions cannot read (at character 1)",
        ),
        ("owner", "the owner cannot be used in expressions (at character 1)"),
        (
            "billing_date + 'x'",
            "cannot apply + to a date and text; add or subtract a number of days to a date "
            "(at character 14)",
        ),
        ("salary * remote", "cannot apply * to a number and a true/false value (at character 8)"),
        ("first_name > 3", "cannot compare text with a number (at character 12)"),
        (
            "created_at < today()",
            "cannot compare a date and time with a date; use days_between() or compare dates "
            "with dates (at character 12)",
        ),
        ("salary < null", "only == and != can compare with null (at character 8)"),
        (
            "salary and remote",
            "each side of `and` must be a true/false value, not a number (at character 1)",
        ),
        (
            "not salary",
            "the value after `not` must be a true/false value, not a number (at character 5)",
        ),
        (
            "if(salary, 1, 2)",
            "the condition of if() must be a true/false value, not a number (at character 4)",
        ),
        (
            "if(remote, 1, 'a')",
            "both values of if() must have the same type, not a number and text (at character 1)",
        ),
        (
            "round(salary, years)",
            "round() takes a whole number of places from 0 to 10 (at character 15)",
        ),
        (
            "days_between(salary, today())",
            "each value of days_between() must be a date or a date and time, not a number "
            "(at character 14)",
        ),
        (
            "level == 'gold'",
            "'gold' is not an option of the choice list 'industry'; use one of: software, "
            "services, retail, manufacturing, health, education, other (at character 10)",
        ),
        ("remote > false", "true/false values can only be compared with == or != (at character 8)"),
    ],
)
def test_check_reports_unknown_fields_and_type_mismatches(text: str, message: str) -> None:
    assert check(text) == [message]


def test_check_compares_with_the_expected_type() -> None:
    expression = parse_expression("billing_date + 30")
    assert check_expression(expression, entity=CANDIDATE, spec=SPEC, expected="date") == []
    assert check_expression(expression, entity=CANDIDATE, spec=SPEC, expected="money") == [
        "the expression gives a date, but a money field needs a number"
    ]
    assert check_expression(expression, entity=CANDIDATE, spec=SPEC, expected="condition") == [
        "the expression gives a date, but a condition needs a true/false value"
    ]


# --- compiling -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "source", "imports"),
    [
        ("salary * 20%", '(self.salary or 0) * Decimal("0.2")', ["from decimal import Decimal"]),
        (
            "today() + 30",
            "datetime.date.today() + datetime.timedelta(days=30)",
            ["import datetime"],
        ),
        (
            "billing_date + 30",
            "expressions_runtime.add_days(self.billing_date, 30)",
            ["from crm.kit import expressions_runtime"],
        ),
        (
            "salary > 50000 and not remote",
            "(self.salary is not None and self.salary > 50000) and (not self.remote)",
            [],
        ),
        ("level == null", "self.level is None", []),
    ],
)
def test_compiled_source(text: str, source: str, imports: list[str]) -> None:
    expression = parse_expression(text)
    assert compile_expression(expression, entity=CANDIDATE) == source
    assert expression_imports(expression, entity=CANDIDATE) == imports


def test_compile_uses_the_record_name() -> None:
    expression = parse_expression("salary * 2")
    assert compile_expression(expression, record="application") == "(application.salary or 0) * 2"
    with pytest.raises(ValueError, match="record must be a Python name"):
        compile_expression(expression, record="x; import os")


def test_text_is_compiled_as_a_python_literal() -> None:
    hostile = "'\"); __import__('os').system('echo') #"
    source = compile_expression(parse_expression(repr(hostile)))
    assert source == repr(hostile)
    assert eval(source, {}) == hostile


# --- running the compiled code ----------------------------------------------------------------


@pytest.mark.parametrize("with_types", [True, False])
@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("salary * 20%", {"salary": Decimal("60000")}, Decimal("12000")),
        ("salary * 20%", {"salary": 60000}, Decimal("12000")),
        ("salary * 20%", {}, Decimal("0")),
        ("salary * 12.5%", {"salary": Decimal("1000")}, Decimal("125")),
        ("salary + years", {"years": 3}, 3),
        ("salary - 100", {"salary": Decimal("250.50")}, Decimal("150.50")),
        ("salary / 12", {"salary": Decimal("60000")}, Decimal("5000")),
        ("salary / years", {"salary": Decimal("10"), "years": 0}, None),
        ("-salary", {"salary": Decimal("5")}, Decimal("-5")),
        ("round(2.5)", {}, 3),
        ("round(salary / 3, 2)", {"salary": Decimal("10")}, Decimal("3.33")),
        ("round(0.125, 2)", {}, Decimal("0.13")),
        ("min(salary, 100) + max(years, 2)", {"salary": Decimal("150"), "years": 1}, 102),
        ("abs(years - 10)", {"years": 3}, 7),
        ("today() + 30", {}, TODAY + datetime.timedelta(days=30)),
        ("today() - 1", {}, TODAY - datetime.timedelta(days=1)),
        (
            "billing_date + 30",
            {"billing_date": datetime.date(2025, 1, 31)},
            datetime.date(2025, 3, 2),
        ),
        (
            "30 + billing_date",
            {"billing_date": datetime.date(2025, 1, 1)},
            datetime.date(2025, 1, 31),
        ),
        (
            "billing_date - 1.9",
            {"billing_date": datetime.date(2025, 1, 2)},
            datetime.date(2025, 1, 1),
        ),
        (
            "billing_date - start_date",
            {"billing_date": datetime.date(2025, 3, 1), "start_date": datetime.date(2025, 2, 1)},
            28,
        ),
        (
            "days_between(created_at, billing_date)",
            {
                "created_at": datetime.datetime(2025, 1, 1, 23, 59),
                "billing_date": datetime.date(2025, 1, 11),
            },
            10,
        ),
        ("salary > 50000", {"salary": Decimal("60000")}, True),
        ("salary > 50000", {}, False),
        ("salary < 50000", {}, False),
        ("salary == null", {}, True),
        ("salary != null", {"salary": 1}, True),
        ("billing_date < today()", {"billing_date": datetime.date(2000, 1, 1)}, True),
        ("billing_date < today()", {}, False),
        ("billing_date >= start_date", {"billing_date": datetime.date(2000, 1, 1)}, False),
        ("salary > 1 and not remote", {"salary": 2, "remote": False}, True),
        ("salary > 1 or remote", {"remote": True}, True),
        ("level == 'software'", {"level": "software"}, True),
        (
            "if(remote, salary * 110%, salary)",
            {"salary": Decimal("100"), "remote": True},
            Decimal("110"),
        ),
        ("if(remote, salary * 110%, salary)", {"salary": Decimal("100")}, Decimal("100")),
        ("if(salary > 0, salary, null)", {}, None),
        (
            "first_name + ' ' + last_name",
            {"first_name": "Ada", "last_name": "Lovelace"},
            "Ada Lovelace",
        ),
        ("first_name + ' ' + last_name", {"last_name": "Lovelace"}, " Lovelace"),
        ("fee * 2", {"fee": Decimal("12000")}, Decimal("24000")),
        ("'l\\'été\\n'", {}, "l'été\n"),
        ("TRUE and not FALSE", {}, True),
    ],
)
def test_compiled_code_computes_exact_values(
    text: str, values: dict[str, Any], expected: Any, with_types: bool
) -> None:
    result = run(text, with_types=with_types, **values)
    assert result == expected
    assert not isinstance(result, float)


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("billing_date + 30", {}),
        ("billing_date - start_date", {"billing_date": datetime.date(2025, 3, 1)}),
    ],
)
def test_empty_dates_stay_empty_when_the_entity_is_known(text: str, values: dict) -> None:
    # Without the entity the compiler cannot know an empty value is a date: the compiler of
    # apps always passes it.
    assert run(text, with_types=True, **values) is None
