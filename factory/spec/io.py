"""Reading and writing app specs as YAML or JSON.

``spec_load`` turns text into a valid ``AppSpec`` or raises ``SpecInvalid`` listing every
problem (parse errors, shape errors from pydantic and whole-spec problems from
``validate_app_spec``) with a path and a sentence saying what to do. ``spec_dump`` writes a
spec deterministically: keys in model order, defaults left out (except the ``kind`` tags
that select a trigger or action). YAML is read with a strict loader: no anchors or aliases,
no duplicate keys, and only ``true``/``false`` are booleans (``on``, ``no``, dates stay
strings). Nothing here evaluates user text.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
import unicodedata
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from factory.spec.models import AppSpec
from factory.spec.validation import SpecInvalid, SpecProblem, validate_app_spec

MAX_SPEC_BYTES = 2_000_000
SCHEMA_PATH = Path(__file__).with_name("app_spec.schema.json")

# Fields written even when they hold their default: the tags of discriminated unions.
ALWAYS_DUMPED = frozenset({"kind", "spec_version"})


class _DuplicateKey(Exception):
    def __init__(self, key: Any) -> None:
        self.key = key


# libyaml's parser and emitter when present (several times faster); same rules and output.
_BaseLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER: type = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _AliasFound(Exception):
    def __init__(self, node: Any) -> None:
        self.node = node


class _StrictLoader(_BaseLoader):
    """Safe YAML without aliases, merge keys, duplicate keys, dates or yes/no/on/off booleans."""

    def construct_document(self, node: Any) -> Any:
        _refuse_aliases(node)
        return super().construct_document(node)

    def construct_mapping(self, node: Any, deep: bool = False) -> dict:
        seen: set = set()
        for key_node, _value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
            except TypeError:
                duplicate = False
            if duplicate:
                raise _DuplicateKey(key)
            with contextlib.suppress(TypeError):
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _refuse_aliases(root: Any) -> None:
    """An alias makes one node appear twice in the graph: refuse it before building values."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            raise _AliasFound(node)
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                stack.extend((key_node, value_node))


_StrictLoader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag.rsplit(":", 1)[-1] not in {"bool", "timestamp", "merge", "value"}
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def _reject_duplicate_json_keys(pairs: list[tuple[str, Any]]) -> dict:
    result: dict = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _parse_text(text: str, *, json_first: bool) -> Any:
    if json_first or text.lstrip().startswith("{"):
        try:
            return json.loads(text, object_pairs_hook=_reject_duplicate_json_keys)
        except json.JSONDecodeError as error:
            if json_first:
                raise SpecInvalid(
                    [SpecProblem("", f"This is not valid JSON: {error}. Fix the syntax.")]
                ) from None
        except ValueError:
            raise SpecInvalid([_number_too_long()]) from None
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as error:
        raise SpecInvalid(
            [SpecProblem("", f"This is not valid YAML: {_one_line(str(error))}. Fix the syntax.")]
        ) from None
    except _AliasFound as alias:
        line = alias.node.start_mark.line + 1 if alias.node.start_mark else "?"
        raise SpecInvalid(
            [
                SpecProblem(
                    "",
                    f"YAML anchors and aliases (&name, *name) are not allowed in a spec (the "
                    f"value from line {line} is reused); write the value out in full.",
                )
            ]
        ) from None
    except ValueError:
        raise SpecInvalid([_number_too_long()]) from None


def _number_too_long() -> SpecProblem:
    return SpecProblem("", "The spec holds a number too long to read; use at most 30 digits.")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _read(text: str | None, path: Path | None) -> Any:
    if (text is None) == (path is None):
        raise TypeError("spec_load needs exactly one of text= or path=.")
    json_first = False
    if path is not None:
        try:
            raw_bytes = Path(path).read_bytes()
        except OSError as error:
            raise SpecInvalid(
                [SpecProblem("", f"Cannot read {path}: {error.strerror}. Check the path.")]
            ) from None
        if len(raw_bytes) > MAX_SPEC_BYTES:
            raise SpecInvalid([_too_big()])
        try:
            text = raw_bytes.decode("utf-8")
        except UnicodeDecodeError:
            raise SpecInvalid(
                [SpecProblem("", "The file is not UTF-8 text; save it as UTF-8.")]
            ) from None
        json_first = Path(path).suffix.lower() == ".json"
    assert text is not None
    if len(text) > MAX_SPEC_BYTES:
        raise SpecInvalid([_too_big()])
    try:
        return _parse_text(text, json_first=json_first)
    except _DuplicateKey as duplicate:
        key = _one_line(repr(duplicate.key))[:80]
        raise SpecInvalid(
            [SpecProblem("", f"The key {key} appears twice in one mapping; keep only one.")]
        ) from None
    except RecursionError:
        raise SpecInvalid(
            [SpecProblem("", "The document is nested too deeply to be a spec.")]
        ) from None


def _too_big() -> SpecProblem:
    return SpecProblem(
        "", f"The spec is larger than {MAX_SPEC_BYTES:,} bytes; split descriptions or trim it."
    )


def spec_load(*, text: str | None = None, path: Path | None = None) -> AppSpec:
    """Parse and validate a spec from YAML or JSON text or a file; raise SpecInvalid."""
    data = _read(text, path)
    if not isinstance(data, dict):
        raise SpecInvalid(
            [
                SpecProblem(
                    "",
                    "A spec must be a mapping with keys such as name, entities and "
                    "choice_lists; start from `python manage.py factory spec export-template`.",
                )
            ]
        )
    try:
        spec = AppSpec.model_validate(data)
    except ValidationError as error:
        raise SpecInvalid(pydantic_problems(error, data)) from None
    except RecursionError:
        raise SpecInvalid(
            [SpecProblem("", "The document is nested too deeply to be a spec.")]
        ) from None
    problems = validate_app_spec(spec)
    if problems:
        raise SpecInvalid(problems)
    return spec


# --- pydantic errors → SpecProblem -------------------------------------------------------

_SAFE_KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_IDENTIFIER_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
_CLASS_NAME_PATTERN = r"^[A-Z][A-Za-z0-9]{0,62}$"
_OPTION_VALUE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
# Fields that are mappings keyed by user data rather than sub-objects.
_MAPPING_FIELDS = frozenset({"permissions"})


def suggest_identifier(text: str) -> str:
    """A snake_case ASCII form of ``text`` (``Prénom du client`` → ``prenom_du_client``)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    ascii_text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", ascii_text)
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")
    if not slug:
        return "field_1"
    if not slug[0].isalpha():
        slug = f"f_{slug}"
    return slug[:63]


def suggest_class_name(text: str) -> str:
    """A PascalCase ASCII form of ``text`` (``étudiant suivi`` → ``EtudiantSuivi``)."""
    words = suggest_identifier(text).split("_")
    name = "".join(word[:1].upper() + word[1:] for word in words if word)
    if not name or not name[0].isalpha():
        name = f"Entity{name}"
    return name[:63]


def _pattern_message(pattern: str, value: Any) -> str:
    shown = _one_line(repr(value))[:80]
    if pattern == _IDENTIFIER_PATTERN:
        return (
            f"{shown} is not a valid name or id: use lowercase ASCII letters, digits and "
            f"underscores, starting with a letter (at most 63 characters), for example "
            f"{suggest_identifier(str(value))!r}."
        )
    if pattern == _CLASS_NAME_PATTERN:
        return (
            f"{shown} is not a valid class name: use ASCII letters and digits in PascalCase, "
            f"starting with a capital letter, for example {suggest_class_name(str(value))!r}."
        )
    if pattern == _OPTION_VALUE_PATTERN:
        return (
            f"{shown} is not a valid option value: use ASCII letters, digits, - and _, "
            f"for example {suggest_identifier(str(value))!r}."
        )
    return f"{shown} does not have the expected form ({pattern})."


def _error_message(error: ErrorDetails) -> str:
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "string_pattern_mismatch":
        return _pattern_message(str(ctx.get("pattern", "")), error.get("input"))
    if kind == "extra_forbidden":
        return "This key is not part of the spec; remove it or check its spelling."
    if kind == "missing":
        return "This key is required; add it."
    message = _one_line(str(error.get("msg", "Invalid value")))
    return f"{message[:1].upper()}{message[1:]}; correct the value."


def _path_of(loc: tuple, data: Any) -> str:
    path = ""
    current = data
    previous: Any = None
    for part in loc:
        if isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            item = current[part]
            key = item.get("id", item.get("value")) if isinstance(item, dict) else None
            label = key if isinstance(key, str) and _SAFE_KEY.match(key) else part
            path += f"[{label}]"
            current = item
        elif isinstance(current, dict) and part in current:
            safe = isinstance(part, str) and _SAFE_KEY.match(part)
            if not safe:
                path += f"[{_one_line(repr(part))[:40]}]"
            elif previous in _MAPPING_FIELDS:
                path += f"[{part}]"
            else:
                path += f".{part}" if path else part
            current = current[part]
        elif isinstance(current, dict) and current.get("kind") == part:
            continue  # the tag pydantic adds for discriminated unions
        elif part == "[key]":
            continue
        else:
            text = part if isinstance(part, str) and _SAFE_KEY.match(part) else repr(part)
            path += f".{text}" if path else str(text)
            current = None
        previous = part
    return path


def pydantic_problems(error: ValidationError, data: Any) -> list[SpecProblem]:
    """Pydantic errors as problems with spec paths (ids in brackets where known)."""
    problems = []
    for item in error.errors(include_url=False):
        problems.append(SpecProblem(_path_of(tuple(item["loc"]), data), _error_message(item)))
    return problems


# --- dumping -----------------------------------------------------------------------------


@functools.cache
def _defaults(model: type[BaseModel]) -> dict[str, Any]:
    return {
        name: field.get_default(call_default_factory=True)
        for name, field in model.model_fields.items()
    }


def _compact(value: Any) -> Any:
    if isinstance(value, BaseModel):
        result = {}
        for name, default in _defaults(type(value)).items():
            item = getattr(value, name)
            if name in ALWAYS_DUMPED or item != default:
                result[name] = _compact(item)
        return result
    if isinstance(value, list):
        return [_compact(item) for item in value]
    if isinstance(value, dict):
        return {key: _compact(item) for key, item in value.items()}
    if hasattr(value, "value") and isinstance(getattr(value, "value", None), str):
        return value.value  # StrEnum members
    return value


def spec_as_data(spec: AppSpec) -> dict[str, Any]:
    """The spec as plain data in model key order, without default values."""
    return _compact(spec)


def spec_dump(spec: AppSpec, *, fmt: str = "yaml") -> str:
    """The spec as YAML or JSON text; the same spec always gives the same text."""
    data = spec_as_data(spec)
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if fmt == "yaml":
        return yaml.dump(
            data,
            Dumper=_DUMPER,
            sort_keys=False,
            allow_unicode=True,
            default_flow_style=False,
            width=100,
        )
    raise ValueError(f"Unknown format {fmt!r}; use 'yaml' or 'json'.")


def app_spec_schema_text() -> str:
    """The JSON Schema of app specs, as committed in ``app_spec.schema.json``."""
    schema = AppSpec.model_json_schema()
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
