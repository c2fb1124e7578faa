"""Copies of an app's tables: take one, count what changed since, put one back.

A snapshot holds, for every table of an app (``<label>_*``), its columns and rows in the
database's own text form, so values come back exactly as they were, whatever the column
type: on PostgreSQL the rows of ``COPY ... TO STDOUT``, on SQLite the stored values (bytes
tagged as base64). Snapshots are written as gzipped JSON files under FACTORY_BACKUPS_DIR.
A restore needs the tables to have the snapshot's schema already (the caller migrates
the app to the backed-up release first); it then replaces every row in one transaction.
This module works with raw SQL on one connection and never imports an app's models.
"""

from __future__ import annotations

import base64
import datetime
import gzip
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from factory.tenants.naming import app_label_table_prefix

SNAPSHOT_FORMAT = 1


class BackupMismatch(Exception):
    """A snapshot that does not fit the tables it would be restored into."""


@dataclass(frozen=True)
class TableChanges:
    added: int = 0
    changed: int = 0
    removed: int = 0

    @property
    def total(self) -> int:
        return self.added + self.changed + self.removed


def app_tables(*, app_label: str, alias: str = "default") -> list[str]:
    """Every table of the app in the database (by name: Django names them ``<label>_...``)."""
    connection = connections[alias]
    prefix = app_label_table_prefix(app_label)
    with connection.cursor() as cursor:
        names = connection.introspection.table_names(cursor)
    return sorted(name for name in names if name.startswith(prefix))


def app_applied_migrations(*, app_label: str, alias: str = "default") -> list[str]:
    connection = connections[alias]
    if "django_migrations" not in connection.introspection.table_names():
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM django_migrations WHERE app = %s ORDER BY id", [app_label])
        return [row[0] for row in cursor.fetchall()]


def _columns_and_pk(
    connection: BaseDatabaseWrapper, cursor: Any, table: str
) -> tuple[list[str], str]:
    description = connection.introspection.get_table_description(cursor, table)
    columns = [column.name for column in description]
    pk = connection.introspection.get_primary_key_column(cursor, table) or columns[0]
    return columns, pk


def _column_list(connection: BaseDatabaseWrapper, columns: list[str]) -> str:
    return ", ".join(connection.ops.quote_name(column) for column in columns)


def _encode_sqlite_value(value: Any) -> Any:
    if isinstance(value, bytes | memoryview):
        return {"b64": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, datetime.date | datetime.time):
        # Django's SQLite cursor parses these columns; str() gives back the stored text
        # (Django writes them with str()).
        return str(value)
    return value


def _decode_sqlite_value(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"b64"}:
        return base64.b64decode(value["b64"])
    return value


def _read_table(connection: BaseDatabaseWrapper, cursor: Any, table: str) -> dict[str, Any]:
    columns, pk = _columns_and_pk(connection, cursor, table)
    quoted_table = connection.ops.quote_name(table)
    if connection.vendor == "postgresql":
        buffer = io.BytesIO()
        query = f"COPY {quoted_table} ({_column_list(connection, columns)}) TO STDOUT"
        with cursor.cursor.copy(query) as copy:
            for chunk in copy:
                buffer.write(chunk)
        # COPY escapes newlines inside values, so every row is exactly one "\n"-ended line.
        rows: list[Any] = buffer.getvalue().decode().split("\n")[:-1]
        form = "copy"
    else:
        cursor.execute(f"SELECT {_column_list(connection, columns)} FROM {quoted_table}")
        rows = [[_encode_sqlite_value(value) for value in row] for row in cursor.fetchall()]
        form = "rows"
    return {"columns": columns, "pk": pk, "format": form, "rows": rows}


def tables_snapshot(*, app_label: str, alias: str = "default") -> dict[str, Any]:
    """Every row of every table of the app, read in one transaction."""
    connection = connections[alias]
    tables = app_tables(app_label=app_label, alias=alias)
    outermost = not connection.in_atomic_block
    with transaction.atomic(using=alias), connection.cursor() as cursor:
        if connection.vendor == "postgresql" and outermost:
            # One consistent view of all tables while deploys of other tenants write.
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        data = {table: _read_table(connection, cursor, table) for table in tables}
    return {
        "format": SNAPSHOT_FORMAT,
        "vendor": connection.vendor,
        "app_label": app_label,
        "migrations": app_applied_migrations(app_label=app_label, alias=alias),
        "tables": data,
    }


def snapshot_row_counts(snapshot: dict[str, Any]) -> dict[str, int]:
    return {table: len(content["rows"]) for table, content in snapshot["tables"].items()}


def snapshot_write(*, snapshot: dict[str, Any], path: Path) -> int:
    """Write the snapshot as gzipped JSON (atomically); return the file's size in bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(path.name + ".part")
    with gzip.open(scratch, "wt", encoding="utf-8") as stream:
        json.dump(snapshot, stream, separators=(",", ":"))
    scratch.replace(path)
    return path.stat().st_size


def snapshot_read(*, path: Path) -> dict[str, Any]:
    with gzip.open(path, "rt", encoding="utf-8") as stream:
        return json.load(stream)


def _row_keys(content: dict[str, Any]) -> dict[str, str]:
    """pk (as text) → the row as text, to compare two snapshots of a table."""
    pk_index = content["columns"].index(content["pk"])
    keyed = {}
    for row in content["rows"]:
        if content["format"] == "copy":
            keyed[row.split("\t")[pk_index]] = row
        else:
            keyed[str(row[pk_index])] = json.dumps(row, sort_keys=True, default=str)
    return keyed


def snapshots_compare(
    *, before: Mapping[str, Any], after: Mapping[str, Any]
) -> dict[str, TableChanges]:
    """Per table, the rows added, changed and removed between two snapshots of an app.

    Tables are matched by name; a table only in ``after`` counts all its rows as added, a
    table only in ``before`` all its rows as removed. Unchanged tables are left out.
    """
    result: dict[str, TableChanges] = {}
    empty: dict[str, Any] = {"columns": ["id"], "pk": "id", "format": "rows", "rows": []}
    for table in sorted(set(before["tables"]) | set(after["tables"])):
        old = _row_keys(before["tables"].get(table, empty))
        new = _row_keys(after["tables"].get(table, empty))
        changes = TableChanges(
            added=len(new.keys() - old.keys()),
            removed=len(old.keys() - new.keys()),
            changed=sum(1 for key in new.keys() & old.keys() if new[key] != old[key]),
        )
        if changes.total:
            result[table] = changes
    return result


def _delete_rows(connection: BaseDatabaseWrapper, cursor: Any, tables: Iterable[str]) -> None:
    tables = list(tables)
    if not tables:
        return
    if connection.vendor == "postgresql":
        # TRUNCATE refuses tables with foreign-key checks still pending in this transaction:
        # run them now, then defer them again so rows can be loaded in any order.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            f"TRUNCATE {', '.join(connection.ops.quote_name(t) for t in tables)} RESTART IDENTITY"
        )
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        return
    for table in tables:
        cursor.execute(f"DELETE FROM {connection.ops.quote_name(table)}")


def _load_rows(
    connection: BaseDatabaseWrapper, cursor: Any, table: str, content: dict[str, Any]
) -> None:
    if not content["rows"]:
        return
    quoted = connection.ops.quote_name(table)
    columns = _column_list(connection, content["columns"])
    if content["format"] == "copy":
        with cursor.cursor.copy(f"COPY {quoted} ({columns}) FROM STDIN") as copy:
            copy.write("\n".join(content["rows"]) + "\n")
        return
    placeholders = ", ".join(["%s"] * len(content["columns"]))
    cursor.executemany(
        f"INSERT INTO {quoted} ({columns}) VALUES ({placeholders})",
        [[_decode_sqlite_value(value) for value in row] for row in content["rows"]],
    )


def _reset_sequences(connection: BaseDatabaseWrapper, cursor: Any, tables: dict[str, Any]) -> None:
    if connection.vendor != "postgresql":
        return  # SQLite continues from the largest rowid by itself
    for table, content in tables.items():
        cursor.execute(
            "SELECT pg_get_serial_sequence(%s, %s)",
            [connection.ops.quote_name(table), content["pk"]],
        )
        sequence = cursor.fetchone()[0]
        if sequence:
            quoted = connection.ops.quote_name(table)
            pk = connection.ops.quote_name(content["pk"])
            cursor.execute(
                f"SELECT setval(%s, COALESCE(MAX({pk}), 1), MAX({pk}) IS NOT NULL) FROM {quoted}",
                [sequence],
            )


def tables_restore(*, snapshot: dict[str, Any], alias: str = "default") -> dict[str, int]:
    """Replace every row of the app's tables by the snapshot's; return the row counts.

    The tables must have the snapshot's schema (same tables and columns); anything else is
    refused before a row is touched. Everything happens in one transaction.
    """
    connection = connections[alias]
    app_label = snapshot["app_label"]
    if snapshot.get("vendor") != connection.vendor:
        raise BackupMismatch(
            f"This backup was taken on {snapshot.get('vendor')} and cannot be restored into "
            f"{connection.vendor}."
        )
    current = app_tables(app_label=app_label, alias=alias)
    with connection.cursor() as cursor:
        for table, content in snapshot["tables"].items():
            if table not in current:
                raise BackupMismatch(f"The table {table} of the backup does not exist any more.")
            columns, _pk = _columns_and_pk(connection, cursor, table)
            if set(columns) != set(content["columns"]):
                raise BackupMismatch(
                    f"The columns of {table} differ from the backup's; migrate the app to the "
                    "backed-up release first."
                )
    with transaction.atomic(using=alias), connection.cursor() as cursor:
        _delete_rows(connection, cursor, current)
        for table, content in snapshot["tables"].items():
            _load_rows(connection, cursor, table, content)
        _reset_sequences(connection, cursor, snapshot["tables"])
    return table_row_counts(app_label=app_label, alias=alias)


def table_row_counts(*, app_label: str, alias: str = "default") -> dict[str, int]:
    connection = connections[alias]
    counts = {}
    with connection.cursor() as cursor:
        for table in app_tables(app_label=app_label, alias=alias):
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
            counts[table] = cursor.fetchone()[0]
    return counts


def snapshot_project(snapshot: dict[str, Any], columns: dict[str, list[str]]) -> dict[str, Any]:
    """The snapshot reduced to the given tables and columns (to compare two schemas' data)."""
    tables = {}
    for table, wanted in columns.items():
        content = snapshot["tables"].get(table)
        if content is None:
            continue
        indexes = [content["columns"].index(column) for column in wanted]
        if content["format"] == "copy":
            rows: list[Any] = [
                "\t".join(row.split("\t")[index] for index in indexes) for row in content["rows"]
            ]
        else:
            rows = [[row[index] for index in indexes] for row in content["rows"]]
        tables[table] = {**content, "columns": list(wanted), "rows": rows}
    return {**snapshot, "tables": tables}


def app_tables_drop(*, app_label: str, alias: str = "default") -> list[str]:
    """Drop every table of the app and forget its applied migrations; return the tables.

    Used to rebuild an app's schema from its migrations (a preview, a restore) and to clean
    up after a first deploy that failed half-way.
    """
    connection = connections[alias]
    tables = app_tables(app_label=app_label, alias=alias)
    quote = connection.ops.quote_name
    if connection.vendor == "postgresql":
        with transaction.atomic(using=alias), connection.cursor() as cursor:
            for table in tables:
                cursor.execute(f"DROP TABLE IF EXISTS {quote(table)} CASCADE")
            cursor.execute("DELETE FROM django_migrations WHERE app = %s", [app_label])
        return tables
    with connection.constraint_checks_disabled(), connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"DROP TABLE IF EXISTS {quote(table)}")
        cursor.execute("DELETE FROM django_migrations WHERE app = %s", [app_label])
    return tables
