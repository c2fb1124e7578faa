"""The spec's small, safe expression language: parse, check and compile to plain Python.

Computed fields and automations are written in a tiny language: numbers (``20%`` means
0.2), strings, ``true``/``false``/``null``, ``+ - * /``, comparisons, ``and``/``or``/``not``,
parentheses, field names, and the functions ``today``, ``min``, ``max``, ``abs``, ``round``,
``days_between`` and ``if``. A date plus a number moves it by days. Text is read by our own
tokenizer and recursive-descent parser; Python's ``eval``/``ast`` never see user text.
There is no attribute access, indexing, import or call outside the list, so the compiled
code can only read the record's own fields. Compiled code uses the standard library
(``datetime``, ``decimal``) and, where plain operators would crash on empty values, the
helpers of ``crm.kit.expressions_runtime``.

Semantics of empty values: in arithmetic an empty number counts as 0; a comparison with an
empty value is false; adding days to an empty date gives an empty date; dividing by zero
gives an empty result.
"""

from __future__ import annotations

import difflib
import keyword
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from factory.spec.models import AppSpec, EntitySpec

MAX_EXPRESSION_LENGTH = 500
MAX_DEPTH = 40
MAX_NUMBER_DIGITS = 30
# today() ± this many days or fewer compiles to plain datetime code (it cannot overflow).
MAX_PLAIN_DAYS = 36_500

# Types of values in the language.
NUMBER = "number"
TEXT = "text"
BOOLEAN = "boolean"
DATE = "date"
DATETIME = "datetime"
NULL = "null"
ANY = "any"  # unknown (no entity given, or after an error)

# name → (fewest arguments, most arguments)
FUNCTIONS: dict[str, tuple[int, int]] = {
    "today": (0, 0),
    "min": (2, 10),
    "max": (2, 10),
    "abs": (1, 1),
    "round": (1, 2),
    "days_between": (2, 2),
    "if": (3, 3),
}
KEYWORDS = frozenset({"and", "or", "not", "true", "false", "null", "none"})
COMPARISON_OPERATORS = ("==", "!=", "<=", ">=", "<", ">")
RUNTIME_MODULE = "crm.kit.expressions_runtime"
RUNTIME_NAME = "expressions_runtime"


class ExpressionError(ValueError):
    """Text that is not a valid expression; ``position`` is the 0-based character index."""

    def __init__(self, message: str, position: int) -> None:
        self.message = message
        self.position = position
        super().__init__(f"{message} (at character {position + 1})")


# --- syntax tree ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Expression:
    position: int


@dataclass(frozen=True)
class NumberLiteral(Expression):
    value: Decimal
    integral: bool


@dataclass(frozen=True)
class TextLiteral(Expression):
    value: str


@dataclass(frozen=True)
class BooleanLiteral(Expression):
    value: bool


@dataclass(frozen=True)
class NullLiteral(Expression):
    pass


@dataclass(frozen=True)
class FieldRef(Expression):
    name: str


@dataclass(frozen=True)
class UnaryOp(Expression):
    operator: str  # "-" or "not"
    operand: Expression


@dataclass(frozen=True)
class BinaryOp(Expression):
    operator: str  # + - * / == != < <= > >= and or
    left: Expression
    right: Expression


@dataclass(frozen=True)
class Call(Expression):
    function: str
    arguments: tuple[Expression, ...]


def _children(node: Expression) -> tuple[Expression, ...]:
    if isinstance(node, UnaryOp):
        return (node.operand,)
    if isinstance(node, BinaryOp):
        return (node.left, node.right)
    if isinstance(node, Call):
        return node.arguments
    return ()


# --- tokenizer -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # number, percent, string, name, op, (, ), ",", end
    text: str
    position: int
    value: object = None


_TWO_CHAR_OPERATORS = {"==", "!=", "<=", ">="}
_ONE_CHAR_OPERATORS = set("+-*/<>")
_MISUSED = {
    "=": "use == to compare two values",
    "&": "use `and` to combine conditions",
    "|": "use `or` to combine conditions",
    "!": "use `not` or != instead",
    ".": "attribute access is not part of the expression language; use field names only",
    "[": "indexing is not part of the expression language",
    "]": "indexing is not part of the expression language",
    "{": "braces are not part of the expression language",
    "}": "braces are not part of the expression language",
    "%": "% only follows a number: 20% means 0.2",
    "^": "powers are not part of the expression language",
}
_ESCAPES = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "t": "\t"}


def _is_name_start(char: str) -> bool:
    return char.isascii() and (char.isalpha() or char == "_")


def _is_name_char(char: str) -> bool:
    return char.isascii() and (char.isalnum() or char == "_")


class _Tokenizer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.index = 0

    def tokens(self) -> list[_Token]:
        result = []
        while True:
            token = self._next()
            result.append(token)
            if token.kind == "end":
                return result

    def _next(self) -> _Token:
        text = self.text
        while self.index < len(text) and text[self.index] in " \t\r\n":
            self.index += 1
        start = self.index
        if start >= len(text):
            return _Token("end", "", start)
        char = text[start]
        if char.isascii() and char.isdigit():
            return self._number()
        if char in "\"'":
            return self._string()
        if _is_name_start(char):
            return self._name()
        pair = text[start : start + 2]
        if pair in _TWO_CHAR_OPERATORS:
            self.index += 2
            return _Token("op", pair, start)
        if pair in {"**", "&&", "||"}:
            hint = _MISUSED["^" if pair == "**" else pair[0]]
            raise ExpressionError(f"{pair!r} is not an operator here; {hint}", start)
        if char in _ONE_CHAR_OPERATORS:
            self.index += 1
            return _Token("op", char, start)
        if char in "(),":
            self.index += 1
            return _Token(char, char, start)
        if char in _MISUSED:
            raise ExpressionError(f"{char!r}: {_MISUSED[char]}", start)
        if not char.isascii():
            raise ExpressionError(
                f"unexpected character {char!r}: names use ASCII letters, digits and _",
                start,
            )
        raise ExpressionError(f"unexpected character {char!r}", start)

    def _number(self) -> _Token:
        text, start = self.text, self.index
        end = start
        while end < len(text) and text[end].isascii() and text[end].isdigit():
            end += 1
        if end < len(text) and text[end] == ".":
            end += 1
            if not (end < len(text) and text[end].isascii() and text[end].isdigit()):
                raise ExpressionError("a decimal point must be followed by digits", end)
            while end < len(text) and text[end].isascii() and text[end].isdigit():
                end += 1
        literal = text[start:end]
        if len(literal.replace(".", "")) > MAX_NUMBER_DIGITS:
            raise ExpressionError(f"numbers have at most {MAX_NUMBER_DIGITS} digits", start)
        kind = "number"
        if end < len(text) and text[end] == "%":
            kind = "percent"
            end += 1
        if end < len(text) and (_is_name_char(text[end]) or text[end] == "."):
            raise ExpressionError(
                "a number must be followed by an operator or a space, not a letter or a dot",
                end,
            )
        self.index = end
        return _Token(kind, text[start:end], start, Decimal(literal))

    def _string(self) -> _Token:
        text, start = self.text, self.index
        quote = text[start]
        chars: list[str] = []
        index = start + 1
        while index < len(text):
            char = text[index]
            if char == quote:
                self.index = index + 1
                return _Token("string", text[start : index + 1], start, "".join(chars))
            if char == "\\":
                escaped = text[index + 1 : index + 2]
                if escaped not in _ESCAPES:
                    raise ExpressionError(
                        "unknown escape in text; use \\\\, \\\", \\', \\n or \\t", index
                    )
                chars.append(_ESCAPES[escaped])
                index += 2
                continue
            chars.append(char)
            index += 1
        raise ExpressionError(f"text is not closed; add the closing {quote}", start)

    def _name(self) -> _Token:
        text, start = self.text, self.index
        end = start
        while end < len(text) and _is_name_char(text[end]):
            end += 1
        name = text[start:end]
        self.index = end
        if name.startswith("_") or "__" in name:
            raise ExpressionError(
                f"{name!r}: names cannot start with _ or contain __; use a field name", start
            )
        lowered = name.lower()
        if lowered in KEYWORDS:
            return _Token("name", lowered, start, "keyword")
        if keyword.iskeyword(name) and name != "if":
            raise ExpressionError(f"{name!r} is a reserved word, not a field name", start)
        return _Token("name", name, start)


# --- parser --------------------------------------------------------------------------------


class _Parser:
    """Recursive descent; precedence from loose to tight: or, and, not, comparison, + -,
    * /, unary minus, primary."""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.index = 0
        self.depth = 0

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def _advance(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def _is_keyword(self, word: str) -> bool:
        token = self.current
        return token.kind == "name" and token.value == "keyword" and token.text == word

    def _nest(self, position: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(
                f"the expression is nested more than {MAX_DEPTH} levels deep; simplify it",
                position,
            )

    def parse(self) -> Expression:
        if self.current.kind == "end":
            raise ExpressionError("the expression is empty; write a value or a formula", 0)
        node = self._or()
        if self.current.kind != "end":
            raise ExpressionError(f"unexpected {self.current.text!r}", self.current.position)
        return node

    def _or(self) -> Expression:
        node = self._and()
        while self._is_keyword("or"):
            token = self._advance()
            node = BinaryOp(token.position, "or", node, self._and())
        return node

    def _and(self) -> Expression:
        node = self._not()
        while self._is_keyword("and"):
            token = self._advance()
            node = BinaryOp(token.position, "and", node, self._not())
        return node

    def _not(self) -> Expression:
        if self._is_keyword("not"):
            token = self._advance()
            self._nest(token.position)
            operand = self._not()
            self.depth -= 1
            return UnaryOp(token.position, "not", operand)
        return self._comparison()

    def _comparison(self) -> Expression:
        node = self._additive()
        token = self.current
        if token.kind == "op" and token.text in COMPARISON_OPERATORS:
            self._advance()
            node = BinaryOp(token.position, token.text, node, self._additive())
            following = self.current
            if following.kind == "op" and following.text in COMPARISON_OPERATORS:
                raise ExpressionError(
                    "comparisons cannot be chained; combine them with `and`",
                    following.position,
                )
        return node

    def _additive(self) -> Expression:
        node = self._term()
        while self.current.kind == "op" and self.current.text in "+-":
            token = self._advance()
            node = BinaryOp(token.position, token.text, node, self._term())
        return node

    def _term(self) -> Expression:
        node = self._unary()
        while self.current.kind == "op" and self.current.text in "*/":
            token = self._advance()
            node = BinaryOp(token.position, token.text, node, self._unary())
        return node

    def _unary(self) -> Expression:
        token = self.current
        if token.kind == "op" and token.text in "+-":
            self._advance()
            self._nest(token.position)
            operand = self._unary()
            self.depth -= 1
            return operand if token.text == "+" else UnaryOp(token.position, "-", operand)
        return self._primary()

    def _primary(self) -> Expression:
        token = self._advance()
        # The tokenizer gives number and percent tokens a Decimal, string tokens a str.
        if token.kind == "number":
            return NumberLiteral(token.position, cast(Decimal, token.value), "." not in token.text)
        if token.kind == "percent":
            value = cast(Decimal, token.value) / 100
            return NumberLiteral(token.position, value, value == value.to_integral_value())
        if token.kind == "string":
            return TextLiteral(token.position, cast(str, token.value))
        if token.kind == "(":
            self._nest(token.position)
            node = self._or()
            self._expect(")", "a closing parenthesis", token.position)
            self.depth -= 1
            return node
        if token.kind == "name":
            return self._name(token)
        if token.kind == "end":
            raise ExpressionError(
                "the expression ends too early; a value is missing", token.position
            )
        raise ExpressionError(f"unexpected {token.text!r}; a value is missing", token.position)

    def _name(self, token: _Token) -> Expression:
        if token.value == "keyword":
            if token.text in {"true", "false"}:
                return BooleanLiteral(token.position, token.text == "true")
            if token.text in {"null", "none"}:
                return NullLiteral(token.position)
            raise ExpressionError(f"unexpected {token.text!r}; a value is missing", token.position)
        if self.current.kind == "(":
            return self._call(token)
        if token.text == "if":
            raise ExpressionError(
                "write if(condition, value if true, value if false)", token.position
            )
        return FieldRef(token.position, token.text)

    def _call(self, token: _Token) -> Expression:
        name = token.text
        if name not in FUNCTIONS:
            known = ", ".join(sorted(FUNCTIONS))
            raise ExpressionError(f"unknown function {name!r}; available: {known}", token.position)
        opening = self._advance()
        self._nest(opening.position)
        arguments: list[Expression] = []
        if self.current.kind != ")":
            arguments.append(self._or())
            while self.current.kind == ",":
                self._advance()
                arguments.append(self._or())
        self._expect(")", "a closing parenthesis or a comma", opening.position)
        self.depth -= 1
        fewest, most = FUNCTIONS[name]
        if not fewest <= len(arguments) <= most:
            wanted = str(fewest) if fewest == most else f"{fewest} to {most}"
            raise ExpressionError(
                f"{name}() takes {wanted} argument{'s' if most != 1 else ''}, not {len(arguments)}",
                token.position,
            )
        return Call(token.position, name, tuple(arguments))

    def _expect(self, kind: str, description: str, opened_at: int) -> None:
        if self.current.kind != kind:
            found = repr(self.current.text) if self.current.text else "the end"
            raise ExpressionError(
                f"expected {description} (opened at character {opened_at + 1}), found {found}",
                self.current.position,
            )
        self._advance()


def _tree_depth(root: Expression) -> int:
    deepest = 0
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in _children(node))
    return deepest


def parse_expression(text: str) -> Expression:
    """The syntax tree of ``text``; raises ExpressionError saying where and what is wrong."""
    if not isinstance(text, str):
        raise ExpressionError("an expression must be text", 0)
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(
            f"the expression is longer than {MAX_EXPRESSION_LENGTH} characters; shorten it",
            MAX_EXPRESSION_LENGTH,
        )
    tree = _Parser(_Tokenizer(text).tokens()).parse()
    if _tree_depth(tree) > MAX_DEPTH * 2:
        raise ExpressionError(
            "the expression has too many operations in a row; split it into computed fields",
            0,
        )
    return tree


def expression_fields(expr: Expression) -> set[str]:
    """Names of the fields the expression reads."""
    names = set()
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, FieldRef):
            names.add(node.name)
        stack.extend(_children(node))
    return names


# --- types ---------------------------------------------------------------------------------

_FIELD_TYPES = {
    "text": TEXT,
    "long_text": TEXT,
    "email": TEXT,
    "phone": TEXT,
    "url": TEXT,
    "choice": TEXT,
    "integer": NUMBER,
    "decimal": NUMBER,
    "money": NUMBER,
    "boolean": BOOLEAN,
    "date": DATE,
    "datetime": DATETIME,
}
_RECORD_FIELD_TYPES = {"created_at": DATETIME, "updated_at": DATETIME}


@dataclass(frozen=True)
class _Unusable:
    reason: str


def expression_environment(entity: EntitySpec) -> dict[str, str | _Unusable]:
    """What each name means inside an expression on ``entity``: its type, or why not usable."""
    env: dict[str, str | _Unusable] = {}
    if entity.kind == "record":
        env.update(_RECORD_FIELD_TYPES)
        env["owner"] = _Unusable("the owner cannot be used in expressions")
    for field in entity.fields:
        field_type = str(field.type)
        if field_type in _FIELD_TYPES:
            env[field.name] = _FIELD_TYPES[field_type]
        else:
            env[field.name] = _Unusable(
                f"{field.name!r} is a {field_type.replace('_', ' ')} field, which expressions "
                "cannot read"
            )
    for computed in entity.computed:
        env[computed.name] = _FIELD_TYPES.get(str(computed.type), ANY)
    if entity.stage_field:
        reason = (
            "pipelines and stages cannot be used in expressions; use an automation with a "
            "stage_entered trigger"
        )
        env[entity.stage_field] = _Unusable(reason)
        env["pipeline"] = _Unusable(reason)
    return env


def field_expression_type(field_type: str) -> str | None:
    """The expression type of a spec field type, or None when expressions cannot use it."""
    return _FIELD_TYPES.get(str(field_type))


_DESCRIBE = {
    NUMBER: "a number",
    TEXT: "text",
    BOOLEAN: "a true/false value",
    DATE: "a date",
    DATETIME: "a date and time",
    NULL: "null",
    ANY: "a value",
}


class _Typer:
    """Infers the type of each node; records problems when ``problems`` is a list."""

    def __init__(
        self,
        env: dict[str, str | _Unusable] | None,
        problems: list[str] | None = None,
        spec: AppSpec | None = None,
        entity: EntitySpec | None = None,
    ) -> None:
        self.env = env
        self.problems = problems
        self.spec = spec
        self.entity = entity

    def problem(self, message: str, node: Expression) -> None:
        if self.problems is not None:
            self.problems.append(f"{message} (at character {node.position + 1})")

    def type_of(self, node: Expression) -> str:
        if isinstance(node, NumberLiteral):
            return NUMBER
        if isinstance(node, TextLiteral):
            return TEXT
        if isinstance(node, BooleanLiteral):
            return BOOLEAN
        if isinstance(node, NullLiteral):
            return NULL
        if isinstance(node, FieldRef):
            return self._field(node)
        if isinstance(node, UnaryOp):
            return self._unary(node)
        if isinstance(node, BinaryOp):
            return self._binary(node)
        assert isinstance(node, Call)
        return self._call(node)

    def _field(self, node: FieldRef) -> str:
        if self.env is None:
            return ANY
        meaning = self.env.get(node.name)
        if isinstance(meaning, _Unusable):
            self.problem(meaning.reason, node)
            return ANY
        if meaning is None:
            usable = sorted(name for name, kind in self.env.items() if isinstance(kind, str))
            close = difflib.get_close_matches(node.name, usable, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"known fields: {', '.join(usable)}"
            self.problem(f"unknown field {node.name!r}; {hint}", node)
            return ANY
        return meaning

    def _expect(self, node: Expression, wanted: set[str], what: str) -> str:
        found = self.type_of(node)
        if found not in wanted | {ANY}:
            self.problem(f"{what} must be {_describe(wanted)}, not {_DESCRIBE[found]}", node)
            return ANY
        return found

    def _unary(self, node: UnaryOp) -> str:
        if node.operator == "not":
            self._expect(node.operand, {BOOLEAN}, "the value after `not`")
            return BOOLEAN
        found = self._expect(node.operand, {NUMBER}, "the value after -")
        return NUMBER if found != ANY else ANY

    def _binary(self, node: BinaryOp) -> str:
        if node.operator in {"and", "or"}:
            self._expect(node.left, {BOOLEAN}, f"each side of `{node.operator}`")
            self._expect(node.right, {BOOLEAN}, f"each side of `{node.operator}`")
            return BOOLEAN
        if node.operator in COMPARISON_OPERATORS:
            return self._comparison(node)
        return self._arithmetic(node)

    def _arithmetic(self, node: BinaryOp) -> str:
        left, right = self.type_of(node.left), self.type_of(node.right)
        result = arithmetic_result(node.operator, left, right)
        if result is None:
            self.problem(
                f"cannot apply {node.operator} to {_DESCRIBE[left]} and {_DESCRIBE[right]}"
                + _arithmetic_hint(node.operator, left, right),
                node,
            )
            return ANY
        return result

    def _comparison(self, node: BinaryOp) -> str:
        left, right = self.type_of(node.left), self.type_of(node.right)
        if NULL in (left, right):
            if node.operator not in {"==", "!="}:
                self.problem("only == and != can compare with null", node)
        elif ANY not in (left, right) and left != right:
            self.problem(
                f"cannot compare {_DESCRIBE[left]} with {_DESCRIBE[right]}"
                + (
                    "; use days_between() or compare dates with dates"
                    if {left, right} == {DATE, DATETIME}
                    else ""
                ),
                node,
            )
        elif node.operator not in {"==", "!="} and BOOLEAN in (left, right):
            self.problem("true/false values can only be compared with == or !=", node)
        self._check_choice_value(node.left, node.right)
        self._check_choice_value(node.right, node.left)
        return BOOLEAN

    def _check_choice_value(self, field: Expression, value: Expression) -> None:
        if not (isinstance(field, FieldRef) and isinstance(value, TextLiteral)):
            return
        if self.entity is None or self.spec is None:
            return
        spec_field = next((f for f in self.entity.fields if f.name == field.name), None)
        if spec_field is None or str(spec_field.type) != "choice":
            return
        choice_list = next(
            (c for c in self.spec.choice_lists if c.key == spec_field.choice_list), None
        )
        if choice_list is None:
            return
        values = [option.value for option in choice_list.options]
        if value.value not in values:
            self.problem(
                f"{value.value!r} is not an option of the choice list {choice_list.key!r}; "
                f"use one of: {', '.join(values)}",
                value,
            )

    def _call(self, node: Call) -> str:
        name, arguments = node.function, node.arguments
        if name == "today":
            return DATE
        if name in {"min", "max", "abs"}:
            for argument in arguments:
                self._expect(argument, {NUMBER}, f"each value of {name}()")
            return NUMBER
        if name == "round":
            self._expect(arguments[0], {NUMBER}, "the value to round")
            if len(arguments) == 2:
                places = arguments[1]
                if not (
                    isinstance(places, NumberLiteral) and places.integral and places.value <= 10
                ):
                    self.problem("round() takes a whole number of places from 0 to 10", places)
            return NUMBER
        if name == "days_between":
            for argument in arguments:
                self._expect(argument, {DATE, DATETIME}, "each value of days_between()")
            return NUMBER
        return self._if(node)

    def _if(self, node: Call) -> str:
        condition, when_true, when_false = node.arguments
        self._expect(condition, {BOOLEAN}, "the condition of if()")
        first, second = self.type_of(when_true), self.type_of(when_false)
        if NULL in (first, second) or ANY in (first, second):
            return next((kind for kind in (first, second) if kind not in {NULL, ANY}), ANY)
        if first != second:
            self.problem(
                f"both values of if() must have the same type, not {_DESCRIBE[first]} and "
                f"{_DESCRIBE[second]}",
                node,
            )
            return ANY
        return first


def _describe(kinds: set[str]) -> str:
    return " or ".join(_DESCRIBE[kind] for kind in sorted(kinds))


def arithmetic_result(operator: str, left: str, right: str) -> str | None:
    """Type of ``left <operator> right``, or None when the combination is not allowed."""
    if NULL in (left, right):
        return None
    if ANY in (left, right):
        return ANY
    if left == right == NUMBER:
        return NUMBER
    if operator == "+" and left == right == TEXT:
        return TEXT
    if operator == "+" and {left, right} == {DATE, NUMBER}:
        return DATE
    if operator == "-" and (left, right) == (DATE, NUMBER):
        return DATE
    if operator == "-" and left == right == DATE:
        return NUMBER
    return None


def _arithmetic_hint(operator: str, left: str, right: str) -> str:
    if DATETIME in (left, right):
        return "; use days_between() for dates and times"
    if NULL in (left, right):
        return "; null can only be compared with == or !="
    if operator in "+-" and DATE in (left, right):
        return "; add or subtract a number of days to a date"
    return ""


def check_expression(
    expr: Expression,
    *,
    entity: EntitySpec,
    spec: AppSpec,
    expected: str | None = None,
) -> list[str]:
    """Problems of ``expr`` on ``entity``: unknown fields, type mismatches. Empty = fine.

    ``expected`` is a spec field type (``money``, ``date``...) or ``"condition"``: the value
    the expression must produce.
    """
    problems: list[str] = []
    typer = _Typer(expression_environment(entity), problems, spec, entity)
    found = typer.type_of(expr)
    wanted = BOOLEAN if expected == "condition" else _FIELD_TYPES.get(str(expected))
    if wanted and found not in {wanted, ANY, NULL}:
        what = "a condition" if expected == "condition" else f"a {expected} field"
        problems.append(
            f"the expression gives {_DESCRIBE[found]}, but {what} needs {_DESCRIBE[wanted]}"
        )
    return problems


# --- compiler ------------------------------------------------------------------------------


class _Compiler:
    """Emits Python source; sub-expressions that are operations are parenthesised."""

    def __init__(self, record: str, env: dict[str, str | _Unusable] | None) -> None:
        self.record = record
        self.typer = _Typer(env)
        self.imports: set[str] = set()
        # ids of operation nodes compiled to a single function call (no parentheses needed)
        self.calls: set[int] = set()

    def type_of(self, node: Expression) -> str:
        return self.typer.type_of(node)

    def emit(self, node: Expression) -> str:
        if isinstance(node, NumberLiteral):
            return self._number(node)
        if isinstance(node, TextLiteral):
            return repr(node.value)
        if isinstance(node, BooleanLiteral):
            return "True" if node.value else "False"
        if isinstance(node, NullLiteral):
            return "None"
        if isinstance(node, FieldRef):
            return f"{self.record}.{node.name}"
        if isinstance(node, UnaryOp):
            if node.operator == "not":
                return f"not {self.sub(node.operand)}"
            return f"-{self.number(node.operand)}"
        if isinstance(node, BinaryOp):
            code = self._binary(node)
            if code.startswith(f"{RUNTIME_NAME}.") and _is_one_call(code):
                self.calls.add(id(node))
            return code
        assert isinstance(node, Call)
        return self._call(node)

    def sub(self, node: Expression) -> str:
        """The node's code, parenthesised when it is an operation (not a call or literal)."""
        code = self.emit(node)
        if id(node) in self.calls or (isinstance(node, UnaryOp) and node.operator == "-"):
            return code
        if isinstance(node, UnaryOp | BinaryOp) or (
            isinstance(node, Call) and node.function == "if"
        ):
            return f"({code})"
        return code

    def number(self, node: Expression) -> str:
        """The node as a number that is never empty (empty counts as 0)."""
        if isinstance(node, NullLiteral):
            return "0"
        if self.nullable(node):
            return f"({self.emit(node)} or 0)"
        return self.sub(node)

    def nullable(self, node: Expression) -> bool:
        if isinstance(node, FieldRef | NullLiteral):
            return True
        if isinstance(node, BinaryOp):
            return self._binary_nullable(node)
        if isinstance(node, Call):
            if node.function == "days_between":
                return True
            if node.function == "if":
                return self.nullable(node.arguments[1]) or self.nullable(node.arguments[2])
        return False

    def _binary_nullable(self, node: BinaryOp) -> bool:
        if node.operator == "/":
            return True
        if node.operator not in {"+", "-"}:
            return False
        left, right = self.type_of(node.left), self.type_of(node.right)
        if ANY in (left, right) or left == right == DATE:
            return True
        if DATE in (left, right):
            # add_days is empty for an empty date or a result outside the calendar
            return not self._plain_date_shift(node, left)
        return False

    def _plain_date_shift(self, node: BinaryOp, left: str) -> bool:
        """today() plus or minus a small whole number: plain datetime code, never empty."""
        day, days = (node.left, node.right) if left == DATE else (node.right, node.left)
        return (
            isinstance(day, Call)
            and day.function == "today"
            and isinstance(days, NumberLiteral)
            and days.integral
            and days.value <= MAX_PLAIN_DAYS
        )

    def text(self, node: Expression) -> str:
        """The node as text that is never empty (empty counts as "")."""
        if self.nullable(node):
            return f'({self.emit(node)} or "")'
        return self.sub(node)

    def runtime(self, function: str, *arguments: str) -> str:
        self.imports.add(f"from crm.kit import {RUNTIME_NAME}")
        return f"{RUNTIME_NAME}.{function}({', '.join(arguments)})"

    def _number(self, node: NumberLiteral) -> str:
        if node.integral:
            return str(int(node.value))
        self.imports.add("from decimal import Decimal")
        return f'Decimal("{format(node.value.normalize(), "f")}")'

    def _binary(self, node: BinaryOp) -> str:
        operator = node.operator
        if operator in {"and", "or"}:
            return f"{self.sub(node.left)} {operator} {self.sub(node.right)}"
        if operator in COMPARISON_OPERATORS:
            return self._comparison(node)
        left, right = self.type_of(node.left), self.type_of(node.right)
        if operator == "/":
            return self.runtime("divide", self.number(node.left), self.number(node.right))
        if operator == "*":
            return f"{self.number(node.left)} * {self.number(node.right)}"
        if ANY in (left, right) and TEXT not in (left, right):
            function = "add" if operator == "+" else "subtract"
            return self.runtime(function, self.emit(node.left), self.emit(node.right))
        if DATE in (left, right):
            return self._date_arithmetic(node, left, right)
        if TEXT in (left, right):
            return f"{self.text(node.left)} + {self.text(node.right)}"
        return f"{self.number(node.left)} {operator} {self.number(node.right)}"

    def _date_arithmetic(self, node: BinaryOp, left: str, right: str) -> str:
        if left == right == DATE:
            return self.runtime("days_between", self.emit(node.right), self.emit(node.left))
        day, days = (node.left, node.right) if left == DATE else (node.right, node.left)
        if self._plain_date_shift(node, left):
            assert isinstance(days, NumberLiteral)
            self.imports.add("import datetime")
            sign = "+" if node.operator == "+" else "-"
            return f"{self.sub(day)} {sign} datetime.timedelta(days={int(days.value)})"
        amount = self.number(days) if node.operator == "+" else f"-{self.number(days)}"
        return self.runtime("add_days", self.emit(day), amount)

    def _comparison(self, node: BinaryOp) -> str:
        operator, left, right = node.operator, node.left, node.right
        if operator in {"==", "!="}:
            if isinstance(right, NullLiteral) or isinstance(left, NullLiteral):
                other = left if isinstance(right, NullLiteral) else right
                word = "is" if operator == "==" else "is not"
                return f"{self.sub(other)} {word} None"
            return f"{self.sub(left)} {operator} {self.sub(right)}"
        nullable = [side for side in (left, right) if self.nullable(side)]
        if not nullable:
            return f"{self.sub(left)} {operator} {self.sub(right)}"
        known = ANY not in {self.type_of(left), self.type_of(right)}
        if known and all(isinstance(side, FieldRef) for side in nullable):
            guards = [f"{self.emit(side)} is not None" for side in nullable]
            comparison = f"{self.sub(left)} {operator} {self.sub(right)}"
            return " and ".join([*guards, comparison])
        return self.runtime("compare", self.emit(left), repr(operator), self.emit(right))

    def _call(self, node: Call) -> str:
        name, arguments = node.function, node.arguments
        if name == "today":
            self.imports.add("import datetime")
            return "datetime.date.today()"
        if name in {"min", "max", "abs"}:
            return f"{name}({', '.join(self.number(argument) for argument in arguments)})"
        if name == "round":
            places = [self.number(arguments[1])] if len(arguments) == 2 else []
            return self.runtime("round_half_up", self.number(arguments[0]), *places)
        if name == "days_between":
            return self.runtime("days_between", *(self.emit(argument) for argument in arguments))
        condition, when_true, when_false = arguments
        return f"{self.sub(when_true)} if {self.sub(condition)} else {self.sub(when_false)}"


def _is_one_call(code: str) -> bool:
    """True when ``code`` is ``name(...)`` with the call's parentheses spanning to the end."""
    depth = 0
    quote = ""
    escaped = False
    for index, char in enumerate(code):
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index == len(code) - 1
    return False


def _compiler(record: str, entity: EntitySpec | None) -> _Compiler:
    if not record.isidentifier() or keyword.iskeyword(record):
        raise ValueError(f"record must be a Python name, not {record!r}.")
    return _Compiler(record, expression_environment(entity) if entity is not None else None)


def compile_expression(
    expr: Expression, *, record: str = "self", entity: EntitySpec | None = None
) -> str:
    """Python source computing ``expr`` from the object named ``record``.

    Pass ``entity`` (the app compiler always does) so the compiler knows the field types:
    comparisons then compile to plain operators and an empty date stays empty in date
    arithmetic. Without it, ``+``/``-`` and ordering comparisons go through runtime helpers
    that decide by the values, so an empty date counts as 0 like an empty number. The
    source needs the imports returned by ``expression_imports`` for the same arguments.
    """
    return _compiler(record, entity).emit(expr)


def expression_imports(expr: Expression, *, entity: EntitySpec | None = None) -> list[str]:
    """The import lines the compiled source of ``expr`` needs, sorted."""
    compiler = _compiler("self", entity)
    compiler.emit(expr)
    return sorted(compiler.imports)
