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


RULE = (
    "use 2 to 30 lowercase letters or digits, starting with a letter, without spaces, "
    "hyphens or underscores"
)
RESERVED = "is reserved for the factory itself; choose another name."


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("", "A tenant needs a slug: 2 to 30 lowercase letters or digits, e.g. acme."),
        ("a", f"The slug 'a' is not valid: {RULE}."),
        ("Acme", f"The slug 'Acme' is not valid: {RULE} (for example 'acme')."),
        ("acme-corp", f"The slug 'acme-corp' is not valid: {RULE} (for example 'acmecorp')."),
        ("acme_corp", f"The slug 'acme_corp' is not valid: {RULE} (for example 'acmecorp')."),
        ("2acme", f"The slug '2acme' is not valid: {RULE}."),
        ("café", f"The slug 'café' is not valid: {RULE} (for example 'caf')."),
        (
            "a" * 31,
            f"The slug '{'a' * 31}' is 31 characters long; use at most 30 lowercase letters "
            "or digits.",
        ),
        ("admin", f"The slug 'admin' {RESERVED}"),
        ("www", f"The slug 'www' {RESERVED}"),
        ("api", f"The slug 'api' {RESERVED}"),
    ],
)
def test_bad_slugs_are_refused_with_a_sentence(slug: str, message: str) -> None:
    assert tenant_slug_problem(slug) == message
    with pytest.raises(TenantSlugInvalid) as raised:
        tenant_slug_check(slug)
    assert str(raised.value) == message


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
