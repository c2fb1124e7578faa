"""Data impact: each change counts the live values it touches, in the installed crm app.

The template spec describes ``crm``, which is installed in the test process, so a diff from
the template is counted against crm's real tables.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from crm.models import Company, Contact, Deal, Pipeline
from factory.evolution.diff import ChangeClass, spec_diff
from factory.evolution.impact import spec_diff_impact, spec_diff_impact_text, spec_diff_uncounted
from factory.spec.models import ChoiceOptionSpec
from factory.spec.template import template_app_spec

pytestmark = pytest.mark.django_db


def _field(spec, entity_id, name):
    return next(f for f in spec.entity(entity_id).fields if f.name == name)


@pytest.fixture
def companies():
    return [
        Company.objects.create(name="Acme", city="Lyon", country="France", industry="software"),
        Company.objects.create(name="Globex", city="", country="United Kingdom of Great Britain"),
        Company.objects.create(name="Initech", city="Paris", industry="software"),
    ]


def test_removal_narrowing_and_option_removal_are_counted(companies):
    companies[2].archive()  # archived rows still hold data: they count
    old = template_app_spec()
    new = old.model_copy(deep=True)
    company = new.entity("company")
    company.fields = [f for f in company.fields if f.name != "city"]
    _field(new, "company", "country").max_length = 10
    industry = next(item for item in new.choice_lists if item.key == "industry")
    industry.options = [o for o in industry.options if o.value != "software"]

    impact = spec_diff_impact(spec_diff(old=old, new=new), app_label="crm")

    assert [(item.change.classification, item.count, item.sentence) for item in impact.impacts] == [
        (
            ChangeClass.DESTRUCTIVE,
            1,
            "Narrows field country on Company (max length 120 → 10) — a value that does not"
            " fit stops the change: 1 value does not fit",
        ),
        (ChangeClass.DESTRUCTIVE, 2, "Removes field city from Company: 2 values"),
        (
            ChangeClass.DESTRUCTIVE,
            2,
            "Removes option 'Software' (software) from choice list industry: 2 values use it",
        ),
    ]
    assert Company.all_objects.count() == 3  # counting changed nothing


def test_entity_removal_and_renames_count_rows_and_values(companies):
    Contact.objects.create(last_name="Doe", company=companies[0], job_title="CTO")
    Contact.objects.create(last_name="Roe")
    old = template_app_spec()
    new = old.model_copy(deep=True)
    new.entity("contact").name = "Person"
    _field(new, "contact", "job_title").name = "position"
    new.entities = [e for e in new.entities if e.id != "contact_phone"]

    impact = spec_diff_impact(spec_diff(old=old, new=new), app_label="crm")

    assert [(item.change.classification, item.count, item.sentence) for item in impact.impacts] == [
        (ChangeClass.SAFE, 2, "Renames entity Contact to Person — keeps all rows (2 rows)"),
        (
            ChangeClass.SAFE,
            1,
            "Renames field job_title to position on Person — keeps all values (1 value)",
        ),
        (
            ChangeClass.DESTRUCTIVE,
            0,
            "Removes entity ContactPhone and all its rows: 0 rows",
        ),
    ]
    assert (Contact.all_objects.count(), Company.all_objects.count()) == (2, 3)


def test_decimal_places_down_counts_values_that_would_round():
    pipeline = Pipeline.objects.get(entity="deal", is_default=True)
    stage = pipeline.stages.first()
    for amount in ("10.00", "10.50", "99.99"):
        Deal.objects.create(name="d", pipeline=pipeline, stage=stage, amount=Decimal(amount))
    old = template_app_spec()
    new = old.model_copy(deep=True)
    _field(new, "deal", "amount").decimal_places = 0

    (item,) = spec_diff_impact(spec_diff(old=old, new=new), app_label="crm").impacts

    assert (item.change.classification, item.count, item.sentence) == (
        ChangeClass.DESTRUCTIVE,
        2,
        "Narrows field amount on Deal (decimal places 2 → 0) — a value that does not fit stops"
        " the change: 2 values do not fit",
    )
    assert sorted(Deal.all_objects.values_list("amount", flat=True)) == [
        Decimal("10.00"),
        Decimal("10.50"),
        Decimal("99.99"),
    ]


def test_stage_removal_counts_records_at_that_stage():
    pipeline = Pipeline.objects.get(entity="deal", is_default=True)
    first, second = pipeline.stages.order_by("order")[:2]
    Deal.objects.create(name="a", pipeline=pipeline, stage=first)
    Deal.objects.create(name="b", pipeline=pipeline, stage=first)
    Deal.objects.create(name="c", pipeline=pipeline, stage=second)
    old = template_app_spec()
    new = old.model_copy(deep=True)
    spec_pipeline = next(p for p in new.pipelines if p.name == pipeline.name)
    spec_pipeline.stages = [s for s in spec_pipeline.stages if s.name != first.name]

    (item,) = spec_diff_impact(spec_diff(old=old, new=new), app_label="crm").impacts

    assert (item.change.classification, item.count, item.sentence) == (
        ChangeClass.DESTRUCTIVE,
        2,
        "Removes stage 'Lead' from pipeline 'Sales' of Deal: 2 records are at this stage",
    )
    assert sorted(Deal.all_objects.values_list("name", "stage__name")) == [
        ("a", first.name),
        ("b", first.name),
        ("c", second.name),
    ]


def test_text_to_choice_counts_values_matching_no_option(companies):
    old = template_app_spec()
    new = old.model_copy(deep=True)
    country = _field(new, "company", "country")
    country.type = "choice"
    country.max_length = None
    country.choice_list = "industry"  # any list will do: France and the UK match none of it
    next(item for item in new.choice_lists if item.key == "industry").options.append(
        ChoiceOptionSpec(value="fr", label="France")
    )

    impact = spec_diff_impact(spec_diff(old=old, new=new), app_label="crm")

    assert [(item.change.classification, item.count, item.sentence) for item in impact.impacts] == [
        (
            # Safe: a value that matches no option stops the change, nothing is lost.
            ChangeClass.SAFE,
            1,
            "Converts field country on Company (text → choice from list industry) — each value"
            " is matched to an option by value or label; a value that matches none stops the"
            " change: 1 value matches no option",
        ),
        (ChangeClass.SAFE, None, "Adds option 'France' (fr) to choice list industry"),
    ]


def test_without_an_app_nothing_is_counted_and_the_text_says_so(companies):
    old = template_app_spec()
    new = old.model_copy(deep=True)
    _field(new, "company", "city").name = "town"

    impact = spec_diff_uncounted(spec_diff(old=old, new=new))

    assert spec_diff_impact_text(impact) == (
        "1 change, overall: safe\n"
        "  safe             Renames field city to town on Company — keeps all values\n"
        "No live data counted (name an installed app with --app to count values)."
    )
