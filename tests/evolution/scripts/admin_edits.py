"""Edits kit rows of an evolving app as an admin would, then reports its stages and options.

``SCRIPT LABEL EDITS.json``, run in the scratch process by the evolution tests: each edit is
[model name, lookup, values], applied with a plain ``save()`` like the admin's form. Prints
one line ``ADMIN-EDITS {...}``: the stages (key, name, probability, order) and the options
of the ``seniority`` list (value, label, colour, order), in their order.
"""

from __future__ import annotations

import json
import sys

from django.apps import apps


def main(label: str, edits: list[list]) -> dict:
    for model_name, lookup, values in edits:
        row = apps.get_model(label, model_name).objects.get(**lookup)
        for name, value in values.items():
            setattr(row, name, value)
        row.save()
    stages = apps.get_model(label, "Stage").objects.order_by("pipeline", "order", "pk")
    options = apps.get_model(label, "ChoiceOption").objects.filter(choice_list__key="seniority")
    return {
        "stages": [[stage.key, stage.name, stage.probability, stage.order] for stage in stages],
        "options": [
            [option.value, option.label, option.colour, option.order]
            for option in options.order_by("order", "pk")
        ],
    }


if __name__ == "__main__":
    report = main(sys.argv[1], json.loads(sys.argv[2]))
    print("ADMIN-EDITS " + json.dumps(report))
