"""CSV import and export of records, for any model of any app built on the kit.

An import is two steps on the same file content: ``csv_import_preview`` reads it and says,
row by row, what would be created, updated, left unchanged or refused (with the reason);
``csv_import_apply`` recomputes that same plan and saves it in one transaction. Rows are
matched on a unique key column (email for contacts, domain for companies) and
updated-or-created. A file that cannot be read as a whole (not UTF-8 text, not CSV, a
missing key or required column) raises ``CsvFileError`` and nothing is imported. Rows with
errors are reported and skipped: after an explicit confirmation only the valid rows are
applied. ``csv_export`` writes the same columns the import reads, so an exported file can
be edited and imported back. This module holds no HTTP code: admin views orchestrate it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction

from crm.kit.current_user import acting_as
from crm.kit.fields import ChoiceListField, choice_list_options
from crm.kit.models import Record

MAX_FILE_BYTES = 5 * 1024 * 1024
# Spreadsheets run cells that start with these as formulas; the export neutralises them
# with a leading quote (and the import removes that quote again).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_BOOLEAN_CELLS = {
    "yes": True,
    "true": True,
    "1": True,
    "y": True,
    "no": False,
    "false": False,
    "0": False,
    "n": False,
}
_KEY_LOOKUP_CHUNK = 500


class CsvFileError(Exception):
    """The file as a whole cannot be imported; the message tells the user what to fix."""


@dataclass(frozen=True)
class CsvConfig:
    """Which columns of a model are exported and imported, and how rows are matched."""

    model: type[models.Model]
    fields: tuple[str, ...]
    key_field: str | None = None
    key_normaliser: Callable[[Any], Any] | None = None
    # For a foreign key column: the field of the related model written in the cell.
    relation_keys: Mapping[str, str] = field(default_factory=dict)

    def model_field(self, name: str) -> models.Field:
        model_field = self.model._meta.get_field(name)
        if not isinstance(model_field, models.Field):
            raise ValueError(
                f"{name!r} is a reverse relation of {self.model.__name__}, not one of its "
                "columns; list only the model's own fields."
            )
        return model_field


def csv_fields_default(model: type[models.Model]) -> tuple[str, ...]:
    """Editable columns of a model: its own fields and foreign keys, no stamps, no ids."""
    names = []
    for model_field in model._meta.concrete_fields:
        if model_field.primary_key or not model_field.editable:
            continue
        if issubclass(model, Record) and model_field.name == "owner":
            continue
        if model_field.name in {"target_type", "target_id"}:
            continue
        names.append(model_field.name)
    return tuple(names)


def column_title(model_field: models.Field) -> str:
    return str(model_field.verbose_name).capitalize()


def _header_token(text: str) -> str:
    return re.sub(r"[\s_\-]+", " ", text.strip().lower())


def _relation_key(config: CsvConfig, model_field: models.Field) -> str:
    if model_field.name in config.relation_keys:
        return config.relation_keys[model_field.name]
    related = _related_model(model_field)
    if related is get_user_model():
        return related.USERNAME_FIELD
    names = {f.name for f in related._meta.concrete_fields}
    return "name" if "name" in names else "pk"


# --- Export -------------------------------------------------------------------------


def _neutralise_formula(text: str) -> str:
    return f"'{text}" if text.startswith(FORMULA_PREFIXES) else text


def _choice_labels(config: CsvConfig) -> dict[str, dict[str, str]]:
    labels = {}
    for name in config.fields:
        model_field = config.model_field(name)
        if isinstance(model_field, ChoiceListField):
            labels[name] = dict(
                choice_list_options(config.model._meta.app_label, model_field.choice_list)
            )
    return labels


def _cell(config: CsvConfig, record: models.Model, name: str, labels: dict) -> str:
    model_field = config.model_field(name)
    if model_field.is_relation:
        related = getattr(record, name)
        if related is None:
            return ""
        return _neutralise_formula(str(getattr(related, _relation_key(config, model_field))))
    value = getattr(record, model_field.attname)
    if value is None:
        return ""
    if name in labels:
        return _neutralise_formula(labels[name].get(value, value))
    if isinstance(model_field, models.BooleanField):
        return "yes" if value else "no"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return _neutralise_formula(str(value))


def csv_export(*, config: CsvConfig, queryset: models.QuerySet) -> Iterator[str]:
    """The CSV text of ``queryset``, line by line: a header row of column titles, then rows.

    Starts with a byte-order mark so spreadsheets open accented text correctly.
    """
    relations = [n for n in config.fields if config.model_field(n).is_relation]
    labels = _choice_labels(config)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([column_title(config.model_field(name)) for name in config.fields])
    yield "\ufeff" + buffer.getvalue()
    for record in queryset.select_related(*relations).iterator(chunk_size=1000):
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([_cell(config, record, name, labels) for name in config.fields])
        yield buffer.getvalue()


# --- Reading a file -----------------------------------------------------------------


def csv_decode(*, content: bytes) -> str:
    """The text of an uploaded file, or ``CsvFileError`` saying why it cannot be read."""
    if not content.strip():
        raise CsvFileError("The file is empty. Choose a CSV file with a header row and rows.")
    if len(content) > MAX_FILE_BYTES:
        raise CsvFileError(
            f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB. "
            "Split it into smaller files and import them one after the other."
        )
    if content.startswith(b"PK\x03\x04"):
        raise CsvFileError(
            "This looks like an Excel or OpenDocument workbook, not a CSV file. "
            "In your spreadsheet use 'Save as' → 'CSV UTF-8', then upload that file."
        )
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise CsvFileError(
            f"The file is not UTF-8 text (unreadable byte at position {error.start}). "
            "In your spreadsheet use 'Save as' → 'CSV UTF-8', then upload that file."
        ) from error
    if "\x00" in text:
        raise CsvFileError("This file is not a CSV text file. Upload a file saved as CSV.")
    return text


def _delimiter(header_line: str) -> str:
    """Comma, semicolon or tab: whichever the header line uses most (spreadsheets differ)."""
    counts = {delimiter: header_line.count(delimiter) for delimiter in (",", ";", "\t")}
    best = max(counts, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


def _read_rows(text: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    first_line = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text), delimiter=_delimiter(first_line), strict=True)
    try:
        header = next(reader, None)
        rows = []
        for cells in reader:
            if any(cell.strip() for cell in cells):
                rows.append((reader.line_num, cells))
    except csv.Error as error:
        raise CsvFileError(
            f"The file is not valid CSV near line {reader.line_num} ({error}). "
            "Check for an unclosed quote, or save the file again as CSV."
        ) from error
    if not header or not any(cell.strip() for cell in header):
        raise CsvFileError("The first line of the file must be a header row naming the columns.")
    return header, rows


def _required_fields(config: CsvConfig) -> list[str]:
    """Columns a file must have: the key, and the fields a new record cannot do without."""
    required = [config.key_field] if config.key_field else []
    for name in config.fields:
        model_field = config.model_field(name)
        if not model_field.blank and not model_field.has_default() and not model_field.null:
            required.append(name)
    return list(dict.fromkeys(required))


def _match_columns(config: CsvConfig, header: list[str]) -> tuple[dict[int, str], list[str]]:
    """Map column positions to field names; columns that match no field are ignored."""
    by_token = {}
    for name in config.fields:
        model_field = config.model_field(name)
        by_token[_header_token(name)] = name
        by_token[_header_token(str(model_field.verbose_name))] = name
    columns: dict[int, str] = {}
    ignored: list[str] = []
    for position, title in enumerate(header):
        matched = by_token.get(_header_token(title))
        if matched is None:
            if title.strip():
                ignored.append(title.strip())
            continue
        if matched in columns.values():
            raise CsvFileError(
                f"The column {title.strip()!r} appears twice in the header. "
                "Keep one column per field and upload the file again."
            )
        columns[position] = matched
    missing = [name for name in _required_fields(config) if name not in columns.values()]
    if missing:
        titles = ", ".join(repr(column_title(config.model_field(name))) for name in missing)
        raise CsvFileError(
            f"The header row has no column {titles}, which this import needs. "
            "Add the column (its title is the field's name) and upload the file again."
        )
    return columns, ignored


# --- Planning an import -------------------------------------------------------------


@dataclass
class ImportRow:
    """One data row of the file and what the import does with it."""

    line: int
    action: str  # "create", "update", "unchanged" or "error"
    key: str = ""
    changes: list[tuple[str, str, str]] = field(default_factory=list)  # (column, old, new)
    errors: list[str] = field(default_factory=list)
    instance: models.Model | None = field(default=None, repr=False)


@dataclass
class ImportPlan:
    rows: list[ImportRow]
    columns: list[str]
    ignored_columns: list[str]

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)

    @property
    def to_create(self) -> int:
        return self.count("create")

    @property
    def to_update(self) -> int:
        return self.count("update")

    @property
    def unchanged(self) -> int:
        return self.count("unchanged")

    @property
    def error_rows(self) -> list[ImportRow]:
        return [row for row in self.rows if row.action == "error"]

    @property
    def applicable(self) -> int:
        return self.to_create + self.to_update


@dataclass
class ImportResult:
    created: int
    updated: int
    unchanged: int
    error_rows: list[ImportRow]


class _CellReader:
    """Turns cell text into field values, caching related-record and choice lookups."""

    def __init__(self, config: CsvConfig) -> None:
        self.config = config
        self._related: dict[tuple[str, str], Any] = {}
        self._choices: dict[str, dict[str, str]] = {}

    def value(self, name: str, text: str) -> Any:
        model_field = self.config.model_field(name)
        if text.startswith("'") and text[1:].startswith(FORMULA_PREFIXES):
            text = text[1:]
        if model_field.is_relation:
            return self._related_value(model_field, text)
        if isinstance(model_field, ChoiceListField):
            return self._choice_value(model_field, text)
        if isinstance(model_field, models.BooleanField):
            if text == "":
                return model_field.get_default()
            if text.lower() not in _BOOLEAN_CELLS:
                raise ValidationError(f"{text!r} is not yes or no.")
            return _BOOLEAN_CELLS[text.lower()]
        if text == "":
            return None if model_field.null else ""
        form_field = model_field.formfield()
        return form_field.clean(text) if form_field is not None else text

    def _choice_value(self, model_field: ChoiceListField, text: str) -> str:
        if text == "":
            return model_field.get_default() if model_field.has_default() else ""
        if model_field.name not in self._choices:
            options = model_field.options()
            lookup = {value.lower(): value for value, _label in options}
            lookup.update({label.lower(): value for value, label in options})
            self._choices[model_field.name] = lookup
        try:
            return self._choices[model_field.name][text.lower()]
        except KeyError:
            labels = ", ".join(label for _value, label in model_field.options())
            raise ValidationError(f"{text!r} is not one of: {labels}.") from None

    def _related_value(self, model_field: models.Field, text: str) -> Any:
        if text == "":
            return None
        cache_key = (model_field.name, text.lower())
        if cache_key not in self._related:
            related_model = _related_model(model_field)
            key = _relation_key(self.config, model_field)
            lookup = {"pk": text} if key == "pk" else {f"{key}__iexact": text}
            try:
                matches = list(related_model._default_manager.filter(**lookup)[:2])
            except (ValueError, ValidationError):
                matches = []
            self._related[cache_key] = matches
        matches = self._related[cache_key]
        noun = related_model_name(model_field)
        if not matches:
            raise ValidationError(
                f"no {noun} matches {text!r}; create it first or leave the cell empty."
            )
        if len(matches) > 1:
            raise ValidationError(f"several {noun} records match {text!r}; make it unique first.")
        return matches[0]


def related_model_name(model_field: models.Field) -> str:
    return str(_related_model(model_field)._meta.verbose_name)


def _related_model(model_field: models.Field) -> type[models.Model]:
    related = model_field.related_model
    assert related is not None, "only relation columns have a related model"
    return related


def _display(value: Any) -> str:
    if value is None:
        return ""
    return str(value)


def _existing_by_key(
    config: CsvConfig, key_field: str, keys: Iterable[Any]
) -> dict[Any, models.Model]:
    manager = getattr(config.model, "all_objects", config.model._default_manager)
    keys = list(keys)
    found = {}
    for start in range(0, len(keys), _KEY_LOOKUP_CHUNK):
        chunk = keys[start : start + _KEY_LOOKUP_CHUNK]
        for record in manager.filter(**{f"{key_field}__in": chunk}):
            found[getattr(record, key_field)] = record
    return found


def _row_values(
    reader: _CellReader, config: CsvConfig, columns: dict[int, str], cells: list[str]
) -> tuple[dict[str, Any], list[str]]:
    values: dict[str, Any] = {}
    errors: list[str] = []
    for position, name in columns.items():
        try:
            values[name] = reader.value(name, cells[position].strip())
        except ValidationError as error:
            title = column_title(config.model_field(name))
            errors.extend(f"{title}: {message}" for message in error.messages)
    return values, errors


def _key_of(config: CsvConfig, key_field: str, values: dict[str, Any]) -> Any:
    key = values.get(key_field)
    if config.key_normaliser is not None:
        key = config.key_normaliser(key)
    return key or None


def _validation_messages(config: CsvConfig, error: ValidationError) -> list[str]:
    if not hasattr(error, "error_dict"):
        return list(error.messages)
    messages: list[str] = []
    for name, field_errors in error.message_dict.items():
        prefix = "" if name == "__all__" else f"{column_title(config.model_field(name))}: "
        messages.extend(prefix + message for message in field_errors)
    return messages


def _plan_row(
    config: CsvConfig,
    row: ImportRow,
    values: dict[str, Any],
    existing: models.Model | None,
) -> None:
    instance = existing if existing is not None else config.model()
    for name, value in values.items():
        model_field = config.model_field(name)
        if existing is None:
            if value not in (None, ""):
                row.changes.append((column_title(model_field), "", _display(value)))
        elif model_field.is_relation:
            # Compare ids first: the old related record is only fetched when it changed.
            new_id = value.pk if value is not None else None
            if getattr(existing, model_field.attname) != new_id:
                old = getattr(existing, name)
                row.changes.append((column_title(model_field), _display(old), _display(value)))
        elif getattr(existing, name) != value:
            old = getattr(existing, name)
            row.changes.append((column_title(model_field), _display(old), _display(value)))
        setattr(instance, name, value)
    try:
        instance.full_clean()
    except ValidationError as error:
        row.action = "error"
        row.errors.extend(_validation_messages(config, error))
        return
    row.instance = instance
    if existing is None:
        row.action = "create"
    else:
        row.action = "update" if row.changes else "unchanged"


def _plan(config: CsvConfig, text: str, changeable: models.QuerySet) -> ImportPlan:
    key_field = config.key_field
    if key_field is None:
        raise ValueError(f"{config.model.__name__} has no import key configured.")
    header, raw_rows = _read_rows(text)
    columns, ignored = _match_columns(config, header)
    if not raw_rows:
        raise CsvFileError(
            "The file has a header row but no data rows: there is nothing to import."
        )
    reader = _CellReader(config)
    key_title = column_title(config.model_field(key_field))
    parsed: list[tuple[ImportRow, dict[str, Any], Any]] = []
    for line, cells in raw_rows:
        row = ImportRow(line=line, action="error")
        if len(cells) != len(header):
            row.errors.append(
                f"this row has {len(cells)} cells but the header has {len(header)} columns; "
                "check for a missing or extra separator."
            )
            parsed.append((row, {}, None))
            continue
        values, errors = _row_values(reader, config, columns, cells)
        row.errors.extend(errors)
        key = _key_of(config, key_field, values)
        if key is None and not errors:
            row.errors.append(f"{key_title} is empty; every row needs one to be matched.")
        if key is not None:
            values[key_field] = key
            row.key = str(key)
        parsed.append((row, values, key))

    keys = {key for _row, _values, key in parsed if key is not None}
    existing = _existing_by_key(config, key_field, keys)
    changeable_pks = set(
        changeable.filter(pk__in=[record.pk for record in existing.values()]).values_list(
            "pk", flat=True
        )
    )
    first_line_of_key: dict[Any, int] = {}
    noun = str(config.model._meta.verbose_name)
    for row, values, key in parsed:
        if key is not None and key in first_line_of_key:
            row.errors.append(
                f"{key_title} {key} is already on line {first_line_of_key[key]}; "
                "keep one row per record."
            )
        elif key is not None:
            first_line_of_key[key] = row.line
        record = existing.get(key)
        if record is not None and record.pk not in changeable_pks:
            row.errors.append(
                f"a {noun} with this {key_title.lower()} exists but you may not change it."
            )
        if row.errors:
            continue
        _plan_row(config, row, values, record)
    return ImportPlan(
        rows=[row for row, _values, _key in parsed],
        columns=[column_title(config.model_field(name)) for name in columns.values()],
        ignored_columns=ignored,
    )


def csv_import_preview(*, config: CsvConfig, text: str, changeable: models.QuerySet) -> ImportPlan:
    """What importing ``text`` would do, row by row; writes nothing.

    ``changeable`` is the queryset of records the importing user may change: a row whose
    key matches a record outside it is refused. Raises ``CsvFileError`` for a bad file.
    """
    return _plan(config, text, changeable)


def csv_import_apply(
    *, config: CsvConfig, text: str, changeable: models.QuerySet, user: Any = None
) -> ImportResult:
    """Import the valid rows of ``text`` in one transaction; rows with errors are skipped.

    Recomputes the plan so the outcome matches the data at the time of the confirmation.
    Raises ``CsvFileError`` (and writes nothing) for a bad file or a failing save.
    """
    plan = _plan(config, text, changeable)
    try:
        with acting_as(user), transaction.atomic():
            for row in plan.rows:
                if row.action in {"create", "update"}:
                    assert row.instance is not None, "planned rows carry their instance"
                    row.instance.save()
    except IntegrityError as error:
        raise CsvFileError(
            f"The import was cancelled and nothing was saved: the database refused a row "
            f"({error}). Someone may have changed the same records meanwhile; try again."
        ) from error
    return ImportResult(
        created=plan.to_create,
        updated=plan.to_update,
        unchanged=plan.unchanged,
        error_rows=plan.error_rows,
    )
