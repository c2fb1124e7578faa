#!/usr/bin/env python
"""Cost of many tenants: process start time and memory with 10, 100 and 300 tenant apps
loaded, and a tenant API's list throughput against the base crm API in the same run.

Builds a throwaway stack in a temporary folder (its own SQLite file, or with
--database-url a fresh database on that PostgreSQL server, dropped afterwards): one small
spec (companies with a name and a city) is compiled with its migrations once, then given
to 300 tenants, each under its own label (the label is the only thing that differs).
For each count, the first N releases are made live and a fresh process is timed from
interpreter start until it can serve (settings bootstrap, ``django.setup()``, the WSGI
handler, one tenant's URLconf): once cold (the code is materialised from the database)
and once warm. Resident memory is read at that point. Throughput: a process with the
tenants loaded GETs /api/companies/ on a tenant host (API key) and /api/crm/companies/
on the console (token), the same number of rows, through Django's test client.

    .venv/bin/python bench/tenants.py [--counts 10,100,300] [--rows 200] [--seconds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_SLUG = "tplbench"
SPEC = """
name: Bench CRM
entities:
  - id: company
    name: Company
    label: company
    label_plural: companies
    display: [name]
    fields:
      - {id: company_name, name: name, label: name, type: text, required: true}
      - {id: company_city, name: city, label: city, type: text}
choice_lists:
  - {id: task_status, key: task_status, name: Task status,
     options: [{value: todo, label: To do}, {value: done, label: Done}]}
  - {id: task_priority, key: task_priority, name: Task priority,
     options: [{value: normal, label: Normal}]}
"""


def slug_of(index: int) -> str:
    return f"bench{index:03d}"


def relabel(text: str, old: str, new: str) -> str:
    """Compiled text for label ``new`` from the text for ``old``: the label and the app
    config's class name derived from it are the only differences."""

    def camel(label: str) -> str:
        return "".join(part.capitalize() for part in label.split("_"))

    return text.replace(old, new).replace(camel(old), camel(new))


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="10,100,300")
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--child", choices=["start", "throughput"], help=argparse.SUPPRESS)
    return parser.parse_args()


def stack_environment(root: Path, database_url: str) -> dict[str, str]:
    return {
        **{key: value for key, value in os.environ.items() if not key.startswith("FACTORY_")},
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url,
        "FACTORY_APPS_DIR": str(root / "apps"),
        "FACTORY_BACKUPS_DIR": str(root / "backups"),
        "FACTORY_RELOAD_PIDFILES": "",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


# --- children: run with the tenant apps loaded -------------------------------------------


def child_start() -> None:
    """Become able to serve, then report how long it took and the resident memory."""
    started = float(os.environ["BENCH_STARTED"])
    from django.core.wsgi import get_wsgi_application

    get_wsgi_application()
    from django.conf import settings

    from factory.tenants.runtime.urls import tenant_urlconf

    if settings.FACTORY_TENANT_APPS:
        tenant_urlconf(settings.FACTORY_TENANT_APPS[0])
    ready = time.time() - started
    rss_kb = next(
        int(line.split()[1])
        for line in Path("/proc/self/status").read_text().splitlines()
        if line.startswith("VmRSS:")
    )
    print(
        json.dumps({"apps": len(settings.FACTORY_TENANT_APPS), "seconds": ready, "rss_kb": rss_kb})
    )


def _seed(rows: int) -> tuple[str, str]:
    """Rows in both company tables, a superuser member, an API key and a token."""
    from django.apps import apps
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from crm.models import Company
    from factory.tenants.models import Tenant
    from factory.tenants.services import api_key_create, membership_set

    label = f"t_{slug_of(1)}"
    tenant_company = apps.get_model(label, "Company")
    user = get_user_model().objects.create_superuser("bench", "bench@example.com", "x" * 12)
    Company.objects.bulk_create(Company(name=f"Company {n:04d}", city="Lyon") for n in range(rows))
    tenant_company.objects.bulk_create(
        tenant_company(name=f"Company {n:04d}", city="Lyon") for n in range(rows)
    )
    membership = membership_set(tenant=Tenant.objects.get(slug=slug_of(1)), user=user, role="admin")
    _api_key, key = api_key_create(membership=membership, name="bench")
    return key, Token.objects.create(user=user).key


def _rate(client, path: str, headers: dict[str, str], seconds: float, pages: int) -> float:
    def get(page: int) -> None:
        answer = client.get(path, {"page": page}, **headers)
        if answer.status_code != 200:
            raise SystemExit(f"GET {path} answered {answer.status_code}: {answer.content[:200]!r}")

    get(1)  # warm-up: URL resolution, serializers, content types
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        get(count % pages + 1)
        count += 1
    return count / (time.perf_counter() - started)


def child_throughput(rows: int, seconds: float) -> None:
    import django

    django.setup()
    from types import ModuleType

    from django.test import Client
    from django.test.utils import override_settings
    from django.urls import include, path

    key, token = _seed(rows)
    pages = max(1, rows // 50)  # the API's page size
    # The console's own URLconf also mounts other services; the crm API alone is compared.
    console_urls = ModuleType("bench_console_urls")
    console_urls.urlpatterns = [path("api/crm/", include("crm.api.urls"))]  # type: ignore[attr-defined]
    sys.modules["bench_console_urls"] = console_urls
    client = Client()
    with override_settings(ROOT_URLCONF="bench_console_urls"):
        crm_rate = _rate(
            client,
            "/api/crm/companies/",
            {"HTTP_HOST": "localhost", "HTTP_AUTHORIZATION": f"Token {token}"},
            seconds,
            pages,
        )
        tenant_rate = _rate(
            client,
            "/api/companies/",
            {"HTTP_HOST": f"{slug_of(1)}.localhost", "HTTP_AUTHORIZATION": f"Api-Key {key}"},
            seconds,
            pages,
        )
    print(json.dumps({"crm": crm_rate, "tenant": tenant_rate}))


# --- the parent: build the stack, start children -----------------------------------------


def build_tenants(count: int) -> None:
    """``count`` tenants, each with one release of the same spec under its own label."""
    from factory.spec.io import spec_load
    from factory.tenants.building import release_code_make
    from factory.tenants.models import ReleaseStatus, Tenant, TenantRelease
    from factory.tenants.naming import live_app_label
    from factory.tenants.runtime.bootstrap import package_digest

    spec = spec_load(text=SPEC)
    template_label = live_app_label(TEMPLATE_SLUG)
    code, migrations, _plan = release_code_make(
        spec=spec, app_label=template_label, base_spec=None, base_migration_files={}
    )
    from factory.compiler import compile_app_spec

    sample = live_app_label(slug_of(1))
    expected = compile_app_spec(spec=spec, app_label=sample)
    relabelled = {path: relabel(text, template_label, sample) for path, text in code.items()}
    assert relabelled == expected, "relabelling the compiled template differs from compiling"
    tenants = Tenant.objects.bulk_create(
        Tenant(slug=slug_of(index), name=f"Bench {index}") for index in range(1, count + 1)
    )
    releases = []
    for tenant in tenants:
        label = live_app_label(tenant.slug)
        files = {path: relabel(text, template_label, label) for path, text in code.items()}
        history = {path: relabel(text, template_label, label) for path, text in migrations.items()}
        releases.append(
            TenantRelease(
                tenant=tenant,
                number=1,
                status=ReleaseStatus.RETIRED,
                spec=spec.to_jsonable(),
                files=files,
                migration_files=history,
                code_digest=package_digest({**files, **history}),
                check_report={"ok": True, "text": "bench"},
            )
        )
    TenantRelease.objects.bulk_create(releases, batch_size=50)


def make_live(count: int) -> None:
    from factory.tenants.models import ReleaseStatus, TenantRelease

    TenantRelease.objects.update(status=ReleaseStatus.RETIRED)
    live = [slug_of(index) for index in range(1, count + 1)]
    TenantRelease.objects.filter(tenant__slug__in=live).update(status=ReleaseStatus.LIVE)


def run_child(env: dict[str, str], *args: str) -> dict:
    env = {**env, "BENCH_STARTED": repr(time.time())}
    process = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if process.returncode != 0:
        raise SystemExit(f"The child {args} failed:\n{process.stderr[-3000:]}")
    return json.loads(process.stdout.strip().splitlines()[-1])


def main() -> None:
    arguments = parse_arguments()
    if arguments.child == "start":
        os.environ["FACTORY_LOAD_TENANT_APPS"] = "1"
        sys.path.insert(0, str(ROOT))
        child_start()
        return
    if arguments.child == "throughput":
        os.environ["FACTORY_LOAD_TENANT_APPS"] = "1"
        sys.path.insert(0, str(ROOT))
        child_throughput(arguments.rows, arguments.seconds)
        return
    counts = [int(count) for count in arguments.counts.split(",")]
    with ExitStack() as cleanup:
        root = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="bench-tenants-")))
        database_url = f"sqlite:///{root / 'db.sqlite3'}"
        if arguments.database_url:
            sys.path.insert(0, str(ROOT))
            from factory.sandbox import scratch_postgres_database

            database_url = cleanup.enter_context(
                scratch_postgres_database(server_url=arguments.database_url, prefix="bench")
            )
        env = stack_environment(root, database_url)
        os.environ.update({**env, "FACTORY_LOAD_TENANT_APPS": "0"})
        sys.path.insert(0, str(ROOT))
        migrate = [sys.executable, "manage.py", "migrate", "--skip-checks", "-v", "0"]
        subprocess.run(migrate, env=env, cwd=ROOT, check=True)
        import django

        django.setup()
        started = time.perf_counter()
        build_tenants(max(counts))
        print(
            f"database: {database_url.split(':', 1)[0]}; {max(counts)} tenants built in "
            f"{time.perf_counter() - started:.1f} s (one compile, relabelled)"
        )
        print(f"{'tenants':>8} {'cold start':>11} {'warm start':>11} {'RSS (MB)':>9}")
        for count in [0, *counts]:
            make_live(count)
            cold = run_child(env, "--child", "start")
            warm = run_child(env, "--child", "start")
            assert warm["apps"] == count, warm
            print(
                f"{count:>8} {cold['seconds']:>10.2f}s {warm['seconds']:>10.2f}s "
                f"{warm['rss_kb'] / 1024:>9.1f}"
            )
        for count in (min(counts), max(counts)):
            make_live(count)
            from factory.tenants.models import TenantRelease
            from factory.tenants.services import tenant_manage

            release = TenantRelease.objects.get(tenant__slug=slug_of(1))
            label = f"t_{slug_of(1)}"
            migrated = tenant_manage(
                args=["tenant_migrate", label, "--tenant", slug_of(1), "--reset"],
                pinned={label: release.id},
            )
            if migrated.returncode != 0:
                raise SystemExit(f"Migrating {label} failed:\n{migrated.stderr[-3000:]}")
            from django.contrib.auth import get_user_model

            from crm.models import Company

            get_user_model().objects.filter(username="bench").delete()
            Company.all_objects.all().delete()
            rates = run_child(
                env,
                "--child",
                "throughput",
                "--rows",
                str(arguments.rows),
                "--seconds",
                str(arguments.seconds),
            )
            print(
                f"API list with {count} tenants loaded: tenant {rates['tenant']:.1f} req/s, "
                f"crm {rates['crm']:.1f} req/s, ratio {rates['tenant'] / rates['crm']:.2f}"
            )
        from django.db import connections

        connections.close_all()


if __name__ == "__main__":
    main()
