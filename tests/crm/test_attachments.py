"""Attachment downloads: files go out only through the admin site's permission-checked view,
never a public media URL, and only to users who may see the attachment's record."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.urls import reverse

from crm import models
from crm.factories import DealFactory, UserFactory
from crm.kit.roles import ROLE_MEMBER, role_groups_install

pytestmark = pytest.mark.django_db

CONTENT = b"%PDF-1.4 signed contract\n"


@pytest.fixture
def roles(db):
    return role_groups_install(app_label="crm", own_records_only={ROLE_MEMBER})


def member(roles, username: str):
    user = UserFactory(username=username, is_staff=True)
    user.groups.add(roles[ROLE_MEMBER])
    return user


def attach(record, *, name: str = "Contract") -> models.Attachment:
    attachment = models.Attachment(target=record, name=name)
    attachment.file.save("contract.pdf", ContentFile(CONTENT), save=True)
    return attachment


def download_url(pk: int) -> str:
    return reverse("crm:attachment_download", args=[pk])


def test_the_owner_of_the_record_downloads_the_exact_file(client, roles):
    owner = member(roles, "owner")
    attachment = attach(DealFactory(owner=owner))
    client.force_login(owner)

    response = client.get(download_url(attachment.pk))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == CONTENT
    assert response["Content-Disposition"] == 'attachment; filename="contract.pdf"'


def test_a_user_without_the_view_permission_on_attachments_is_refused(client, roles):
    user = UserFactory(username="deals-only", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_deal"))
    attachment = attach(DealFactory(owner=user))
    client.force_login(user)

    response = client.get(download_url(attachment.pk))

    assert response.status_code == 403
    assert models.Attachment.objects.get().file.read() == CONTENT


def test_a_user_limited_to_own_records_gets_404_for_another_users_record(client, roles):
    owner, other = member(roles, "owner"), member(roles, "other")
    attachment = attach(DealFactory(owner=owner))
    client.force_login(other)

    response = client.get(download_url(attachment.pk))

    assert response.status_code == 404
    assert not response.has_header("Content-Disposition")
    assert models.Attachment.objects.count() == 1


def test_an_unknown_attachment_is_404(client, superuser):
    client.force_login(superuser)

    response = client.get(download_url(987654))

    assert response.status_code == 404


def test_an_anonymous_visitor_is_sent_to_the_login_page(client, roles):
    attachment = attach(DealFactory(owner=member(roles, "owner")))

    response = client.get(download_url(attachment.pk))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("crm:login"))


def test_the_record_page_and_attachment_pages_link_to_the_download_not_to_media(client, superuser):
    deal = DealFactory(owner=superuser)
    attachment = attach(deal)
    client.force_login(superuser)
    url = download_url(attachment.pk)

    pages = [
        client.get(reverse("crm:crm_deal_change", args=[deal.pk])),
        client.get(reverse("crm:crm_attachment_change", args=[attachment.pk])),
        client.get(reverse("crm:crm_attachment_changelist")),
    ]

    for page in pages:
        html = page.content.decode()
        assert page.status_code == 200
        assert f'href="{url}"' in html
        assert "/media/" not in html
