"""Counts the stored values a spec change touches: ``SCRIPT QUERIES.json`` or imported.

A query is plain data built by ``factory.evolution.impact`` from a spec diff: a model and
field of the app as it is now (old names), what to count, and its parameters. The counts
are read with the app's current models, in whichever process has them: the factory's own
process for an installed app (``spec_diff_impact``), or a scratch process before a sandbox
evolution. Reads only; imports only Django and the standard library.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.apps import apps as global_apps
from django.core.exceptions import FieldDoesNotExist

REPORT_MARKER = "EVOLUTION-IMPACT "


def _normalise(text: str) -> str:
    return " ".join(text.replace("_", " ").replace("-", " ").split()).casefold()


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == []


class ImpactCounter:
    def __init__(self, *, app_label: str, using: str = "default", registry: Any = None) -> None:
        self.app_label = app_label
        self.using = using
        self.registry = registry or global_apps

    def _model(self, name: str) -> Any:
        return self.registry.get_model(self.app_label, name)

    def _rows(self, query: dict[str, Any]) -> Any:
        return self._model(query["model"])._base_manager.using(self.using)

    def _values(self, query: dict[str, Any]) -> Iterator[Any]:
        model = self._model(query["model"])
        field = model._meta.get_field(query["field"])
        if field.many_to_many:
            through = field.remote_field.through
            source = field.m2m_field_name()
            links = through._base_manager.using(self.using)
            yield from links.values_list(f"{source}_id", flat=True).iterator()
            return
        rows = self._rows(query).values_list(field.attname, flat=True)
        yield from rows.order_by().iterator()

    def count(self, query: dict[str, Any]) -> int:
        return getattr(self, f"_count_{query['count']}")(query)

    def _count_rows(self, query: dict[str, Any]) -> int:
        return self._rows(query).count()

    def _count_values(self, query: dict[str, Any]) -> int:
        return sum(1 for value in self._values(query) if not _is_empty(value))

    def _count_empty(self, query: dict[str, Any]) -> int:
        return sum(1 for value in self._values(query) if _is_empty(value))

    def _count_longer_than(self, query: dict[str, Any]) -> int:
        limit = query["limit"]
        return sum(1 for value in self._values(query) if value and len(str(value)) > limit)

    def _count_digits_overflow(self, query: dict[str, Any]) -> int:
        whole, places = query["whole_digits"], query["decimal_places"]
        overflow = 0
        for value in self._values(query):
            if value is None:
                continue
            number = Decimal(str(value))
            too_big = abs(number) >= Decimal(10) ** whole
            too_precise = number != round(number, places)
            overflow += too_big or too_precise
        return overflow

    def _count_unmatched(self, query: dict[str, Any]) -> int:
        mapping = query["mapping"]
        return sum(
            1
            for value in self._values(query)
            if not _is_empty(value) and _normalise(str(value)) not in mapping
        )

    def _count_option_used(self, query: dict[str, Any]) -> int:
        option = query["option"]
        used = 0
        for value in self._values(query):
            used += option in value if isinstance(value, list) else value == option
        return used

    def _count_duplicates(self, query: dict[str, Any]) -> int:
        counts = Counter(value for value in self._values(query) if not _is_empty(value))
        return sum(count for count in counts.values() if count > 1)

    def _count_out_of_range(self, query: dict[str, Any]) -> int:
        low, high = query["min_value"], query["max_value"]
        outside = 0
        for value in self._values(query):
            try:
                number = Decimal(str(value))
            except (InvalidOperation, ValueError):
                continue
            outside += (low is not None and number < Decimal(str(low))) or (
                high is not None and number > Decimal(str(high))
            )
        return outside

    def _count_in_pipeline(self, query: dict[str, Any]) -> int:
        # Records point at the kit's Pipeline and Stage rows, which carry names, not spec ids.
        filters = {"pipeline__name": query["pipeline"]}
        if query.get("stage") is not None:
            filters[f"{query['stage_field']}__name"] = query["stage"]
        return self._rows(query).filter(**filters).count()


def impact_counts(
    *, app_label: str, queries: list[dict[str, Any]], using: str = "default", registry: Any = None
) -> list[int | None]:
    """One count per query; None where the model or field does not exist in this app."""
    counter = ImpactCounter(app_label=app_label, using=using, registry=registry)
    counts: list[int | None] = []
    for query in queries:
        try:
            counts.append(counter.count(query))
        except (LookupError, FieldDoesNotExist):
            counts.append(None)
    return counts


def main(argv: list[str]) -> int:
    request = json.loads(Path(argv[0]).read_text())
    counts = impact_counts(app_label=request["app_label"], queries=request["queries"])
    print(REPORT_MARKER + json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
