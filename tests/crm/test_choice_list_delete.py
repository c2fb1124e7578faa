"""Deleting a choice list: refused (409 in the API, no delete button in the admin) while
model fields take their values from it, allowed with its options once nothing uses it."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from crm import models
from crm.admin import crm_site
from crm.kit.selectors import choice_list_fields_using

pytestmark = pytest.mark.django_db

API = "/api/crm"


@pytest.fixture
def api(superuser) -> APIClient:
    client = APIClient()
    client.force_authenticate(superuser)
    return client


def options_of(choice_list) -> list[tuple[str, str]]:
    return list(
        models.ChoiceOption.objects.filter(choice_list_id=choice_list.pk)
        .order_by("order", "value")
        .values_list("value", "label")
    )


def test_the_fields_using_a_list_are_named_by_model_and_field():
    assert choice_list_fields_using(app_label="crm", key="contact_point_label") == [
        "ContactEmail.label",
        "ContactPhone.label",
    ]
    assert choice_list_fields_using(app_label="crm", key="industry") == ["Company.industry"]
    assert choice_list_fields_using(app_label="crm", key="nobody_uses_this") == []


def test_deleting_a_list_one_field_uses_answers_409_and_deletes_nothing(api):
    industry = models.ChoiceList.objects.get(key="industry")
    options_before = options_of(industry)
    lists_before = models.ChoiceList.objects.count()

    response = api.delete(f"{API}/choice-lists/{industry.pk}/")

    assert response.status_code == 409
    assert response.json() == {
        "detail": "The choice list 'industry' is used by the field Company.industry, so it "
        "cannot be deleted; deactivate the options you no longer want instead."
    }
    assert models.ChoiceList.objects.count() == lists_before
    assert models.ChoiceList.objects.get(pk=industry.pk).name == industry.name
    assert options_before
    assert options_of(industry) == options_before


def test_deleting_a_list_two_fields_use_names_both(api):
    labels = models.ChoiceList.objects.get(key="contact_point_label")
    options_before = options_of(labels)

    response = api.delete(f"{API}/choice-lists/{labels.pk}/")

    assert response.status_code == 409
    assert response.json()["detail"] == (
        "The choice list 'contact_point_label' is used by the fields ContactEmail.label and "
        "ContactPhone.label, so it cannot be deleted; deactivate the options you no longer "
        "want instead."
    )
    assert models.ChoiceList.objects.filter(pk=labels.pk).exists()
    assert options_of(labels) == options_before


def test_a_list_no_field_uses_is_deleted_with_its_options(api):
    spare = models.ChoiceList.objects.create(key="spare", name="Spare")
    models.ChoiceOption.objects.create(choice_list=spare, value="a", label="A")

    response = api.delete(f"{API}/choice-lists/{spare.pk}/")

    assert response.status_code == 204
    assert not models.ChoiceList.objects.filter(pk=spare.pk).exists()
    assert not models.ChoiceOption.objects.filter(choice_list_id=spare.pk).exists()


def test_the_admin_applies_the_same_rule(rf, superuser):
    list_admin = crm_site._registry[models.ChoiceList]
    request = rf.get("/")
    request.user = superuser
    industry = models.ChoiceList.objects.get(key="industry")
    spare = models.ChoiceList.objects.create(key="spare", name="Spare")

    assert list_admin.has_delete_permission(request, industry) is False
    assert list_admin.get_readonly_fields(request, industry) == ("key",)
    assert list_admin.has_delete_permission(request, spare) is True
    assert list_admin.get_readonly_fields(request, spare) == ()
