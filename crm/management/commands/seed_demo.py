"""``python manage.py seed_demo``: fill the base CRM with realistic sample data for demos.

Creates demo users with roles (and an admin), companies, contacts with extra emails and
phones, deals spread over every deal pipeline's stages, tasks due around today, notes and
tags. Records are saved one by one through the factories and services so each one gets its
timeline and stage history; link rows (emails, phones, deal contacts, tags) are bulk
inserted. It refuses to seed a CRM that already holds records unless told to ``--reset``.
"""

from __future__ import annotations

import datetime
import random
import secrets
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models as db
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from faker import Faker

from crm import models
from crm.factories import (
    CompanyFactory,
    ContactFactory,
    DealFactory,
    NoteFactory,
    TaskFactory,
    factories_reseed,
)
from crm.kit.current_user import acting_as
from crm.kit.roles import (
    ROLE_MANAGER,
    ROLE_MEMBER,
    ROLE_READ_ONLY,
    role_group_name,
    role_groups_install,
)
from crm.kit.services import records_move_stage, tasks_mark_done

APP_LABEL = "crm"

# username, first name, last name, role (None: superuser).
DEMO_USERS = (
    ("admin", "Ada", "Admin", None),
    ("manager", "Maria", "Manager", ROLE_MANAGER),
    ("alice", "Alice", "Martin", ROLE_MEMBER),
    ("bob", "Bob", "Durand", ROLE_MEMBER),
    ("viewer", "Victor", "Viewer", ROLE_READ_ONLY),
)
# Demo users who own records (the others only look).
OWNERS = ("manager", "alice", "bob")

DEMO_TAGS = (
    ("VIP", "#dc3545"),
    ("Partner", "#6f42c1"),
    ("Newsletter", "#20c997"),
    ("Hot lead", "#fd7e14"),
    ("Referral", "#0d6efd"),
    ("Trade show", "#6c757d"),
)

INDUSTRIES = ("software", "services", "retail", "manufacturing", "health", "education")
DEAL_ROLES = ("decision_maker", "champion", "influencer", "user")
TASK_TITLES = (
    "Call {name} back",
    "Send the proposal to {name}",
    "Prepare the demo for {name}",
    "Follow up with {name}",
    "Book a meeting with {name}",
    "Check the contract of {name}",
)

# Record tables that make a CRM "already seeded", and what --reset deletes, in that order.
RECORD_MODELS = (models.Deal, models.Task, models.Note, models.Contact, models.Company)
RESET_MODELS = (
    models.TaggedItem,
    models.DealContact,
    *RECORD_MODELS,
    models.Tag,
    models.StageChange,
    models.TimelineEntry,
)


@dataclass
class DemoSummary:
    seed: int
    users: list[tuple[str, str, str]] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    deals_by_pipeline: Counter = field(default_factory=Counter)


class Command(BaseCommand):
    help = (
        "Fill the CRM with realistic sample data: users with roles, companies, contacts, "
        "deals, tasks, notes and tags. Refuses a CRM that already holds records unless "
        "--reset is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--contacts", type=int, default=200, help="How many contacts (default 200)."
        )
        parser.add_argument(
            "--seed", type=int, default=None, help="Random seed, for the same data every run."
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete the CRM's records, tags and their history first (users are kept).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        contacts = options["contacts"]
        if contacts < 1:
            raise CommandError("--contacts must be at least 1.")
        existing = sum(model.all_objects.count() for model in RECORD_MODELS)
        if existing and not options["reset"]:
            raise CommandError(
                f"The CRM already holds {existing} records, so seeding again would mix demo "
                "data with them. Run seed_demo --reset to delete them and seed afresh."
            )
        seed = options["seed"] if options["seed"] is not None else random.randrange(10**6)
        with transaction.atomic():
            if options["reset"]:
                deleted = demo_data_clear()
                self.stdout.write(f"Deleted {deleted} rows of CRM records and their history.")
            summary = demo_data_seed(contacts=contacts, seed=seed)
        self._report(summary)

    def _report(self, summary: DemoSummary) -> None:
        counts = summary.counts
        pipelines = ", ".join(
            f"{name}: {n}" for name, n in sorted(summary.deals_by_pipeline.items())
        )
        lines = [
            f"Seeded the CRM with seed {summary.seed} (pass --seed {summary.seed} to repeat it):",
            f"  {counts['companies']} companies",
            f"  {counts['contacts']} contacts ({counts['emails']} extra emails, "
            f"{counts['phones']} extra phones)",
            f"  {counts['deals']} deals ({pipelines}), {counts['deal_contacts']} deal contacts",
            f"  {counts['tasks']} tasks ({counts['tasks_done']} done), {counts['notes']} notes",
            f"  {counts['tags']} tags on {counts['tagged']} records",
            f"  {counts['timeline']} timeline entries, {counts['stage_changes']} stage changes",
            "Users (username / password / role):",
        ]
        lines += [
            f"  {username} / {password} / {role}" for username, password, role in summary.users
        ]
        if not settings.DEBUG:
            lines.append("DEBUG is off, so the passwords above are random: note them now.")
        self.stdout.write("\n".join(lines))


@transaction.atomic
def demo_data_clear() -> int:
    """Delete the CRM's records, tags, links and history (choice lists, pipelines, users stay)."""
    deleted = 0
    for model in RESET_MODELS:
        manager = model.all_objects if hasattr(model, "all_objects") else model.objects
        deleted += manager.all().delete()[0]
    return deleted


def _password(username: str) -> str:
    # A known password only on a development machine; anywhere else a random one.
    return username if settings.DEBUG else secrets.token_urlsafe(12)


def demo_users_install() -> tuple[dict[str, Any], list[tuple[str, str, str]]]:
    """The demo users with their roles; passwords are (re)set and returned for printing."""
    role_groups_install(app_label=APP_LABEL)
    user_model = get_user_model()
    users, printed = {}, []
    for username, first_name, last_name, role in DEMO_USERS:
        user, _ = user_model.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first_name,
                "last_name": last_name,
                "email": f"{username}@example.com",
            },
        )
        user.is_staff = True
        user.is_superuser = role is None
        password = _password(username)
        user.set_password(password)
        user.save()
        if role is not None:
            user.groups.add(user.groups.model.objects.get(name=role_group_name(APP_LABEL, role)))
        users[username] = user
        printed.append((username, password, role or "superuser"))
    return users, printed


class _Seeder:
    """Holds the random sources and what was made, while ``demo_data_seed`` runs."""

    def __init__(self, seed: int, users: dict[str, Any]) -> None:
        self.rng = random.Random(seed)
        self.fake = Faker()
        self.fake.seed_instance(seed)
        # The factories draw from factory-boy's generator and from ``random``.
        factories_reseed(seed)
        random.seed(seed)
        self.owners = [users[name] for name in OWNERS]
        self.counts: Counter = Counter()
        self.today = timezone.localdate()

    def owner(self) -> Any:
        return self.rng.choice(self.owners)

    def unique(self, taken: set[str], base: str) -> str:
        candidate, n = base, 1
        while candidate in taken:
            n += 1
            candidate = base.replace("@", f"{n}@", 1) if "@" in base else f"{n}{base}"
        taken.add(candidate)
        return candidate

    def companies(self, how_many: int) -> list[models.Company]:
        domains: set[str] = set()
        made = []
        for _ in range(how_many):
            name = self.fake.unique.company()
            owner = self.owner()
            domain = self.unique(domains, f"{slugify(name).replace('-', '')[:40]}.com")
            with acting_as(owner):
                made.append(
                    CompanyFactory(
                        name=name,
                        domain=domain,
                        industry=self.rng.choice(INDUSTRIES),
                        phone=self.fake.phone_number(),
                        city=self.fake.city(),
                        country=self.fake.country(),
                        owner=owner,
                    )
                )
        self.counts["companies"] = len(made)
        return made

    def contacts(self, how_many: int, companies: list[models.Company]) -> list[models.Contact]:
        emails: set[str] = set()
        made = []
        for _ in range(how_many):
            first, last = self.fake.first_name(), self.fake.last_name()
            company = self.rng.choice(companies) if self.rng.random() < 0.85 else None
            domain = company.domain if company else "example.com"
            local = slugify(f"{first}.{last}").replace("-", ".")
            owner = company.owner if company and self.rng.random() < 0.7 else self.owner()
            with acting_as(owner):
                made.append(
                    ContactFactory(
                        first_name=first,
                        last_name=last,
                        email=self.unique(emails, f"{local}@{domain}"),
                        phone=self.fake.phone_number(),
                        job_title=self.fake.job()[:120],
                        company=company,
                        owner=owner,
                    )
                )
        self._contact_points(made)
        self.counts["contacts"] = len(made)
        return made

    def _contact_points(self, contacts: list[models.Contact]) -> None:
        emails, phones = [], []
        for contact in contacts:
            if self.rng.random() < 0.3:
                local = contact.email.split("@", 1)[0]
                emails.append(
                    models.ContactEmail(
                        contact=contact, email=f"{local}@home.example.org", label="personal"
                    )
                )
            if self.rng.random() < 0.4:
                number = f"+336{self.rng.randrange(10**8):08d}"
                phones.append(models.ContactPhone(contact=contact, number=number, label="mobile"))
        models.ContactEmail.objects.bulk_create(emails)
        models.ContactPhone.objects.bulk_create(phones)
        self.counts["emails"], self.counts["phones"] = len(emails), len(phones)

    def deals(
        self, how_many: int, companies: list[models.Company], contacts: list[models.Contact]
    ) -> tuple[list[models.Deal], Counter]:
        pipelines = list(
            models.Pipeline.objects.filter(entity="deal")
            .order_by("-is_default", "order", "pk")
            .prefetch_related("stages")
        )
        by_pipeline: Counter = Counter()
        contacts_by_company: dict[int | None, list[models.Contact]] = {}
        for contact in contacts:
            contacts_by_company.setdefault(contact.company_id, []).append(contact)
        made, links = [], []
        for index in range(how_many):
            # Most deals go through the default pipeline, the rest through the others; the
            # first deals take one pipeline each so every pipeline has some.
            if index < len(pipelines):
                pipeline = pipelines[index]
            elif self.rng.random() < 0.7 or len(pipelines) == 1:
                pipeline = pipelines[0]
            else:
                pipeline = self.rng.choice(pipelines[1:])
            stages = sorted(pipeline.stages.all(), key=lambda stage: stage.order)
            company = self.rng.choice(companies)
            owner = company.owner
            with acting_as(owner):
                deal = DealFactory(
                    name=f"{company.name}: {self.fake.bs().capitalize()}"[:200],
                    company=company,
                    pipeline=pipeline,
                    stage=stages[0],
                    currency=self.rng.choice(("EUR", "EUR", "EUR", "USD", "GBP")),
                    owner=owner,
                )
                target = self.rng.choice(stages)
                if target != stages[0]:
                    records_move_stage(records=[deal], stage=target)
            by_pipeline[pipeline.name] += 1
            people = contacts_by_company.get(company.pk) or self.rng.sample(contacts, 1)
            for contact in self.rng.sample(people, min(len(people), self.rng.randint(1, 3))):
                links.append(
                    models.DealContact(deal=deal, contact=contact, role=self.rng.choice(DEAL_ROLES))
                )
            made.append(deal)
        models.DealContact.objects.bulk_create(links)
        self.counts["deals"], self.counts["deal_contacts"] = len(made), len(links)
        return made, by_pipeline

    def tasks_and_notes(self, how_many: int, records: list[db.Model]) -> None:
        done = 0
        for _ in range(how_many):
            record = self.rng.choice(records)
            owner = record.owner
            due = self.today + datetime.timedelta(days=self.rng.randint(-10, 20))
            with acting_as(owner):
                task = TaskFactory(
                    title=self.rng.choice(TASK_TITLES).format(name=record)[:200],
                    due_date=due,
                    priority=self.rng.choice(("low", "normal", "normal", "high", "urgent")),
                    assignee=owner,
                    owner=owner,
                    target=record,
                )
                if due < self.today and self.rng.random() < 0.6:
                    done += tasks_mark_done(tasks=[task])
        for _ in range(how_many):
            record = self.rng.choice(records)
            with acting_as(record.owner):
                NoteFactory(body=self.fake.paragraph(nb_sentences=3), target=record)
        self.counts["tasks"], self.counts["tasks_done"] = how_many, done
        self.counts["notes"] = how_many

    def tags(self, records: list[db.Model]) -> None:
        tags = [models.Tag.objects.create(name=name, colour=colour) for name, colour in DEMO_TAGS]
        links = []
        for record in records:
            if self.rng.random() < 0.3:
                content_type = ContentType.objects.get_for_model(type(record))
                for tag in self.rng.sample(tags, self.rng.randint(1, 2)):
                    links.append(
                        models.TaggedItem(tag=tag, target_type=content_type, target_id=record.pk)
                    )
        models.TaggedItem.objects.bulk_create(links)
        self.counts["tags"] = len(tags)
        self.counts["tagged"] = len({(link.target_type_id, link.target_id) for link in links})


@transaction.atomic
def demo_data_seed(*, contacts: int, seed: int) -> DemoSummary:
    """Create the demo users and sample records; returns what was made."""
    users, printed = demo_users_install()
    seeder = _Seeder(seed, users)
    companies = seeder.companies(max(2, contacts // 4))
    people = seeder.contacts(contacts, companies)
    deals, by_pipeline = seeder.deals(max(2, contacts // 3), companies, people)
    seeder.tasks_and_notes(max(1, contacts // 2), [*companies, *people, *deals])
    seeder.tags([*companies, *people, *deals])
    seeder.counts["timeline"] = models.TimelineEntry.objects.count()
    seeder.counts["stage_changes"] = models.StageChange.objects.count()
    return DemoSummary(
        seed=seed, users=printed, counts=seeder.counts, deals_by_pipeline=by_pipeline
    )
