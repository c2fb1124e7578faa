"""``factory tenant ...``, ``factory apply``, ``factory deploy``, ``factory rollback``.

Parses, asks for confirmation where data could be lost, calls ``factory.tenants.services``
and prints what happened. Exit codes: 0 done, 1 tried and failed (the message says what
stayed as it was), 2 refused before anything changed.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, TextIO

EXIT_OK, EXIT_FAILED, EXIT_REFUSED = 0, 1, 2
# What ``factory tenant upgrade`` did to each tenant, as its closing line names it.
UPGRADE_RESULTS = {
    "deployed": "Upgraded and deployed",
    "preview": "Upgraded into preview",
    "current": "Already on the current kit",
    "failed": "Not upgraded",
}


def register(subparsers: Any) -> None:
    tenant = subparsers.add_parser("tenant", help="Create and list tenants; members; API keys.")
    actions = tenant.add_subparsers(dest="tenant_action", required=True, metavar="ACTION")

    create = actions.add_parser(
        "create", help="Create a tenant from the template spec (release 1) and deploy it."
    )
    create.add_argument("slug", help="2-30 lowercase letters or digits; names the host.")
    create.add_argument("--name", required=True, help="The tenant's display name.")
    create.add_argument(
        "--spec", type=Path, help="Start from this spec file instead of the template."
    )
    create.set_defaults(handler=tenant_create_command)

    listing = actions.add_parser("list", help="Every tenant with its live and preview releases.")
    listing.set_defaults(handler=tenant_list_command)

    releases = actions.add_parser("releases", help="The releases of a tenant.")
    releases.add_argument("slug")
    releases.set_defaults(handler=tenant_releases_command)

    member = actions.add_parser("member", help="Give a user a role in a tenant, or remove it.")
    member.add_argument("slug")
    member.add_argument("username")
    member.add_argument("--role", choices=["builder", "admin", "member", "viewer"])
    member.add_argument("--remove", action="store_true")
    member.add_argument(
        "--create-user",
        action="store_true",
        help="Create the user if missing; the password is read from standard input.",
    )
    member.set_defaults(handler=tenant_member_command)

    apikey = actions.add_parser("apikey", help="Create, list or revoke a tenant's API keys.")
    apikey.add_argument("slug")
    apikey.add_argument("username", nargs="?", help="The member the key acts as (create).")
    apikey.add_argument("--name", help="What uses the key (create).")
    apikey.add_argument("--revoke", metavar="PREFIX", help="Revoke the key with this prefix.")
    apikey.set_defaults(handler=tenant_apikey_command)

    upgrade = actions.add_parser(
        "upgrade",
        help="Rebuild tenants' live releases with the factory's current compiler and kit, "
        "and deploy them.",
    )
    upgrade.add_argument("slugs", nargs="*", metavar="SLUG", help="The tenants to upgrade.")
    upgrade.add_argument("--all", action="store_true", help="Every tenant with a live release.")
    upgrade.add_argument(
        "--no-deploy",
        action="store_true",
        help="Build and check the new releases into preview; deploy them later.",
    )
    upgrade.set_defaults(handler=tenant_upgrade_command)

    apply = subparsers.add_parser(
        "apply", help="Build a new release of a tenant from a spec file, into preview."
    )
    apply.add_argument("slug")
    apply.add_argument("spec_file", type=Path)
    apply.add_argument(
        "--confirm-destructive",
        action="store_true",
        help="Accept the destructive changes listed by a first run.",
    )
    apply.add_argument(
        "--no-preview",
        action="store_true",
        help="Build and check the release without preparing its preview site.",
    )
    apply.add_argument(
        "--fill",
        action="append",
        default=[],
        metavar="FIELD_ID=VALUE",
        help="The value existing rows get for a new required field (repeatable).",
    )
    apply.set_defaults(handler=apply_command)

    deploy = subparsers.add_parser("deploy", help="Deploy a tenant's release in preview.")
    deploy.add_argument("slug")
    deploy.add_argument("release", type=int, nargs="?", help="Default: the one in preview.")
    deploy.set_defaults(handler=deploy_command)

    rollback = subparsers.add_parser(
        "rollback", help="Go back to an earlier release: its code and its data."
    )
    rollback.add_argument("slug")
    rollback.add_argument("release", type=int, nargs="?", help="Default: the previous one.")
    rollback.add_argument("--yes", action="store_true", help="Do not ask for confirmation.")
    rollback.set_defaults(handler=rollback_command)


# --- helpers -------------------------------------------------------------------------------


def _tenant_or_refuse(slug: str) -> Any:
    from factory.tenants.selectors import tenant_get
    from factory.tenants.services import TenantRefused

    tenant = tenant_get(slug=slug)
    if tenant is None:
        raise TenantRefused(
            f"There is no tenant {slug!r}; `factory tenant list` shows the tenants."
        )
    return tenant


def _refused(stderr: TextIO, error: Exception) -> int:
    problems = getattr(error, "problems", None) or [str(error)]
    for problem in problems:
        stderr.write(str(problem))
    return EXIT_REFUSED


def _load_spec(path: Path) -> Any:
    from factory.spec.io import spec_load
    from factory.spec.validation import SpecInvalid
    from factory.tenants.services import TenantRefused

    if not path.is_file():
        raise TenantRefused(f"The spec file {path} does not exist.")
    try:
        return spec_load(path=path)
    except SpecInvalid as error:
        raise TenantRefused(
            f"{path} is not a valid spec. {error}", "Nothing was changed."
        ) from None


def _host(slug: str, *, preview: bool = False) -> str:
    from django.conf import settings

    from factory.tenants.naming import tenant_host_name

    return tenant_host_name(slug, base_domain=settings.FACTORY_BASE_DOMAIN, preview=preview)


def _print_build(stdout: TextIO, outcome: Any) -> None:
    release = outcome.release
    stdout.write(outcome.plan_text)
    report = release.check_report.get("text", "")
    if report:
        stdout.write(report)


def _print_deploy(stdout: TextIO, stderr: TextIO, outcome: Any) -> int:
    release = outcome.release
    tenant = release.tenant
    if outcome.backup is not None:
        stdout.write(
            f"Backed up {tenant.slug}'s tables ({outcome.backup.row_count:,} rows in "
            f"{len(outcome.backup.tables)} tables) to {outcome.backup.path}."
        )
    if not outcome.ok:
        state = (
            "Its data is unchanged."
            if outcome.data_unchanged
            else "WARNING: its tables could not be verified against the backup."
        )
        stderr.write(
            f"The migration of release {release.number} failed; {tenant.slug} stays on its "
            f"previous release. {state}\n{outcome.error}"
        )
        return EXIT_FAILED
    stdout.write(
        f"Release {release.number} of {tenant.slug} is live at http://{_host(tenant.slug)}/"
    )
    for action in outcome.reload_actions:
        stdout.write(f"  {action}")
    return EXIT_OK


# --- handlers ------------------------------------------------------------------------------


def tenant_create_command(options: dict, stdout: TextIO, stderr: TextIO) -> int:
    from factory.spec.template import template_app_spec
    from factory.tenants.services import TenantRefused, release_deploy, tenant_provision

    try:
        spec = _load_spec(options["spec"]) if options["spec"] else template_app_spec()
        tenant, outcome = tenant_provision(slug=options["slug"], name=options["name"], spec=spec)
    except TenantRefused as error:
        return _refused(stderr, error)
    stdout.write(f"Created tenant {tenant.slug}; its release 1 was compiled from the spec.")
    _print_build(stdout, outcome)
    if not outcome.ok:
        # The tenant stays, with its failed release for the report: say what to do next.
        stderr.write(
            f"Release 1 of {tenant.slug} failed its checks and was not deployed:\n"
            f"{outcome.release.error}\n"
            f"The tenant {tenant.slug} exists without a live release. Once the cause is "
            f"fixed, build and deploy a release: `factory apply {tenant.slug} SPEC_FILE`, "
            f"then `factory deploy {tenant.slug}`."
        )
        return EXIT_FAILED
    return _print_deploy(stdout, stderr, release_deploy(tenant=tenant))


def tenant_list_command(options: dict, stdout: TextIO, stderr: TextIO) -> int:
    from factory.tenants.models import ReleaseStatus
    from factory.tenants.selectors import tenants_list

    tenants = list(tenants_list().prefetch_related("releases"))
    if not tenants:
        stdout.write("No tenants yet; create one with `factory tenant create SLUG --name NAME`.")
        return EXIT_OK
    stdout.write(f"{'slug':<20} {'live':>5} {'preview':>8}  name / host")
    for tenant in tenants:
        by_status = {r.status: r.number for r in tenant.releases.all()}
        live = by_status.get(ReleaseStatus.LIVE, "-")
        preview = by_status.get(ReleaseStatus.PREVIEW, "-")
        stdout.write(
            f"{tenant.slug:<20} {live!s:>5} {preview!s:>8}  {tenant.name} · {_host(tenant.slug)}"
        )
    return EXIT_OK


def tenant_releases_command(options: dict, stdout: TextIO, stderr: TextIO) -> int:
    from factory.tenants.selectors import releases_of
    from factory.tenants.services import TenantRefused

    try:
        tenant = _tenant_or_refuse(options["slug"])
    except TenantRefused as error:
        return _refused(stderr, error)
    for release in releases_of(tenant=tenant):
        plan = release.migration_plan.get("classification", "-")
        stdout.write(
            f"release {release.number:>3}  {release.get_status_display():<10}  change: {plan:<13}"
            f"  built {release.created_at:%Y-%m-%d %H:%M}"
            + (f"  deployed {release.deployed_at:%Y-%m-%d %H:%M}" if release.deployed_at else "")
        )
    return EXIT_OK


def _standing(tenant: Any) -> str:
    """Where a tenant stands after an upgrade stopped by an error."""
    from factory.tenants.selectors import release_live, release_preview

    live, preview = release_live(tenant=tenant), release_preview(tenant=tenant)
    sentence = f"Release {live.number} stays live." if live else "No release is live."
    if preview is not None:
        sentence += (
            f" Release {preview.number} waits in preview: once the cause is fixed, deploy it "
            f"with `factory deploy {tenant.slug}` or run the upgrade again."
        )
    return sentence


def _print_upgrade(stdout: TextIO, stderr: TextIO, outcome: Any) -> str:
    """Say what happened to one tenant; return it in a word (a key of ``UPGRADE_RESULTS``)."""
    slug = outcome.tenant.slug
    if outcome.up_to_date:
        stdout.write(
            f"  {slug} is already on the current kit (release {outcome.live.number}); "
            "nothing was built."
        )
        return "current"
    release = outcome.build.release
    new = release.migration_plan.get("new_migrations", [])
    stdout.write(
        f"  Built release {release.number} from the spec of release {outcome.live.number}"
        + (f"; new migrations: {', '.join(new)}." if new else "; no new migration.")
    )
    if not outcome.build.ok:
        stderr.write(
            f"Release {release.number} of {slug} failed; release {outcome.live.number} stays "
            "live, with its data as before."
            + (f" {outcome.build.preview_note}" if outcome.build.preview_note else "")
            + f"\n{release.error}"
        )
        return "failed"
    if outcome.deploy is None:
        stdout.write(
            f"  Release {release.number} is in preview at "
            f"http://{_host(slug, preview=True)}/; deploy it with `factory deploy {slug}`."
        )
        return "preview"
    return "deployed" if _print_deploy(stdout, stderr, outcome.deploy) == EXIT_OK else "failed"


def tenant_upgrade_command(options: dict, stdout: TextIO, stderr: TextIO) -> int:
    from factory.tenants.services import TenantRefused, tenant_upgrade, tenants_for_upgrade

    try:
        tenants = tenants_for_upgrade(slugs=options["slugs"], every=options["all"])
    except TenantRefused as error:
        return _refused(stderr, error)
    if not tenants:
        stdout.write("No tenant has a live release; nothing to upgrade.")
        return EXIT_OK
    results: dict[str, list[str]] = {result: [] for result in UPGRADE_RESULTS}
    for position, tenant in enumerate(tenants, start=1):
        stdout.write(f"[{position}/{len(tenants)}] {tenant.slug}")
        stdout.flush()
        try:
            outcome = tenant_upgrade(tenant=tenant, deploy=not options["no_deploy"])
        except TenantRefused as error:
            stderr.write(f"{tenant.slug} was not upgraded: {error}")
            results["failed"].append(tenant.slug)
            continue
        except Exception as error:  # one tenant's failure must not stop the others
            stderr.write(f"{tenant.slug} was not upgraded: {error!r}. {_standing(tenant)}")
            results["failed"].append(tenant.slug)
            continue
        results[_print_upgrade(stdout, stderr, outcome)].append(tenant.slug)
    stdout.write(
        "; ".join(
            f"{UPGRADE_RESULTS[result]}: {', '.join(slugs)}"
            for result, slugs in results.items()
            if slugs
        )
        + "."
    )
    return EXIT_FAILED if results["failed"] else EXIT_OK


def _read_password(username: str) -> str:
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass(f"Password for {username}: ")
    return sys.stdin.readline().rstrip("\n")


def tenant_member_command(options: dict, stdout: TextIO, stderr: TextIO) -> int:
    from django.contrib.auth import get_user_model

    from factory.tenants.services import TenantRefused, membership_remove, membership_set

    user_model = get_user_model()
    try:
        tenant = _tenant_or_refuse(options["slug"])
        user = user_model.objects.filter(username=options["username"]).first()
        if options["remove"]:
            if user is None:
                raise TenantRefused(f"There is no user {options['username']!r}.")
            membership_remove(tenant=tenant, user=user)
            stdout.write(f"{user.username} no longer has access to {tenant.slug}.")
            return EXIT_OK
        if not options["role"]:
            raise TenantRefused("Say which role with --role builder|admin|member|viewer.")
        if user is None:
            if not options["create_user"]:
                raise TenantRefused(
                    f"There is no user {options['username']!r}; add --create-user to create it."
                )
            password = _read_password(options["username"])
            if not password:
                raise TenantRefused("A new user needs a password (on standard input).")
            user = user_model.objects.create_user(username=options["username"], password=password)
        membership_set(tenant=tenant, user=user, role=options["role"])
    except TenantRefused as error:
        return _refused(stderr, error)
    stdout.write(f"{user.username} is {options['role']} of {tenant.slug}.")
    return EXIT_OK


def tenant_apikey_command(options: dict, stdout: TextIO, stderr: TextIO) -> int:
    from factory.tenants.models import Membership
    from factory.tenants.selectors import api_keys_of
    from factory.tenants.services import TenantRefused, api_key_create, api_key_revoke

    try:
        tenant = _tenant_or_refuse(options["slug"])
        if options["revoke"]:
            api_key = api_keys_of(tenant=tenant).filter(prefix=options["revoke"]).first()
            if api_key is None:
                raise TenantRefused(f"{tenant.slug} has no API key {options['revoke']!r}.")
            api_key_revoke(api_key=api_key)
            stdout.write(f"Revoked the API key {api_key.prefix} ({api_key.name}).")
            return EXIT_OK
        if not options["username"]:
            for api_key in api_keys_of(tenant=tenant):
                state = "active" if api_key.is_active else f"revoked {api_key.revoked_at:%Y-%m-%d}"
                stdout.write(
                    f"{api_key.prefix}  {api_key.name:<20} as {api_key.membership.user.username}"
                    f"  {state}"
                )
            return EXIT_OK
        membership = Membership.objects.filter(
            tenant=tenant, user__username=options["username"]
        ).first()
        if membership is None:
            raise TenantRefused(f"{options['username']} is not a member of {tenant.slug}.")
        api_key, key = api_key_create(membership=membership, name=options["name"] or "")
    except TenantRefused as error:
        return _refused(stderr, error)
    stdout.write(key)
    stderr.write(
        f"API key {api_key.prefix} for {tenant.slug}, acting as {options['username']}. "
        "Keep it now: it is not stored and cannot be shown again."
    )
    return EXIT_OK


def _parse_fills(items: list[str]) -> dict[str, Any]:
    from factory.tenants.services import TenantRefused

    fills: dict[str, Any] = {}
    for item in items:
        field_id, separator, value = item.partition("=")
        if not separator or not field_id:
            raise TenantRefused(f"--fill {item!r} should look like FIELD_ID=VALUE.")
        fills[field_id] = value
    return fills


def apply_command(options: dict, stdout: TextIO, stderr: TextIO) -> int:
    from factory.tenants.selectors import release_live
    from factory.tenants.services import TenantRefused, release_build

    try:
        tenant = _tenant_or_refuse(options["slug"])
        spec = _load_spec(options["spec_file"])
        outcome = release_build(
            tenant=tenant,
            spec=spec,
            confirm_destructive=options["confirm_destructive"],
            fill_values=_parse_fills(options["fill"]),
            publish_preview=not options["no_preview"],
        )
    except TenantRefused as error:
        return _refused(stderr, error)
    _print_build(stdout, outcome)
    release = outcome.release
    if not outcome.ok and release.check_ok:
        live = release_live(tenant=tenant)
        stderr.write(
            f"Release {release.number} of {tenant.slug} passed its checks, but its preview "
            "could not be prepared, so it is kept as failed and cannot be deployed. "
            + (f"Release {live.number} stays live" if live else "No release is live")
            + ", with its data as before. "
            + (f"{outcome.preview_note} " if outcome.preview_note else "")
            + f"Apply the spec again once the reason below is fixed.\n{release.error}"
        )
        return EXIT_FAILED
    if not outcome.ok:
        stderr.write(
            f"Release {release.number} of {tenant.slug} failed its checks.\n{release.error}"
        )
        return EXIT_FAILED
    if options["no_preview"]:
        stdout.write(
            f"Release {release.number} passed its checks; deploy it with "
            f"`factory deploy {tenant.slug}`."
        )
    elif outcome.preview_published:
        stdout.write(
            f"Release {release.number} is in preview at http://{_host(tenant.slug, preview=True)}/"
            f" with sample data. Deploy it with `factory deploy {tenant.slug}`."
        )
    else:  # the builder made no preview package, so there was no site to prepare
        stdout.write(
            f"Release {release.number} passed its checks and has no preview site; deploy it "
            f"with `factory deploy {tenant.slug}`."
        )
    return EXIT_OK


def deploy_command(options: dict, stdout: TextIO, stderr: TextIO) -> int:
    from factory.tenants.locks import DeployLockBusy
    from factory.tenants.services import TenantRefused, release_deploy

    try:
        tenant = _tenant_or_refuse(options["slug"])
        outcome = release_deploy(tenant=tenant, number=options["release"])
    except (TenantRefused, DeployLockBusy) as error:
        return _refused(stderr, error)
    return _print_deploy(stdout, stderr, outcome)


def _confirmed(options: dict, stdout: TextIO, question: str) -> bool | None:
    """True/False from --yes or the terminal; None when nobody can be asked."""
    if options["yes"]:
        return True
    if not sys.stdin.isatty():
        return None
    stdout.write(question)
    try:
        answer = input()
    except EOFError:  # Ctrl-D or a closed terminal: nobody said yes
        answer = ""
    return answer.strip().lower() in {"y", "yes"}


def rollback_command(options: dict, stdout: TextIO, stderr: TextIO) -> int:
    from factory.tenants.locks import DeployLockBusy
    from factory.tenants.services import TenantRefused, release_rollback, rollback_plan

    try:
        tenant = _tenant_or_refuse(options["slug"])
        plan = rollback_plan(tenant=tenant, number=options["release"])
    except TenantRefused as error:
        return _refused(stderr, error)
    for line in plan.sentences():
        stdout.write(line)
    answer = _confirmed(
        options, stdout, f"Roll {tenant.slug} back to release {plan.target.number}? [y/N] "
    )
    if answer is None:
        stderr.write(
            "Refusing to roll back without a confirmation: there is no terminal to ask. Read "
            "what would be lost above and run again with --yes. Nothing was changed."
        )
        return EXIT_REFUSED
    if not answer:
        stdout.write("Nothing was changed.")
        return EXIT_REFUSED
    try:
        outcome = release_rollback(tenant=tenant, number=options["release"])
    except (TenantRefused, DeployLockBusy) as error:
        return _refused(stderr, error)
    if not outcome.ok:
        stderr.write(
            f"The rollback failed; release {plan.current.number} stays live with its data "
            f"(restored from the safety backup {outcome.safety_backup.path}).\n{outcome.error}"
        )
        return EXIT_FAILED
    stdout.write(
        f"{tenant.slug} is back on release {plan.target.number} with the data of "
        f"{plan.backup.created_at:%Y-%m-%d %H:%M:%S} UTC. Safety backup of what was replaced: "
        f"{outcome.safety_backup.path}."
    )
    for action in outcome.reload_actions:
        stdout.write(f"  {action}")
    return EXIT_OK
