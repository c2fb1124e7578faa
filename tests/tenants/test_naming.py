"""Slugs, labels and hosts: the names everything else derives from a tenant's slug."""

from __future__ import annotations

import pytest

from factory.tenants.naming import (
    TenantSlugInvalid,
    live_app_label,
    preview_app_label,
    tenant_host_name,
    tenant_host_parse,
    tenant_slug_check,
    tenant_slug_problem,
)

CONSOLE = frozenset({"127.0.0.1", "testserver"})


@pytest.mark.parametrize("slug", ["acme", "ab", "acme2024", "a" * 30])
def test_valid_slugs_name_apps_and_hosts(slug: str) -> None:
    assert tenant_slug_problem(slug) is None
    assert live_app_label(slug) == f"t_{slug}"
    assert preview_app_label(slug) == f"p_{slug}"
    assert tenant_host_name(slug, base_domain="crm.example") == f"{slug}.crm.example"


@pytest.mark.parametrize(
    ("slug", "words"),
    [
        ("", "needs a slug"),
        ("a", "2 to 30 lowercase"),
        ("Acme", "(for example 'acme')"),
        ("acme-corp", "without spaces, hyphens or underscores (for example 'acmecorp')"),
        ("acme_corp", "without spaces, hyphens or underscores"),
        ("2acme", "starting with a letter"),
        ("café", "is not valid"),
        ("a" * 31, "31 characters long"),
        ("admin", "reserved"),
        ("www", "reserved"),
        ("api", "reserved"),
    ],
)
def test_bad_slugs_are_refused_with_a_sentence(slug: str, words: str) -> None:
    problem = tenant_slug_problem(slug)
    assert problem is not None
    assert words in problem
    with pytest.raises(TenantSlugInvalid, match="slug"):
        tenant_slug_check(slug)


@pytest.mark.parametrize(
    ("host", "kind", "slug", "preview"),
    [
        ("localhost", "console", "", False),
        ("LOCALHOST.", "console", "", False),
        ("127.0.0.1", "console", "", False),
        ("acme.localhost", "tenant", "acme", False),
        ("ACME.localhost", "tenant", "acme", False),
        ("acme--preview.localhost", "tenant", "acme", True),
        ("a.b.localhost", "unknown", "", False),
        ("admin.localhost", "unknown", "", False),
        ("acme.example.com", "unknown", "", False),
        ("--preview.localhost", "unknown", "", False),
    ],
)
def test_hosts_name_the_console_a_tenant_or_nothing(
    host: str, kind: str, slug: str, preview: bool
) -> None:
    parsed = tenant_host_parse(host, base_domain="localhost", console_hosts=CONSOLE)
    assert (parsed.kind, parsed.slug, parsed.preview) == (kind, slug, preview)


def test_a_host_names_the_app_and_the_session_binding() -> None:
    live = tenant_host_parse("acme.localhost", base_domain="localhost", console_hosts=CONSOLE)
    preview = tenant_host_parse(
        "acme--preview.localhost", base_domain="localhost", console_hosts=CONSOLE
    )
    assert (live.app_label, live.key) == ("t_acme", "acme")
    assert (preview.app_label, preview.key) == ("p_acme", "acme--preview")
