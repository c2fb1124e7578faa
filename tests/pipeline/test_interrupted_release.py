"""The release step resumed after its worker was killed mid-build: the release that worker
left ``building`` is marked failed, saying so, and the request goes on with a new release
(``test_worker_e2e`` kills a real worker; here the killed build is made directly: a release
in ``building`` whose build lock nobody holds)."""

from __future__ import annotations

import pytest

from factory.pipeline import services
from factory.pipeline.models import ChangeRequest, RequestState
from factory.spec.template import template_app_spec
from factory.tenants.locks import build_lock
from factory.tenants.models import ReleaseStatus, Tenant, TenantRelease

pytestmark = pytest.mark.usefixtures("spec_only_builder")

INTERRUPTED = (
    "Interrupted: the worker or command building this release stopped before the build finished"
)


def _killed_mid_build(tenant: Tenant, builder) -> tuple[ChangeRequest, TenantRelease]:
    """A spec request in its release step, whose first try's worker died while building."""
    change_request, _first_try = services.change_request_create_from_spec(
        tenant=tenant, builder=builder, spec=template_app_spec()
    )
    left = TenantRelease.objects.create(
        tenant=tenant,
        number=1,
        status=ReleaseStatus.BUILDING,
        spec=change_request.spec_working,
        created_by=builder,
    )
    return change_request, left


def _releases(tenant: Tenant) -> list[tuple[int, str, str]]:
    return list(tenant.releases.order_by("number").values_list("number", "status", "error"))


def test_the_resumed_release_step_fails_the_release_the_killed_worker_left(send, tenant, builder):
    change_request, _left = _killed_mid_build(tenant, builder)

    send(services.change_request_resume(change_request=change_request))
    change_request.refresh_from_db()

    assert (change_request.state, change_request.step, change_request.error) == (
        RequestState.PREVIEW,
        "",
        "",
    )
    assert (change_request.release.number, change_request.release.status) == (2, "preview")
    assert _releases(tenant) == [
        (1, "failed", f"{INTERRUPTED}; release 2 replaced it."),
        (2, "preview", ""),
    ]

    # The step delivered once more changes nothing.
    send(services.change_request_release(change_request_id=change_request.pk))
    assert _releases(tenant) == [
        (1, "failed", f"{INTERRUPTED}; release 2 replaced it."),
        (2, "preview", ""),
    ]


def test_a_resumed_step_that_stops_before_building_still_settles_the_left_release(
    send, tenant, builder
):
    change_request, _left = _killed_mid_build(tenant, builder)
    # Meanwhile release 2 went live by another way, so the step must not build.
    TenantRelease.objects.create(
        tenant=tenant, number=2, status=ReleaseStatus.LIVE, spec=template_app_spec().to_jsonable()
    )

    send(services.change_request_resume(change_request=change_request))
    change_request.refresh_from_db()

    assert change_request.state == RequestState.FAILED
    assert change_request.error.startswith("Velo Rent deployed release 2 while this request")
    assert _releases(tenant) == [
        (1, "failed", f"{INTERRUPTED}; nothing of it was previewed or deployed."),
        (2, "live", ""),
    ]


def test_a_step_delivered_again_while_the_first_still_builds_leaves_that_build_alone(
    send, tenant, builder
):
    change_request, left = _killed_mid_build(tenant, builder)

    with build_lock(release_id=left.pk):  # the first try is alive after all (a slow build)
        send(services.change_request_resume(change_request=change_request))

    change_request.refresh_from_db()
    assert (change_request.state, change_request.release.number) == (RequestState.PREVIEW, 2)
    assert _releases(tenant) == [(1, "building", ""), (2, "preview", "")]
