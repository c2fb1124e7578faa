#!/usr/bin/env python
"""Speed of the contacts list endpoint: requests per second and queries per request.

Builds a throwaway database (a SQLite file under var/ that is deleted afterwards, or, when
DATABASE_URL is set, a fresh test database beside the one it names), bulk-inserts
10,000 contacts with extra emails, phones and tags, then GETs /api/crm/contacts/?page=N
with a token for a few seconds through Django's test client (no network, no server).
It never opens the development database (var/db.sqlite3).

    .venv/bin/python bench/api_list.py [--contacts 10000] [--seconds 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DATABASE = ROOT / "var" / "bench_api_list.sqlite3"
PAGE_SIZE = 50


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    return parser.parse_args()


def configure_database() -> bool:
    """Point Django at a throwaway database; True when it is our own SQLite file."""
    sys.path.insert(0, str(ROOT))
    own_file = not os.environ.get("DATABASE_URL")
    if own_file:
        BENCH_DATABASE.parent.mkdir(exist_ok=True)
        BENCH_DATABASE.unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{BENCH_DATABASE}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    import django

    django.setup()
    return own_file


def create_data(contacts: int) -> str:
    """Bulk-insert the sample rows; returns the API token of a user with the Admin role."""
    from django.contrib.contenttypes.models import ContentType
    from rest_framework.authtoken.models import Token

    from crm import models
    from crm.factories import UserFactory
    from crm.kit.roles import ROLE_ADMIN, role_groups_install

    user = UserFactory(username="bench")
    user.groups.add(role_groups_install(app_label="crm")[ROLE_ADMIN])
    companies = models.Company.objects.bulk_create(
        models.Company(name=f"Company {n:04d}", domain=f"company{n}.example.com", owner=user)
        for n in range(max(1, contacts // 50))
    )
    people = models.Contact.objects.bulk_create(
        (
            models.Contact(
                first_name=f"First{n}",
                last_name=f"Last{n:05d}",
                email=f"contact{n}@example.com",
                phone=f"+3360000{n:05d}",
                job_title="Engineer",
                company=companies[n % len(companies)],
                owner=user,
            )
            for n in range(contacts)
        ),
        batch_size=1000,
    )
    models.ContactEmail.objects.bulk_create(
        (
            models.ContactEmail(contact=c, email=f"home{c.pk}@example.org", label="personal")
            for c in people[::3]
        ),
        batch_size=1000,
    )
    models.ContactPhone.objects.bulk_create(
        (
            models.ContactPhone(contact=c, number=f"+3361{c.pk:08d}", label="mobile")
            for c in people[::2]
        ),
        batch_size=1000,
    )
    vip = models.Tag.objects.create(name="VIP")
    content_type = ContentType.objects.get_for_model(models.Contact)
    models.TaggedItem.objects.bulk_create(
        (models.TaggedItem(tag=vip, target_type=content_type, target_id=c.pk) for c in people[::4]),
        batch_size=1000,
    )
    return Token.objects.create(user=user).key


def measure(token: str, contacts: int, seconds: float) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    pages = max(1, -(-contacts // PAGE_SIZE))

    def get(page: int) -> None:
        response = client.get("/api/crm/contacts/", {"page": page})
        if response.status_code != 200:
            raise SystemExit(
                f"GET page {page} answered {response.status_code}: {response.content[:200]!r}"
            )

    get(1)  # warm-up: URL resolution, content types, serializer classes
    queries = []
    for page in (1, pages // 2 or 1, pages):
        with CaptureQueriesContext(connection) as captured:
            get(page)
        queries.append(len(captured))

    requests, page = 0, 1
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        get(page)
        requests += 1
        page = page % pages + 1
    elapsed = time.perf_counter() - started

    print(f"database: {connection.vendor}, {contacts} contacts, {pages} pages of {PAGE_SIZE}")
    print(f"queries per request: {', '.join(map(str, queries))} (pages 1, middle, last)")
    print(f"requests: {requests} in {elapsed:.1f} s")
    print(f"requests per second: {requests / elapsed:.1f}")
    print(f"mean latency: {1000 * elapsed / requests:.1f} ms")


def main() -> None:
    arguments = parse_arguments()
    own_file = configure_database()
    from django.core.management import call_command
    from django.db import connection

    test_database = None
    try:
        if own_file:
            call_command("migrate", verbosity=0)
        else:
            # Never write into the named database: work in a fresh test_<name> beside it.
            test_database = connection.settings_dict["NAME"]
            connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        started = time.perf_counter()
        token = create_data(arguments.contacts)
        print(f"created {arguments.contacts} contacts in {time.perf_counter() - started:.1f} s")
        measure(token, arguments.contacts, arguments.seconds)
    finally:
        if test_database is not None:
            connection.creation.destroy_test_db(test_database, verbosity=0)
        connection.close()
        if own_file:
            BENCH_DATABASE.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
