"""factory-boy factories for the base CRM: used by tests and by ``seed_demo``."""

from __future__ import annotations

import importlib
import random
from decimal import Decimal

from django.contrib.auth import get_user_model

from crm import models
from crm.kit.factory_boy import factory

DjangoModelFactory = factory.django.DjangoModelFactory


class UserFactory(DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password("password")


class CompanyFactory(DjangoModelFactory):
    class Meta:
        model = models.Company

    name = factory.Faker("company")
    domain = factory.Sequence(lambda n: f"company{n}.example.com")
    industry = factory.LazyFunction(
        lambda: random.choice(["software", "services", "retail", "manufacturing", "health"])
    )
    phone = factory.Faker("phone_number")
    city = factory.Faker("city")
    country = factory.Faker("country")


class ContactFactory(DjangoModelFactory):
    class Meta:
        model = models.Contact

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"contact{n}@example.com")
    phone = factory.Faker("phone_number")
    job_title = factory.Faker("job")
    company = factory.SubFactory(CompanyFactory)


class ContactEmailFactory(DjangoModelFactory):
    class Meta:
        model = models.ContactEmail

    contact = factory.SubFactory(ContactFactory)
    email = factory.Sequence(lambda n: f"alt{n}@example.com")
    label = "personal"


class ContactPhoneFactory(DjangoModelFactory):
    class Meta:
        model = models.ContactPhone

    contact = factory.SubFactory(ContactFactory)
    number = factory.Sequence(lambda n: f"+3361234{n:04d}")
    label = "mobile"


def default_pipeline() -> models.Pipeline:
    return models.Pipeline.objects.filter(entity="deal").order_by("-is_default", "order").first()


class DealFactory(DjangoModelFactory):
    class Meta:
        model = models.Deal

    name = factory.Faker("catch_phrase")
    company = factory.SubFactory(CompanyFactory)
    pipeline = factory.LazyFunction(default_pipeline)
    stage = factory.LazyAttribute(lambda deal: deal.pipeline.stages.order_by("order").first())
    amount = factory.LazyFunction(lambda: Decimal(random.randrange(1_000, 90_000, 500)))
    currency = "EUR"
    expected_close = factory.Faker("date_between", start_date="-30d", end_date="+120d")


class DealContactFactory(DjangoModelFactory):
    class Meta:
        model = models.DealContact

    deal = factory.SubFactory(DealFactory)
    contact = factory.SubFactory(ContactFactory)
    role = "decision_maker"


class TaskFactory(DjangoModelFactory):
    class Meta:
        model = models.Task

    title = factory.Faker("sentence", nb_words=4)
    due_date = factory.Faker("date_between", start_date="-7d", end_date="+21d")
    status = "todo"
    priority = "normal"


class NoteFactory(DjangoModelFactory):
    class Meta:
        model = models.Note

    body = factory.Faker("paragraph")


class TagFactory(DjangoModelFactory):
    class Meta:
        model = models.Tag
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"tag{n}")


def factories_reseed(seed: int) -> None:
    """Seed factory-boy's random generator (which Faker declarations use): repeatable data."""
    importlib.import_module("factory_boy.random").reseed_random(seed)
