"""Python source building blocks for the compiler: literals and expressions laid out by rule.

Every value that comes from a spec and is not a validated identifier goes through
``py_literal``/``py_str``, which produce a Python literal (never pasted text). Expressions
are small trees (``Call``, ``Seq``, ``Dict``, ``Raw``) that ``layout`` writes the way
``ruff format`` does: on one line when it fits in ``LINE_LENGTH``, otherwise one item per
line with a trailing comma (which ruff keeps). This module knows nothing of Django.
"""

from __future__ import annotations

import datetime
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

LINE_LENGTH = 100
INDENT = "    "
_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def py_str(value: str) -> str:
    """A string literal as ruff writes it: double quotes unless they need more escapes."""
    quote = "'" if value.count('"') > value.count("'") else '"'
    body = []
    for char in value:
        if char in _ESCAPES:
            body.append(_ESCAPES[char])
        elif char == quote:
            body.append("\\" + char)
        elif not char.isprintable():
            body.append(repr(char)[1:-1])
        else:
            body.append(char)
    return f"{quote}{''.join(body)}{quote}"


def py_literal(value: object) -> str:
    """Python source for a plain value (str, int, float, bool, None, Decimal, date, list...)."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, str):
        return py_str(value)
    if isinstance(value, int):
        return repr(value)
    if isinstance(value, float):
        if value != value or value in {float("inf"), float("-inf")}:
            raise ValueError(f"{value!r} cannot be written as a Python literal.")
        return repr(value)
    if isinstance(value, Decimal):
        return f"Decimal({py_str(str(value))})"
    if isinstance(value, datetime.datetime | datetime.date):
        return repr(value)
    if isinstance(value, list | tuple | dict):
        return flat(literal_node(value))
    raise TypeError(f"No literal for {type(value).__name__}.")


# --- expression trees --------------------------------------------------------------------


class Node:
    def flat(self) -> str:
        raise NotImplementedError

    def parts(self) -> tuple[str, list[tuple[str, Node]], str] | None:
        """(opening, [(item prefix, item)], closing) for the exploded form; None if atomic."""
        return None


@dataclass(frozen=True)
class Raw(Node):
    text: str

    def flat(self) -> str:
        return self.text


def raw(text: str) -> Raw:
    return Raw(text)


def lit(value: object) -> Node:
    return literal_node(value)


@dataclass(frozen=True)
class Call(Node):
    func: str
    args: Sequence[Node] = ()
    kwargs: Sequence[tuple[str, Node]] = ()

    def flat(self) -> str:
        items = [item.flat() for item in self.args]
        items += [f"{name}={value.flat()}" for name, value in self.kwargs]
        return f"{self.func}({', '.join(items)})"

    def parts(self) -> tuple[str, list[tuple[str, Node]], str] | None:
        items: list[tuple[str, Node]] = [("", item) for item in self.args]
        items += [(f"{name}=", value) for name, value in self.kwargs]
        return (f"{self.func}(", items, ")") if items else None


@dataclass(frozen=True)
class Seq(Node):
    """A list, tuple or set display."""

    items: Sequence[Node]
    kind: str = "list"

    def _brackets(self) -> tuple[str, str]:
        return {"list": ("[", "]"), "tuple": ("(", ")"), "set": ("{", "}")}[self.kind]

    def flat(self) -> str:
        opening, closing = self._brackets()
        inner = ", ".join(item.flat() for item in self.items)
        if self.kind == "tuple" and len(self.items) == 1:
            inner += ","
        return f"{opening}{inner}{closing}"

    def parts(self) -> tuple[str, list[tuple[str, Node]], str] | None:
        opening, closing = self._brackets()
        return (opening, [("", item) for item in self.items], closing) if self.items else None


@dataclass(frozen=True)
class Dict(Node):
    pairs: Sequence[tuple[Node, Node]] = field(default_factory=list)

    def flat(self) -> str:
        return "{" + ", ".join(f"{key.flat()}: {value.flat()}" for key, value in self.pairs) + "}"

    def parts(self) -> tuple[str, list[tuple[str, Node]], str] | None:
        items = [(f"{key.flat()}: ", value) for key, value in self.pairs]
        return ("{", items, "}") if items else None


def literal_node(value: object) -> Node:
    if isinstance(value, list):
        return Seq([literal_node(item) for item in value])
    if isinstance(value, tuple):
        return Seq([literal_node(item) for item in value], kind="tuple")
    if isinstance(value, dict):
        return Dict([(literal_node(key), literal_node(item)) for key, item in value.items()])
    if isinstance(value, Node):
        return value
    return Raw(py_literal(value))


def flat(node: Node) -> str:
    return node.flat()


def text_width(text: str) -> int:
    """Columns ``text`` takes, as ruff counts them: wide East Asian characters take two,
    combining marks and format characters none."""
    width = 0
    for char in text:
        if char.isascii():
            width += 1
        elif unicodedata.combining(char) or unicodedata.category(char) in {"Mn", "Me", "Cf"}:
            continue
        elif unicodedata.east_asian_width(char) in {"W", "F"}:
            width += 2
        else:
            width += 1
    return width


def fits(line: str) -> bool:
    return text_width(line) <= LINE_LENGTH


def layout(node: Node, indent: str = "", prefix: str = "", suffix: str = "") -> list[str]:
    """Lines of ``indent + prefix + node + suffix``, exploded while they do not fit."""
    line = f"{indent}{prefix}{node.flat()}{suffix}"
    parts = node.parts()
    if fits(line):
        return [line]
    if parts is None:
        # ruff wraps a too-long atom after "=" or "return" in parentheses when that fits.
        inner = f"{indent}{INDENT}{node.flat()}"
        if prefix.endswith((" = ", "return ")) and fits(inner):
            return [f"{indent}{prefix}(", inner, f"{indent}){suffix}"]
        return [line]
    opening, items, closing = parts
    lines = [f"{indent}{prefix}{opening}"]
    for item_prefix, item in items:
        lines += layout(item, indent + INDENT, item_prefix, ",")
    lines.append(f"{indent}{closing}{suffix}")
    return lines


def statement(text_or_target: str, node: Node | None = None, *, indent: str = "") -> list[str]:
    """``target = node`` (or a bare expression when ``node`` is None), laid out."""
    if node is None:
        return [f"{indent}{text_or_target}"]
    return layout(node, indent, f"{text_or_target} = ")


def join_lines(blocks: Iterable[Iterable[str]], separator: int = 1) -> list[str]:
    """Blocks of lines separated by ``separator`` empty lines."""
    lines: list[str] = []
    for block in blocks:
        block = list(block)
        if not block:
            continue
        if lines:
            lines += [""] * separator
        lines += block
    return lines


# --- imports -----------------------------------------------------------------------------

STDLIB_SECTION = 1
THIRD_PARTY_SECTION = 2
KIT_SECTION = 3
LOCAL_SECTION = 4
_SECTION_OF_ROOT = {"django": 2, "rest_framework": 2, "django_filters": 2, "factory": 2, "crm": 3}


@dataclass
class Imports:
    """The imports a module needs, written in isort's order (sections, then names)."""

    modules: set[str] = field(default_factory=set)
    names: dict[str, set[str]] = field(default_factory=dict)

    def add(self, module: str, *names: str) -> Imports:
        if names:
            self.names.setdefault(module, set()).update(names)
        else:
            self.modules.add(module)
        return self

    def merge(self, other: Imports) -> Imports:
        self.modules |= other.modules
        for module, names in other.names.items():
            self.add(module, *names)
        return self

    @staticmethod
    def _section(module: str) -> int:
        if module == "__future__":
            return 0
        if module.startswith("."):
            return LOCAL_SECTION
        return _SECTION_OF_ROOT.get(module.split(".")[0], STDLIB_SECTION)

    def lines(self) -> list[str]:
        sections: dict[int, list[str]] = {}
        for module in sorted(self.modules):
            sections.setdefault(self._section(module), []).append(f"import {module}")
        for module in sorted(self.names, key=_from_sort_key):
            names = sorted(self.names[module], key=_name_sort_key)
            node = Seq([Raw(name) for name in names], kind="tuple")
            one_line = f"from {module} import {', '.join(names)}"
            if fits(one_line):
                sections.setdefault(self._section(module), []).append(one_line)
            else:
                exploded = layout(node, "", f"from {module} import ")
                sections.setdefault(self._section(module), []).append("\n".join(exploded))
        blocks = [sections[key] for key in sorted(sections)]
        return "\n\n".join("\n".join(block) for block in blocks).splitlines()


def _from_sort_key(module: str) -> tuple[int, str]:
    # isort's default for relative imports: furthest first ("from .." before "from .").
    dots = len(module) - len(module.lstrip("."))
    return (-dots, module.lstrip(".").lower())


def _name_sort_key(name: str) -> tuple[int, str]:
    # isort's default "force_sort_within_sections=false, order_by_type=true":
    # CONSTANTS, then Classes, then functions/modules.
    if name.isupper() and len(name) > 1:
        return (0, name)
    if name[:1].isupper():
        return (1, name)
    return (2, name)
