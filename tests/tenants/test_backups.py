"""Backups of an app's tables: snapshot, count what changed since, restore exactly.

The base ``crm`` app stands in for a tenant app: its tables are ``crm_*`` like a tenant's
are ``t_<slug>_*``, and the functions work by table name, never with the app's models.
"""

from __future__ import annotations

import pytest

from crm.models import Company, Contact
from factory.tenants.backups import (
    BackupMismatch,
    TableChanges,
    app_tables,
    snapshot_project,
    snapshot_read,
    snapshot_row_counts,
    snapshot_write,
    snapshots_compare,
    table_row_counts,
    tables_restore,
    tables_snapshot,
)

pytestmark = pytest.mark.django_db


def _names() -> list[str]:
    return sorted(Company.all_objects.values_list("name", flat=True))


def test_a_snapshot_holds_every_table_with_its_row_count(tmp_path) -> None:
    acme = Company.objects.create(name="Acme", domain="acme.example")
    Contact.objects.create(last_name="Ng", company=acme)
    snapshot = tables_snapshot(app_label="crm")
    assert set(snapshot["tables"]) == set(app_tables(app_label="crm"))
    counts = snapshot_row_counts(snapshot)
    assert counts["crm_company"] == 1
    assert counts["crm_contact"] == 1
    assert counts == table_row_counts(app_label="crm")
    assert "0001_initial" in snapshot["migrations"]
    path = tmp_path / "backup.json.gz"
    assert snapshot_write(snapshot=snapshot, path=path) == path.stat().st_size
    assert snapshot_read(path=path) == snapshot


def test_the_changes_since_a_snapshot_are_counted_per_table() -> None:
    kept = Company.objects.create(name="Kept")
    changed = Company.objects.create(name="Before")
    removed = Company.objects.create(name="Removed")
    before = tables_snapshot(app_label="crm")
    changed.name = "After"
    changed.save()
    removed.delete()
    Company.objects.create(name="Added")
    after = tables_snapshot(app_label="crm")
    changes = snapshots_compare(before=before, after=after)
    assert changes["crm_company"] == TableChanges(added=1, changed=1, removed=1)
    assert "crm_contact" not in changes
    # Compared on the name column only, the kept row is unchanged and so is nothing else.
    projected = snapshots_compare(
        before=snapshot_project(before, {"crm_company": ["id", "name"]}),
        after=snapshot_project(after, {"crm_company": ["id", "name"]}),
    )
    assert projected == {"crm_company": TableChanges(added=1, changed=1, removed=1)}
    assert kept.pk in Company.objects.values_list("pk", flat=True)


def test_a_restore_puts_back_exactly_the_rows_of_the_snapshot() -> None:
    acme = Company.objects.create(name="Acme", description="Línea 1\n\tindented")
    Contact.objects.create(last_name="Ng", company=acme, email="ng@acme.example")
    snapshot = tables_snapshot(app_label="crm")
    Company.objects.create(name="Written later")
    acme.name = "Renamed"
    acme.save()
    counts = tables_restore(snapshot=snapshot)
    assert counts == snapshot_row_counts(snapshot)
    assert _names() == ["Acme"]
    assert Company.all_objects.get().description == "Línea 1\n\tindented"
    assert snapshots_compare(before=snapshot, after=tables_snapshot(app_label="crm")) == {}
    new = Company.objects.create(name="After the restore")
    assert new.pk > acme.pk  # the id sequence continues after the restored rows


def test_a_snapshot_of_another_schema_is_refused_before_any_row_changes() -> None:
    Company.objects.create(name="Acme")
    snapshot = tables_snapshot(app_label="crm")
    snapshot["tables"]["crm_company"]["columns"].append("budget")
    Company.objects.create(name="Still here")
    with pytest.raises(BackupMismatch, match="migrate the app to the backed-up release first"):
        tables_restore(snapshot=snapshot)
    assert _names() == ["Acme", "Still here"]


def test_a_snapshot_from_another_database_engine_is_refused() -> None:
    snapshot = tables_snapshot(app_label="crm")
    snapshot["vendor"] = "oracle"
    Company.objects.create(name="Acme")
    with pytest.raises(BackupMismatch, match="taken on oracle"):
        tables_restore(snapshot=snapshot)
    assert _names() == ["Acme"]
