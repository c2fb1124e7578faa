"""CSV import (preview, confirm, per-row errors, malformed files) and export, through the
kit services and through the admin pages.

Decision under test: after an explicit confirmation the valid rows are applied and rows
with errors are skipped (and reported); a file that cannot be read as a whole imports
nothing at all.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from crm import models
from crm.admin import crm_site
from crm.factories import CompanyFactory, ContactFactory, DealFactory, UserFactory
from crm.kit.importing import (
    CsvFileError,
    csv_decode,
    csv_export,
    csv_import_apply,
    csv_import_preview,
)
from crm.kit.roles import ROLE_MEMBER, ROLE_READ_ONLY, role_groups_install

pytestmark = pytest.mark.django_db


def contact_config():
    return crm_site._registry[models.Contact].get_csv_config()


def company_config():
    return crm_site._registry[models.Company].get_csv_config()


def preview(text: str, config=None):
    config = config or contact_config()
    return csv_import_preview(config=config, text=text, changeable=config.model.all_objects.all())


def apply(text: str, config=None, user=None):
    config = config or contact_config()
    return csv_import_apply(
        config=config, text=text, changeable=config.model.all_objects.all(), user=user
    )


def counts() -> tuple[int, int, int]:
    return (
        models.Contact.all_objects.count(),
        models.Company.all_objects.count(),
        models.TimelineEntry.objects.count(),
    )


GOOD_FILE = (
    "Email,First name,Last name,Phone,Company\n"
    "Ann@Example.com,Ann,Lee,+33 6 12 34 56 78,Acme\n"
    "bob@example.com,Bob,Stone,,\n"
    "carl@example.com,Carl,Updated,,Acme\n"
)


@pytest.fixture
def acme():
    return CompanyFactory(name="Acme", domain="acme.com")


# --- Services: good file ------------------------------------------------------------


def test_preview_of_a_good_file_counts_creates_and_updates_and_writes_nothing(acme):
    ContactFactory(email="carl@example.com", first_name="Carl", last_name="Old", company=None)
    before = counts()

    plan = preview(GOOD_FILE)

    assert (plan.to_create, plan.to_update, plan.unchanged, len(plan.error_rows)) == (2, 1, 0, 0)
    assert [(row.line, row.action, row.key) for row in plan.rows] == [
        (2, "create", "ann@example.com"),
        (3, "create", "bob@example.com"),
        (4, "update", "carl@example.com"),
    ]
    assert ("Last name", "Old", "Updated") in plan.rows[2].changes
    assert counts() == before


def test_apply_of_a_good_file_creates_and_updates_with_exact_values(acme, superuser):
    carl = ContactFactory(
        email="carl@example.com", first_name="Carl", last_name="Old", company=None
    )

    result = apply(GOOD_FILE, user=superuser)

    assert (result.created, result.updated, result.unchanged, result.error_rows) == (2, 1, 0, [])
    ann = models.Contact.objects.get(email="ann@example.com")
    assert (ann.first_name, ann.last_name, ann.phone, ann.company) == (
        "Ann",
        "Lee",
        "+33612345678",
        acme,
    )
    assert (ann.created_by, ann.owner) == (superuser, superuser)
    bob = models.Contact.objects.get(email="bob@example.com")
    assert (bob.first_name, bob.last_name, bob.company) == ("Bob", "Stone", None)
    carl.refresh_from_db()
    assert (carl.last_name, carl.company) == ("Updated", acme)
    assert models.Contact.objects.count() == 3
    change = models.TimelineEntry.objects.get(record_id=carl.pk, field="last_name")
    assert (change.old_value, change.new_value) == ("Old", "Updated")


def test_importing_the_same_file_twice_leaves_everything_unchanged(acme):
    apply(GOOD_FILE)
    before = counts()

    result = apply(GOOD_FILE.replace("+33 6 12 34 56 78", "+33612345678"))

    assert (result.created, result.updated, result.unchanged) == (0, 0, 3)
    assert counts() == before


def test_semicolon_separated_files_with_a_bom_are_read():
    text = csv_decode(content="\ufeffEmail;Last name\nzoe@example.com;Zoé\n".encode())

    result = apply(text)

    assert result.created == 1
    assert models.Contact.objects.get().last_name == "Zoé"


def test_company_import_matches_on_the_normalised_domain():
    acme = CompanyFactory(name="Acme", domain="acme.com", city="Paris")
    text = "Domain,Name,City,Industry\nhttps://www.ACME.com/about,Acme,Lyon,Retail\nnew.io,New,,\n"

    result = apply(text, config=company_config())

    assert (result.created, result.updated) == (1, 1)
    acme.refresh_from_db()
    assert (acme.city, acme.industry) == ("Lyon", "retail")
    assert models.Company.objects.get(domain="new.io").name == "New"


# --- Services: bad rows -------------------------------------------------------------


BAD_ROWS_FILE = (
    "Email,First name,Last name,Company\n"
    "good@example.com,Good,Row,\n"
    "not-an-email,Bad,Email,\n"
    "good@example.com,Twice,Same,\n"
    "nocompany@example.com,No,Company,Unknown Ltd\n"
    "short@example.com,Short\n"
    ",Empty,Key,\n"
    "nolast@example.com,No,,\n"
)


def test_bad_rows_are_reported_with_line_and_reason_and_nothing_is_written():
    before = counts()

    plan = preview(BAD_ROWS_FILE)

    errors = {row.line: row.errors for row in plan.error_rows}
    assert sorted(errors) == [3, 4, 5, 6, 7, 8]
    assert errors[3] == ["Email: Enter a valid email address."]
    assert errors[4] == ["Email good@example.com is already on line 2; keep one row per record."]
    assert errors[5] == [
        "Company: no company matches 'Unknown Ltd'; create it first or leave the cell empty."
    ]
    assert "has 2 cells but the header has 4 columns" in errors[6][0]
    assert errors[7] == ["Email is empty; every row needs one to be matched."]
    assert errors[8] == ["Last name: This field cannot be blank."]
    assert (plan.to_create, plan.to_update) == (1, 0)
    assert counts() == before


def test_confirming_a_file_with_bad_rows_applies_only_the_good_rows():
    result = apply(BAD_ROWS_FILE)

    assert (result.created, result.updated, len(result.error_rows)) == (1, 0, 6)
    assert list(models.Contact.objects.values_list("email", "last_name")) == [
        ("good@example.com", "Row")
    ]


def test_a_row_matching_a_record_the_user_may_not_change_is_refused():
    other = UserFactory(username="other")
    theirs = ContactFactory(email="theirs@example.com", last_name="Theirs", owner=other)
    config = contact_config()

    plan = csv_import_preview(
        config=config,
        text="Email,Last name\ntheirs@example.com,Hijacked\n",
        changeable=models.Contact.all_objects.none(),
    )

    assert plan.rows[0].action == "error"
    assert plan.rows[0].errors == ["a contact with this email exists but you may not change it."]
    theirs.refresh_from_db()
    assert theirs.last_name == "Theirs"


# --- Services: malformed files ------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty"),
        ("Email,Last name\nann@example.com,Lé\n".encode("latin-1"), "not UTF-8 text"),
        (b"PK\x03\x04\x14\x00binary", "Excel or OpenDocument workbook"),
        (b"\x00\x01\x02Email\x00", "not a CSV text file"),
    ],
    ids=["empty", "latin-1", "xlsx", "binary"],
)
def test_unreadable_files_are_refused_before_anything_is_read(content, message):
    with pytest.raises(CsvFileError, match=message):
        csv_decode(content=content)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("First name,Last name\nAnn,Lee\n", "no column 'Email'"),
        ("Email,First name\nann@example.com,Ann\n", "no column 'Last name'"),
        ('Email,Last name\nann@example.com,"Lee\n', "not valid CSV"),
        ("Email,Last name,Email\na@example.com,A,a@example.com\n", "appears twice"),
        ("Email,Last name\n", "no data rows"),
    ],
    ids=[
        "key-column-missing",
        "required-column-missing",
        "unclosed-quote",
        "dup-header",
        "no-rows",
    ],
)
def test_malformed_files_import_nothing(text, message):
    ContactFactory(email="ann@example.com", last_name="Before")
    before = counts()

    with pytest.raises(CsvFileError, match=message):
        preview(text)
    with pytest.raises(CsvFileError, match=message):
        apply(text)

    assert counts() == before
    assert models.Contact.objects.get(email="ann@example.com").last_name == "Before"


# --- Export -------------------------------------------------------------------------


def test_export_writes_labels_and_related_names_and_neutralises_formulas(acme):
    ContactFactory(
        email="ann@example.com",
        first_name="=HYPERLINK()",
        last_name="Lee",
        phone="+33 1 23",
        job_title="CEO",
        company=acme,
    )

    text = "".join(csv_export(config=contact_config(), queryset=models.Contact.objects.all()))

    assert text.startswith("\ufeff")
    assert text.lstrip("\ufeff").splitlines() == [
        "Email,First name,Last name,Phone,Job title,Company",
        "ann@example.com,'=HYPERLINK(),Lee,'+33123,CEO,Acme",
    ]


def test_an_exported_file_imports_back_unchanged(acme):
    ContactFactory(email="ann@example.com", first_name="=1+1", phone="+44 20", company=acme)
    ContactFactory(email="bob@example.com", company=None)
    deal_config = crm_site._registry[models.Deal].get_csv_config()
    DealFactory(amount=Decimal("12.50"))
    exported = "".join(csv_export(config=contact_config(), queryset=models.Contact.objects.all()))
    assert "12.50" in "".join(csv_export(config=deal_config, queryset=models.Deal.objects.all()))

    plan = preview(csv_decode(content=exported.encode()))

    assert [row.action for row in plan.rows] == ["unchanged", "unchanged"]


# --- Through the admin pages --------------------------------------------------------


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


IMPORT_URL = "crm:crm_contact_import"


def upload(client, content: bytes, name: str = "contacts.csv"):
    return client.post(reverse(IMPORT_URL), {"file": SimpleUploadedFile(name, content)})


def test_upload_preview_confirm_imports_the_file(admin_client, acme):
    page = admin_client.get(reverse(IMPORT_URL))
    assert page.status_code == 200
    assert "Rows are matched on the column <strong>Email</strong>" in page.content.decode()

    preview_page = upload(admin_client, GOOD_FILE.encode())

    assert preview_page.status_code == 200
    assert (preview_page.context["plan"].to_create, preview_page.context["plan"].to_update) == (
        3,
        0,
    )
    assert models.Contact.objects.count() == 0
    confirm = admin_client.post(
        reverse(IMPORT_URL), {"confirm": "1", "token": preview_page.context["token"]}
    )
    assert confirm.status_code == 302
    assert confirm.url == reverse("crm:crm_contact_changelist")
    assert sorted(models.Contact.objects.values_list("email", flat=True)) == [
        "ann@example.com",
        "bob@example.com",
        "carl@example.com",
    ]
    again = admin_client.post(
        reverse(IMPORT_URL), {"confirm": "1", "token": preview_page.context["token"]}
    )
    assert again.status_code == 302  # the preview was used up: nothing is imported twice
    assert models.Contact.objects.count() == 3


def test_preview_page_lists_row_errors(admin_client):
    response = upload(admin_client, BAD_ROWS_FILE.encode())

    html = response.content.decode()
    assert response.status_code == 200
    assert "Enter a valid email address." in html
    assert "skip the rows with errors" in html
    assert models.Contact.objects.count() == 0


def test_confirm_with_a_stale_token_imports_nothing(admin_client):
    upload(admin_client, GOOD_FILE.encode())
    before = counts()

    response = admin_client.post(reverse(IMPORT_URL), {"confirm": "1", "token": "forged"})

    assert response.status_code == 302
    assert response.url == reverse(IMPORT_URL)  # back to the upload form
    assert counts() == before == (0, 0, 0)


def test_malformed_upload_shows_the_reason_and_imports_nothing(admin_client):
    before = counts()

    response = upload(admin_client, "Email,Last name\nann@example.com,Lé\n".encode("cp1252"))

    assert response.status_code == 200
    assert "not UTF-8 text" in response.context["error"]
    assert "not UTF-8 text" in response.content.decode()
    assert counts() == before


def test_read_only_user_cannot_import(client):
    roles = role_groups_install(app_label="crm", own_records_only={ROLE_MEMBER})
    reader = UserFactory(username="reader", is_staff=True)
    reader.groups.add(roles[ROLE_READ_ONLY])
    client.force_login(reader)
    before = counts()

    page = client.get(reverse(IMPORT_URL))
    response = upload(client, GOOD_FILE.encode())
    listing = client.get(reverse("crm:crm_contact_changelist"))

    assert (page.status_code, response.status_code) == (403, 403)
    assert "Import CSV" not in listing.content.decode()
    assert counts() == before


def test_member_import_cannot_overwrite_anothers_contact(client):
    roles = role_groups_install(app_label="crm", own_records_only={ROLE_MEMBER})
    member = UserFactory(username="member", is_staff=True)
    member.groups.add(roles[ROLE_MEMBER])
    other = UserFactory(username="other")
    theirs = ContactFactory(email="theirs@example.com", last_name="Theirs", owner=other)
    theirs_before = models.Contact.all_objects.filter(pk=theirs.pk).values().get()
    client.force_login(member)

    preview_page = upload(
        client, b"Email,Last name\ntheirs@example.com,Hijacked\nnew@example.com,New\n"
    )
    confirm = client.post(
        reverse(IMPORT_URL), {"confirm": "1", "token": preview_page.context["token"]}
    )

    assert [(row.action, row.errors) for row in preview_page.context["plan"].rows] == [
        ("error", ["a contact with this email exists but you may not change it."]),
        ("create", []),
    ]
    assert (confirm.status_code, confirm.url) == (302, reverse("crm:crm_contact_changelist"))
    assert models.Contact.all_objects.filter(pk=theirs.pk).values().get() == theirs_before
    assert list(models.TimelineEntry.objects.filter(record_id=theirs.pk, field="last_name")) == []
    new = models.Contact.objects.get(email="new@example.com")
    assert new.owner == member
    assert models.Contact.all_objects.count() == 2
