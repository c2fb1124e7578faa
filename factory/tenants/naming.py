"""Names derived from a tenant's slug: app labels, table prefixes and hosts.

The slug is the tenant's only user-chosen identifier; everything else (the live app label
``t_<slug>``, the preview label ``p_<slug>``, the host ``<slug>.<base domain>`` and the
preview host ``<slug>--preview.<base domain>``) follows from it, so the rules live here in
one place. This module is imported while settings load: it must not import Django.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Letters and digits only: no underscore keeps "t_<slug>_" an unambiguous table prefix
# (tenant "acme" can never own a table of tenant "acme2"), no hyphen keeps
# "<slug>--preview" unambiguous, and both are valid in a host name and a Python name.
SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9]{1,29}$")
SLUG_MAX_LENGTH = 30

# Host names a tenant must not take: they name the factory's own services or are
# commonly expected to be infrastructure.
RESERVED_SLUGS = frozenset(
    {
        "admin",
        "api",
        "app",
        "apps",
        "assets",
        "auth",
        "billing",
        "cdn",
        "console",
        "crm",
        "dashboard",
        "docs",
        "factory",
        "ftp",
        "help",
        "imap",
        "localhost",
        "login",
        "mail",
        "media",
        "ns1",
        "ns2",
        "pop",
        "preview",
        "root",
        "smtp",
        "static",
        "status",
        "support",
        "test",
        "www",
    }
)

LIVE_LABEL_PREFIX = "t_"
PREVIEW_LABEL_PREFIX = "p_"
PREVIEW_HOST_SUFFIX = "--preview"


class TenantSlugInvalid(ValueError):
    """A slug that cannot name a tenant; the message says why and what to do."""


def tenant_slug_problem(slug: str) -> str | None:
    """Why ``slug`` cannot name a tenant, as a sentence, or None when it can."""
    if not slug:
        return "A tenant needs a slug: 2 to 30 lowercase letters or digits, e.g. acme."
    if len(slug) > SLUG_MAX_LENGTH:
        return (
            f"The slug {slug!r} is {len(slug)} characters long; use at most "
            f"{SLUG_MAX_LENGTH} lowercase letters or digits."
        )
    if not SLUG_PATTERN.match(slug):
        suggestion = re.sub(r"[^a-z0-9]", "", slug.lower())
        hint = f" (for example {suggestion!r})" if SLUG_PATTERN.match(suggestion) else ""
        return (
            f"The slug {slug!r} is not valid: use 2 to 30 lowercase letters or digits, "
            f"starting with a letter, without spaces, hyphens or underscores{hint}."
        )
    if slug in RESERVED_SLUGS:
        return f"The slug {slug!r} is reserved for the factory itself; choose another name."
    return None


def tenant_slug_check(slug: str) -> None:
    problem = tenant_slug_problem(slug)
    if problem:
        raise TenantSlugInvalid(problem)


def live_app_label(slug: str) -> str:
    return f"{LIVE_LABEL_PREFIX}{slug}"


def preview_app_label(slug: str) -> str:
    return f"{PREVIEW_LABEL_PREFIX}{slug}"


def app_label_table_prefix(app_label: str) -> str:
    """Every table of the app starts with this (Django names tables ``<label>_<model>``)."""
    return f"{app_label}_"


@dataclass(frozen=True)
class TenantHost:
    """What a request's host names: the console, a tenant (live or preview), or nothing."""

    kind: str  # "console", "tenant" or "unknown"
    slug: str = ""
    preview: bool = False

    @property
    def app_label(self) -> str:
        return preview_app_label(self.slug) if self.preview else live_app_label(self.slug)

    @property
    def key(self) -> str:
        """What a session is bound to: the exact site it was opened on."""
        if self.kind != "tenant":
            return self.kind
        return f"{self.slug}{PREVIEW_HOST_SUFFIX}" if self.preview else self.slug


CONSOLE_HOST = TenantHost("console")
UNKNOWN_HOST = TenantHost("unknown")


def tenant_host_parse(host: str, *, base_domain: str, console_hosts: frozenset[str]) -> TenantHost:
    """Read a host name (without port): the base domain or a console host, a tenant's
    subdomain ``<slug>.<base>`` or its preview ``<slug>--preview.<base>``, or unknown."""
    host = host.lower().rstrip(".")
    base_domain = base_domain.lower()
    if host == base_domain or host in console_hosts:
        return CONSOLE_HOST
    suffix = f".{base_domain}"
    if not host.endswith(suffix):
        return UNKNOWN_HOST
    name = host[: -len(suffix)]
    preview = name.endswith(PREVIEW_HOST_SUFFIX)
    if preview:
        name = name[: -len(PREVIEW_HOST_SUFFIX)]
    if tenant_slug_problem(name) is not None:
        return UNKNOWN_HOST
    return TenantHost("tenant", slug=name, preview=preview)


def tenant_host_name(slug: str, *, base_domain: str, preview: bool = False) -> str:
    return f"{slug}{PREVIEW_HOST_SUFFIX if preview else ''}.{base_domain}"
