"""A new release takes the place of the one in preview only once its own preview site is
ready: when preparing it fails, the release already in preview stays there (deployable, its
preview site prepared again) and the new one is kept as failed. A build stopped by Ctrl-C or
SystemExit marks its release failed at once and lets the interruption through.

The first tests drive ``factory apply`` in this process, with the preview subprocess
replaced by a recorder; the last one runs the real commands on a tenant stack with a real
gunicorn, and shows the preview host serving the release that stayed in preview."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from factory.spec.io import spec_dump
from factory.spec.template import template_app_spec
from factory.tenants import services
from factory.tenants.building import ReleaseArtifacts
from factory.tenants.locks import build_running, deploy_lock
from factory.tenants.models import ReleaseStatus, Tenant, TenantRelease
from factory.tenants.runtime.state import state_path
from factory.tenants.services import MigrateRun, release_build
from tests.conftest import factory_run
from tests.tenants.conftest import WEBSITE_FIELD, Response, TenantStack, company_spec
from tests.tenants.test_stack import _eventually

BUILD_INTERRUPTED = "Interrupted: the build was stopped before it finished."
SAMPLE_FAILS = "sample data: IntegrityError on p_acme_company"


def _builder(during: Callable[[], None] = lambda: None) -> Any:
    """A release builder that passes with a preview package, calling ``during`` first."""

    def build(**kwargs: Any) -> ReleaseArtifacts:
        during()
        return ReleaseArtifacts(
            {"models.py": "# built\n"},
            {},
            {"ok": True, "text": "checked"},
            ok=True,
            preview_files={"models.py": "# preview\n"} if kwargs["with_preview"] else {},
        )

    return lambda: build


def _statuses(tenant: Tenant) -> dict[int, str]:
    return dict(tenant.releases.values_list("number", "status"))


def _state(label: str) -> dict[str, Any]:
    return json.loads(state_path(label).read_text())


class Recorder:
    """Stands for the ``tenant_migrate`` subprocess and the reload: records the calls and
    the statuses seen during each migration; fails the releases listed in ``failing``."""

    def __init__(self, *, failing: dict[int, str] | None = None) -> None:
        self.failing = failing or {}
        self.migrations: list[tuple[str, int, bool, int, dict[int, str]]] = []
        self.reloads = 0

    def migrate(
        self,
        *,
        tenant: Tenant,
        label: str,
        release: TenantRelease,
        reset: bool = False,
        restore: Path | None = None,
        sample_data: int = 0,
    ) -> MigrateRun:
        self.migrations.append((label, release.number, reset, sample_data, _statuses(tenant)))
        if release.number in self.failing:
            return MigrateRun(ok=False, output=self.failing[release.number])
        return MigrateRun(ok=True, output="", summary={"sample_rows": {"p_acme_company": 5}})

    def reload(self) -> list[str]:
        self.reloads += 1
        return []


@pytest.fixture
def in_preview(monkeypatch, settings, tmp_path: Path) -> Tenant:
    """acme with release 1 live and release 2 in preview (its preview site prepared, as
    the state file says), and a spec file for release 3."""
    from factory.evolution.impact import spec_diff_uncounted

    settings.FACTORY_APPS_DIR = tmp_path / "apps"
    monkeypatch.setattr(
        services, "_live_impact", lambda *, tenant, base, diff: spec_diff_uncounted(diff)
    )
    tenant = Tenant.objects.create(slug="acme", name="Acme")
    live = TenantRelease.objects.create(
        tenant=tenant,
        number=1,
        status=ReleaseStatus.LIVE,
        spec=template_app_spec().to_jsonable(),
        files={"models.py": "# release 1\n"},
        check_report={"ok": True},
    )
    preview = TenantRelease.objects.create(
        tenant=tenant,
        number=2,
        status=ReleaseStatus.PREVIEW,
        base_release=live,
        spec=template_app_spec().to_jsonable(),
        files={"models.py": "# release 2\n"},
        preview_files={"models.py": "# release 2 preview\n"},
        check_report={"ok": True},
    )
    services.tenant_state_write(app_label="p_acme", release_id=preview.id, mode="strict")
    (tmp_path / "spec.yaml").write_text(spec_dump(template_app_spec()), encoding="utf-8")
    return tenant


def _use(monkeypatch, recorder: Recorder, builder: Any = None) -> None:
    monkeypatch.setattr(services, "release_builder", builder or _builder())
    monkeypatch.setattr(services, "_tenant_migrate", recorder.migrate)
    monkeypatch.setattr(services, "processes_reload", recorder.reload)


@pytest.mark.django_db
def test_a_failed_preview_leaves_the_release_in_preview_with_its_site_prepared_again(
    in_preview: Tenant, monkeypatch, tmp_path: Path
) -> None:
    recorder = Recorder(failing={3: SAMPLE_FAILS})
    _use(monkeypatch, recorder)
    release_2 = in_preview.releases.values().get(number=2)

    code, out, err = factory_run("apply", "acme", str(tmp_path / "spec.yaml"))

    assert code == 1
    assert err == (
        "Release 3 of acme passed its checks, but its preview could not be prepared, so it is "
        "kept as failed and cannot be deployed. Release 1 stays live, with its data as before. "
        "Release 2 stays in preview; its preview site was prepared again, with new sample "
        "data. Apply the spec again once the reason below is fixed.\n"
        f"The preview could not be prepared:\n{SAMPLE_FAILS}\n"
    )
    assert "is in preview" not in out
    assert _statuses(in_preview) == {1: "live", 2: "preview", 3: "failed"}
    assert in_preview.releases.get(number=3).error == (
        f"The preview could not be prepared:\n{SAMPLE_FAILS}"
    )
    assert in_preview.releases.values().get(number=2) == release_2
    # Release 3 was tried while still building (release 2 in preview meanwhile), then
    # release 2's preview tables were rebuilt: the preview tables only, never the live ones.
    assert recorder.migrations == [
        ("p_acme", 3, True, 5, {1: "live", 2: "preview", 3: "building"}),
        ("p_acme", 2, True, 5, {1: "live", 2: "preview", 3: "failed"}),
    ]
    # The processes already run release 2's preview: they serve it again without a reload.
    assert _state("p_acme") == {"release": in_preview.releases.get(number=2).id, "mode": "strict"}
    assert recorder.reloads == 0
    assert build_running(release_id=in_preview.releases.get(number=3).pk) is False


@pytest.mark.django_db
def test_a_preview_that_is_ready_retires_the_one_it_replaces(
    in_preview: Tenant, monkeypatch, tmp_path: Path
) -> None:
    recorder = Recorder()
    _use(monkeypatch, recorder)

    code, out, err = factory_run("apply", "acme", str(tmp_path / "spec.yaml"))

    assert (code, err) == (0, "")
    assert out.endswith(
        "Release 3 is in preview at http://acme--preview.localhost/ with sample data. Deploy "
        "it with `factory deploy acme`.\n"
    )
    assert _statuses(in_preview) == {1: "live", 2: "retired", 3: "preview"}
    assert recorder.migrations == [
        ("p_acme", 3, True, 5, {1: "live", 2: "preview", 3: "building"}),
    ]
    assert _state("p_acme") == {"release": in_preview.releases.get(number=3).id, "mode": "strict"}
    assert recorder.reloads == 1


@pytest.mark.django_db
def test_a_busy_lock_leaves_the_release_in_preview_untouched(
    in_preview: Tenant, monkeypatch, settings, tmp_path: Path
) -> None:
    settings.FACTORY_DEPLOY_LOCK_TIMEOUT = 0.2
    recorder = Recorder()
    _use(monkeypatch, recorder)
    state_before = _state("p_acme")

    with deploy_lock(timeout=0):
        code, _out, err = factory_run("apply", "acme", str(tmp_path / "spec.yaml"))

    busy = (
        "The preview could not be prepared: Another deploy or rollback is running on this "
        "database (waited 0 s); try again when it has finished."
    )
    assert code == 1
    assert err.endswith(
        "Release 1 stays live, with its data as before. Release 2 stays in preview, with its "
        f"preview site as it was. Apply the spec again once the reason below is fixed.\n{busy}\n"
    )
    assert _statuses(in_preview) == {1: "live", 2: "preview", 3: "failed"}
    assert (recorder.migrations, recorder.reloads) == ([], 0)
    assert _state("p_acme") == state_before


@pytest.mark.django_db
def test_when_the_site_of_the_release_in_preview_cannot_be_prepared_again_it_says_so(
    in_preview: Tenant, monkeypatch, tmp_path: Path
) -> None:
    recorder = Recorder(failing={3: SAMPLE_FAILS, 2: "migrate: disk full"})
    _use(monkeypatch, recorder)

    code, _out, err = factory_run("apply", "acme", str(tmp_path / "spec.yaml"))

    error = (
        f"The preview could not be prepared:\n{SAMPLE_FAILS}\n"
        "The preview site of release 2 could not be prepared again:\nmigrate: disk full"
    )
    assert code == 1
    assert err == (
        "Release 3 of acme passed its checks, but its preview could not be prepared, so it is "
        "kept as failed and cannot be deployed. Release 1 stays live, with its data as before. "
        "Release 2 stays in preview and can be deployed, but its preview site could not be "
        "prepared again (see below): the preview host answers 503 until a spec is applied "
        f"again. Apply the spec again once the reason below is fixed.\n{error}\n"
    )
    assert _statuses(in_preview) == {1: "live", 2: "preview", 3: "failed"}
    assert in_preview.releases.get(number=3).error == error
    # Still the failed release's maintenance: release 2's processes answer 503, not errors.
    assert _state("p_acme") == {
        "release": in_preview.releases.get(number=3).id,
        "mode": "maintenance",
    }
    assert recorder.reloads == 0


# --- Ctrl-C and SystemExit ------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("stop", [KeyboardInterrupt, SystemExit])
def test_an_interrupted_build_fails_its_release_and_the_interruption_goes_on(
    in_preview: Tenant, monkeypatch, stop: type[BaseException]
) -> None:
    def interrupted() -> None:
        raise stop()

    recorder = Recorder()
    _use(monkeypatch, recorder, builder=_builder(interrupted))
    release_2 = in_preview.releases.values().get(number=2)

    with pytest.raises(stop):
        release_build(tenant=in_preview, spec=template_app_spec())

    release = in_preview.releases.get(number=3)
    assert (release.status, release.error) == ("failed", BUILD_INTERRUPTED)
    assert build_running(release_id=release.pk) is False
    assert _statuses(in_preview) == {1: "live", 2: "preview", 3: "failed"}
    assert in_preview.releases.values().get(number=2) == release_2
    assert (recorder.migrations, recorder.reloads) == ([], 0)


@pytest.mark.django_db
def test_ctrl_c_while_the_preview_is_prepared_fails_the_release_and_keeps_the_preview(
    in_preview: Tenant, monkeypatch
) -> None:
    recorder = Recorder()
    _use(monkeypatch, recorder)

    def interrupted(**kwargs: Any) -> MigrateRun:
        recorder.migrate(**kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(services, "_tenant_migrate", interrupted)

    with pytest.raises(KeyboardInterrupt):
        release_build(tenant=in_preview, spec=template_app_spec())

    release = in_preview.releases.get(number=3)
    assert (release.status, release.error) == ("failed", BUILD_INTERRUPTED)
    assert _statuses(in_preview) == {1: "live", 2: "preview", 3: "failed"}
    assert [migration[:2] for migration in recorder.migrations] == [("p_acme", 3)]
    assert recorder.reloads == 0
    # Nothing more runs after Ctrl-C: the preview host answers 503 until the next preview.
    assert _state("p_acme") == {"release": release.id, "mode": "maintenance"}
    with deploy_lock(timeout=0):
        pass  # the interruption released the deploy lock


# --- on a real stack ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def preview_stack(stack: TenantStack) -> TenantStack:
    """The stack with a builder whose preview migration fails for a spec named "Broken
    preview" (chosen before the first command starts the driver process)."""
    stack.env["FACTORY_RELEASE_BUILDER"] = "tests.tenants.builders.preview_breaking_release_build"
    return stack


def _companies(stack: TenantStack, key: str) -> Response:
    return stack.request(
        "GET", "acme--preview.localhost", "/api/companies/", headers=stack.api_key_headers(key)
    )


PHONE_FIELD = "{id: company_phone, name: phone, label: phone, type: text}"


def test_the_preview_host_keeps_serving_the_release_in_preview_when_the_next_one_fails(
    preview_stack: TenantStack,
) -> None:
    stack = preview_stack
    created = stack.factory(
        "tenant",
        "create",
        "acme",
        "--name",
        "Acme",
        "--spec",
        stack.spec_file("v1", company_spec()),
    )
    assert created.code == 0, created.stderr + created.stdout
    member = stack.factory(
        "tenant", "member", "acme", "alice", "--role", "admin", "--create-user", stdin="pw-12345"
    )
    assert member.code == 0, member.stderr
    key = stack.factory("tenant", "apikey", "acme", "alice", "--name", "tests").stdout.strip()
    stack.serve()
    applied = stack.factory("apply", "acme", stack.spec_file("v2", company_spec(WEBSITE_FIELD)))
    assert applied.code == 0, applied.stderr + applied.stdout
    served = _eventually(lambda: _companies(stack, key), lambda answer: answer.status == 200)
    assert served.status == 200, served.body
    assert all("website" in row for row in served.json()["results"])

    broken = company_spec(WEBSITE_FIELD, PHONE_FIELD).replace("Test CRM", "Broken preview", 1)
    failed = stack.factory("apply", "acme", stack.spec_file("v3", broken))

    assert failed.code == 1
    assert failed.stderr.startswith(
        "Release 3 of acme passed its checks, but its preview could not be prepared, so it is "
        "kept as failed and cannot be deployed. Release 1 stays live, with its data as before. "
        "Release 2 stays in preview; its preview site was prepared again, with new sample "
        "data. Apply the spec again once the reason below is fixed.\n"
        "The preview could not be prepared:\n"
    )
    assert "the preview migration fails, as this test wants" in failed.stderr
    assert stack.releases("acme") == {1: "live", 2: "preview", 3: "failed"}
    # Release 2's preview, on tables rebuilt for it, with no reload in between.
    assert "phone" not in stack.columns("p_acme_company")
    again = _companies(stack, key)
    assert again.status == 200, again.body
    rows = again.json()["results"]
    assert len(rows) == 5
    assert all("website" in row and "phone" not in row for row in rows)

    fixed = stack.factory(
        "apply", "acme", stack.spec_file("v4", company_spec(WEBSITE_FIELD, PHONE_FIELD))
    )
    assert fixed.code == 0, fixed.stderr + fixed.stdout
    assert stack.releases("acme") == {1: "live", 2: "retired", 3: "failed", 4: "preview"}
    newer = _eventually(
        lambda: _companies(stack, key),
        lambda answer: answer.status == 200 and "phone" in answer.json()["results"][0],
    )
    assert newer.status == 200, newer.body
    assert all("phone" in row for row in newer.json()["results"])
