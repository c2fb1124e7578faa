"""The spec diff classifies each kind of change exactly, with its plain-language sentence."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from factory.evolution.diff import ChangeClass, ChangeKind, SpecChange, spec_diff
from factory.spec.models import AppSpec, ChoiceOptionSpec, EntitySpec, FieldSpec
from tests.evolution.specs import field_of, recruiting_spec

SAFE, NEEDS_DEFAULT, DESTRUCTIVE = (
    ChangeClass.SAFE,
    ChangeClass.NEEDS_DEFAULT,
    ChangeClass.DESTRUCTIVE,
)


def _candidate_field(field_id: str) -> Callable[[AppSpec], FieldSpec]:
    return lambda spec: field_of(spec, "candidate", f"candidate_{field_id}")


def _client_field(field_id: str) -> Callable[[AppSpec], FieldSpec]:
    return lambda spec: field_of(spec, "client", f"client_{field_id}")


def _set(getter: Callable[[AppSpec], object], **changes: object) -> Callable[[AppSpec], None]:
    def change(spec: AppSpec) -> None:
        target = getter(spec)
        for name, value in changes.items():
            setattr(target, name, value)

    return change


def _add_candidate_field(**options: object) -> Callable[[AppSpec], None]:
    def change(spec: AppSpec) -> None:
        spec.entity("candidate").fields.append(
            FieldSpec(id="candidate_extra", name="extra", label="extra", **options)
        )

    return change


def _remove_client_budget(spec: AppSpec) -> None:
    client = spec.entity("client")
    client.fields = [f for f in client.fields if f.id != "client_budget"]


def _add_entity(spec: AppSpec) -> None:
    spec.entities.append(
        EntitySpec(
            id="placement",
            name="Placement",
            label="placement",
            label_plural="placements",
            fields=[FieldSpec(id="placement_fee", name="fee", label="fee", type="money")],
        )
    )


def _remove_client(spec: AppSpec) -> None:
    spec.entities = [e for e in spec.entities if e.id != "client"]


def _add_option(spec: AppSpec) -> None:
    spec.choice_lists[0].options.append(ChoiceOptionSpec(value="principal", label="Principal"))


def _remove_option(spec: AppSpec) -> None:
    spec.choice_lists[0].options = [o for o in spec.choice_lists[0].options if o.value != "lead"]


CASES: list[tuple[str, Callable[[AppSpec], None], list[tuple[ChangeKind, ChangeClass, str]]]] = [
    (
        "rename field",
        _set(_candidate_field("salary"), name="expected_salary"),
        [
            (
                ChangeKind.FIELD_RENAMED,
                SAFE,
                "Renames field salary to expected_salary on Candidate — keeps all values",
            )
        ],
    ),
    (
        "rename entity",
        _set(lambda spec: spec.entity("candidate"), name="Applicant"),
        [
            (
                ChangeKind.ENTITY_RENAMED,
                SAFE,
                "Renames entity Candidate to Applicant — keeps all rows",
            )
        ],
    ),
    (
        "add optional field",
        _add_candidate_field(type="text"),
        [(ChangeKind.FIELD_ADDED, SAFE, "Adds optional field extra (text) to Candidate")],
    ),
    (
        "add required field with a default",
        _add_candidate_field(type="integer", required=True, default=3),
        [
            (
                ChangeKind.FIELD_ADDED,
                SAFE,
                "Adds required field extra (integer) to Candidate — existing rows get 3",
            )
        ],
    ),
    (
        "add required field without default",
        _add_candidate_field(type="date", required=True),
        [
            (
                ChangeKind.FIELD_ADDED,
                NEEDS_DEFAULT,
                "Adds required field extra (date) to Candidate, with no default — existing rows"
                " need a value",
            )
        ],
    ),
    (
        "add entity",
        _add_entity,
        [(ChangeKind.ENTITY_ADDED, SAFE, "Adds entity Placement with 1 field")],
    ),
    (
        "widen max length",
        _set(_candidate_field("title"), max_length=200),
        [
            (
                ChangeKind.FIELD_WIDENED,
                SAFE,
                "Widens field title on Candidate (max length 100 → 200) — keeps all values",
            )
        ],
    ),
    (
        "widen decimal digits",
        _set(_client_field("budget"), max_digits=14),
        [
            (
                ChangeKind.FIELD_WIDENED,
                SAFE,
                "Widens field budget on Client (digits 10 → 14) — keeps all values",
            )
        ],
    ),
    (
        "text to long text",
        _set(_candidate_field("title"), type="long_text", max_length=None),
        [
            (
                ChangeKind.FIELD_WIDENED,
                SAFE,
                "Widens field title on Candidate (text → long text) — keeps all values",
            )
        ],
    ),
    (
        "integer to decimal",
        _set(_candidate_field("salary"), type="decimal", max_digits=14, decimal_places=2),
        [
            (
                ChangeKind.FIELD_WIDENED,
                SAFE,
                "Widens field salary on Candidate (integer → decimal) — keeps all values",
            )
        ],
    ),
    (
        "required to optional",
        _set(_candidate_field("full_name"), required=False),
        [(ChangeKind.FIELD_MADE_OPTIONAL, SAFE, "Makes field full_name on Candidate optional")],
    ),
    (
        "add choice option",
        _add_option,
        [
            (
                ChangeKind.CHOICE_OPTION_ADDED,
                SAFE,
                "Adds option 'Principal' (principal) to choice list seniority",
            )
        ],
    ),
    (
        "optional to required without default",
        _set(_candidate_field("salary"), required=True),
        [
            (
                ChangeKind.FIELD_MADE_REQUIRED,
                NEEDS_DEFAULT,
                "Makes field salary on Candidate required — rows without a value need a default",
            )
        ],
    ),
    (
        "remove field",
        _remove_client_budget,
        [(ChangeKind.FIELD_REMOVED, DESTRUCTIVE, "Removes field budget from Client")],
    ),
    (
        "remove entity",
        _remove_client,
        [(ChangeKind.ENTITY_REMOVED, DESTRUCTIVE, "Removes entity Client and all its rows")],
    ),
    (
        "remove choice option",
        _remove_option,
        [
            (
                ChangeKind.CHOICE_OPTION_REMOVED,
                DESTRUCTIVE,
                "Removes option 'Lead developer' (lead) from choice list seniority",
            )
        ],
    ),
    (
        "narrow max length",
        _set(_candidate_field("title"), max_length=40),
        [
            (
                ChangeKind.FIELD_NARROWED,
                DESTRUCTIVE,
                "Narrows field title on Candidate (max length 100 → 40) — a value that does"
                " not fit stops the change",
            )
        ],
    ),
    (
        "fewer decimal places",
        _set(_client_field("budget"), decimal_places=0),
        [
            (
                ChangeKind.FIELD_NARROWED,
                DESTRUCTIVE,
                "Narrows field budget on Client (decimal places 2 → 0) — a value that does"
                " not fit stops the change",
            )
        ],
    ),
    (
        "text to integer",
        _set(_candidate_field("title"), type="integer", max_length=None),
        [
            (
                ChangeKind.FIELD_REPLACED,
                DESTRUCTIVE,
                "Changes field title on Candidate (text → integer) — the values cannot convert"
                " and are discarded",
            )
        ],
    ),
    (
        "date to integer",
        _set(_candidate_field("available_from"), type="integer"),
        [
            (
                ChangeKind.FIELD_REPLACED,
                DESTRUCTIVE,
                "Changes field available_from on Candidate (date → integer) — the values cannot"
                " convert and are discarded",
            )
        ],
    ),
    (
        "text to choice",
        _set(_candidate_field("level"), type="choice", choice_list="seniority", max_length=None),
        [
            (
                ChangeKind.FIELD_CONVERTED,
                SAFE,
                "Converts field level on Candidate (text → choice from list seniority) — each"
                " value is matched to an option by value or label; a value that matches none"
                " stops the change",
            )
        ],
    ),
    (
        "text to choice with a default for unmatched values",
        _set(
            _candidate_field("level"),
            type="choice",
            choice_list="seniority",
            max_length=None,
            default="junior",
        ),
        [
            (
                ChangeKind.FIELD_CONVERTED,
                DESTRUCTIVE,
                "Converts field level on Candidate (text → choice from list seniority) — each"
                " value is matched to an option by value or label; a value that matches none"
                " becomes 'junior'",
            ),
            (
                ChangeKind.FIELD_DEFAULT_CHANGED,
                SAFE,
                "Changes the default of field level on Candidate from no default to 'junior' —"
                " existing values stay",
            ),
        ],
    ),
    (
        "relabel field",
        _set(_candidate_field("bio"), label="biography"),
        [
            (
                ChangeKind.FIELD_RELABELLED,
                SAFE,
                "Changes the label or help text of field bio on Candidate ('bio' → 'biography')",
            )
        ],
    ),
    (
        "make unique",
        _set(_client_field("company_name"), unique=True),
        [
            (
                ChangeKind.FIELD_UNIQUE_ADDED,
                DESTRUCTIVE,
                "Makes field company_name on Client unique — refused while two rows share a value",
            )
        ],
    ),
]


@pytest.mark.parametrize(
    ("mutate", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_each_change_kind_is_classified_with_its_sentence(mutate, expected):
    old = recruiting_spec()
    new = old.model_copy(deep=True)
    mutate(new)

    diff = spec_diff(old=old, new=new)

    assert [(c.kind, c.classification, c.sentence) for c in diff.changes] == expected


def test_identical_specs_have_no_change_and_are_safe():
    diff = spec_diff(old=recruiting_spec(), new=recruiting_spec())

    assert diff.changes == ()
    assert diff.classification == SAFE


def test_a_rename_is_recognised_by_id_not_by_resemblance():
    """Removing salary and adding a new field with the same shape is no rename."""
    old = recruiting_spec()
    new = old.model_copy(deep=True)
    candidate = new.entity("candidate")
    candidate.fields = [f for f in candidate.fields if f.id != "candidate_salary"]
    candidate.fields.append(
        FieldSpec(id="candidate_pay", name="pay", label="salary", type="integer")
    )

    diff = spec_diff(old=old, new=new)

    assert [(c.kind, c.field_id) for c in diff.changes] == [
        (ChangeKind.FIELD_ADDED, "candidate_pay"),
        (ChangeKind.FIELD_REMOVED, "candidate_salary"),
    ]
    assert diff.renamed_fields() == {}
    assert diff.classification == DESTRUCTIVE


def test_rename_with_type_change_lists_both_and_keeps_ids():
    old = recruiting_spec()
    new = old.model_copy(deep=True)
    salary = field_of(new, "candidate", "candidate_salary")
    salary.name = "expected_salary"
    salary.type = "decimal"
    new.entity("candidate").name = "Applicant"

    diff = spec_diff(old=old, new=new)

    assert diff.renamed_entities() == {"candidate": ("Candidate", "Applicant")}
    assert diff.renamed_fields() == {
        ("candidate", "candidate_salary"): ("salary", "expected_salary")
    }
    assert [c.sentence for c in diff.changes] == [
        "Renames entity Candidate to Applicant — keeps all rows",
        "Renames field salary to expected_salary on Applicant — keeps all values",
        "Widens field expected_salary on Applicant (integer → decimal) — keeps all values",
    ]


def test_fill_values_answer_a_new_required_field():
    old = recruiting_spec()
    new = old.model_copy(deep=True)
    _add_candidate_field(type="integer", required=True)(new)

    diff = spec_diff(old=old, new=new, fill_values={"candidate_extra": 7})

    (change,) = diff.changes
    assert isinstance(change, SpecChange)
    assert (change.classification, change.fill_value, change.fill_given) == (
        NEEDS_DEFAULT,
        7,
        True,
    )
    assert change.sentence == (
        "Adds required field extra (integer) to Candidate — existing rows get 7"
    )


def test_overall_class_is_the_riskiest_change():
    old = recruiting_spec()
    new = old.model_copy(deep=True)
    _add_option(new)
    _set(_candidate_field("salary"), required=True)(new)

    assert spec_diff(old=old, new=new).classification == NEEDS_DEFAULT
    _remove_client(new)
    assert spec_diff(old=old, new=new).classification == DESTRUCTIVE
