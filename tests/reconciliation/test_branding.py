"""Branding and wording (issue 7, item 10): LedgerSync's name and landing page, refusals in the
admin's layout that say why, reasons and model names in words, one date format, a demo summary
without Python structures."""

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

pytestmark = pytest.mark.django_db

DECIDE_APPROVE = "admin:reconciliation_quarantineitem_decide"


def staff(client, name: str, group: str) -> User:
    user = User.objects.create_user(name, password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    client.force_login(user)
    return user


# --- LedgerSync, not "Django administration" ----------------------------------------------------


def test_admin_pages_say_ledgersync_and_view_site_leads_to_the_landing_page(client):
    staff(client, "fiona", "Finance")
    page = client.get(reverse("admin:index")).content.decode()
    assert "Django administration" not in page and "Django site admin" not in page
    assert '<div id="site-name"><a href="/admin/">LedgerSync</a></div>' in page
    assert "<title>Back office | LedgerSync</title>" in page
    assert '<a href="/">View site</a>' in page


def test_landing_page_says_what_ledgersync_is_and_offers_sign_in(client):
    page = client.get("/").content.decode()
    assert "posts marketplace money" in page and "into Xero" in page
    assert 'href="/admin/login/?next=/admin/"' in page and "Sign in" in page
    assert "/api/docs/" not in page  # the ways in are for signed-in users


def test_landing_page_signed_in_links_the_admin_api_docs_and_readme(client):
    staff(client, "otto", "Operations")
    page = client.get("/").content.decode()
    for link in ('href="/admin/"', 'href="/api/docs/"', 'href="/readme/"'):
        assert link in page
    assert "Sign in" not in page
    readme = client.get("/readme/")
    assert readme["Content-Type"] == "text/plain; charset=utf-8"
    assert b"## Roles" in b"".join(readme.streaming_content)


def test_readme_needs_a_sign_in(client):
    response = client.get("/readme/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


# --- refusals ------------------------------------------------------------------------------------


def test_operations_opening_a_finance_only_page_gets_the_styled_refusal_with_the_reason(client):
    staff(client, "otto", "Operations")
    response = client.get(reverse(DECIDE_APPROVE, args=[1, "approve"]))
    assert response.status_code == 403
    page = response.content.decode()
    assert "403 Forbidden" not in page
    assert '<div id="site-name"><a href="/admin/">LedgerSync</a></div>' in page
    assert "Your role (Operations) cannot approve quarantine items; Finance can." in page
    assert "admin/css/base.css" in page  # the admin's own stylesheet


def test_a_refusal_the_admin_gives_without_a_reason_is_explained_from_the_page(client):
    staff(client, "audrey", "Auditor")
    response = client.get(reverse("admin:reconciliation_shop_add"))
    assert response.status_code == 403
    assert "Your role (Auditor) cannot add shops; Operations can." in response.content.decode()


def test_a_refusal_outside_the_admin_models_reads_as_a_plain_sentence(rf):
    from django.contrib.auth.models import AnonymousUser

    from ledgersync.refusals import refused

    request = rf.get("/somewhere/")
    request.user = AnonymousUser()
    response = refused(request, None)
    assert response.status_code == 403
    assert b"does not have the permission this page needs" in response.content


def test_a_reason_the_service_gives_is_shown_as_given(rf):
    from django.contrib.auth.models import AnonymousUser
    from django.core.exceptions import PermissionDenied

    from ledgersync.refusals import refused

    request = rf.get("/admin/")
    request.user = AnonymousUser()
    response = refused(
        request, PermissionDenied("only Finance may approve, retry or dismiss quarantined items")
    )
    assert b"only Finance may approve, retry or dismiss quarantined items" in response.content


# --- reasons and names in words ------------------------------------------------------------------


@pytest.fixture
def shop(settings):
    from cryptography.fernet import Fernet

    from reconciliation.models import Shop, XeroConnection

    settings.CREDENTIALS_KEYS = [Fernet.generate_key().decode()]
    xero = XeroConnection.objects.create(name="Demo org", tenant_id="tenant-1")
    return Shop.objects.create(
        channel="tiktok",
        code="tt-uk",
        name="Demo UK",
        region="GB",
        currency="GBP",
        clearing_account="1210",
        xero_connection=xero,
    )


def locked_item(shop):
    from reconciliation.models import QuarantineItem
    from reconciliation.models.quarantine import Reason

    return QuarantineItem.objects.create(
        reason=Reason.LOCK_DATE, shop=shop, source_ref="TikTok tt-uk statement S1", message="dated 2025-10-20"
    )


def test_a_held_item_is_titled_by_its_reason_in_words(shop):
    assert str(locked_item(shop)) == "Dated in a locked period: TikTok tt-uk statement S1"


def test_every_reason_reads_as_words_not_a_code():
    from reconciliation.models.quarantine import Reason

    for reason in Reason:
        assert reason.label != reason.value and "_" not in reason.label, reason


def test_the_finance_queue_filters_and_titles_by_reason_in_words(client, shop):
    item = locked_item(shop)
    type(item).objects.create(  # the reason filter offers the reasons items have, by their labels
        reason="UNMAPPED_COMPONENT", shop=shop, source_ref="TikTok tt-uk statement S2", message="fee.x"
    )
    staff(client, "fiona", "Finance")
    listing = client.get(reverse("admin:reconciliation_quarantineitem_changelist")).content.decode()
    assert "Dated in a locked period" in listing
    assert "Statement line with no account in the map" in listing  # the reason filter offers labels
    assert ">LOCK_DATE<" not in listing and ">UNMAPPED_COMPONENT<" not in listing
    page = client.get(reverse("admin:reconciliation_quarantineitem_change", args=[item.pk])).content.decode()
    assert "Dated in a locked period: TikTok tt-uk statement S1" in page
    assert "LOCK_DATE:" not in page


def test_model_names_are_spelt_as_finance_spells_them(client):
    staff(client, "audrey", "Auditor")
    page = client.get(reverse("admin:index")).content.decode()
    assert "TikTok orders" in page and "SKU mappings" in page
    assert "Tiktok" not in page and "Tik tok" not in page and "Sku mappings" not in page


def test_a_posting_is_titled_by_its_state_in_words(shop):
    from reconciliation.models import XeroPosting

    posting = XeroPosting(shop=shop, kind=XeroPosting.Kind.MANUAL_JOURNAL, state=XeroPosting.State.HELD)
    posting.lookup_reference = "TT-S1"
    assert str(posting) == "Manual journal TT-S1: Held (quarantined)"


# --- the demo summary ----------------------------------------------------------------------------


def test_http_statuses_read_as_words_with_no_answer_last():
    from reconciliation.management.commands.demo import statuses_in_words

    assert statuses_in_words({None: 1, 200: 14, 500: 1}) == " (200: 14, 500: 1, no answer: 1)"
    assert statuses_in_words({}) == ""


def test_injected_faults_read_as_words():
    from collections import Counter

    from reconciliation.management.commands.demo import faults_in_words

    assert (
        faults_in_words(Counter(timeout_after_write=1, server_error=1))
        == "1 timeout after write, 1 server error"
    )
    assert faults_in_words(Counter()) == "none"


# --- one date format, audit times to the second --------------------------------------------------


def test_dates_and_times_have_one_format_with_seconds_and_zone():
    from datetime import UTC, date, datetime

    from django.utils import formats, timezone

    moment = timezone.localtime(datetime(2026, 11, 29, 23, 15, 41, tzinfo=UTC))
    assert formats.localize(moment) == "2026-11-29 23:15:41 UTC"
    assert formats.date_format(moment, "SHORT_DATETIME_FORMAT") == "2026-11-29 23:15:41 UTC"
    assert formats.localize(date(2026, 11, 29)) == "2026-11-29"
    assert formats.date_format(date(2026, 11, 29), "SHORT_DATE_FORMAT") == "2026-11-29"
    assert formats.get_format("DATE_INPUT_FORMATS")[0] == "%Y-%m-%d"  # how a date field shows it


def test_a_postings_created_time_renders_to_the_second(client, shop):
    from datetime import UTC, date, datetime

    from reconciliation.models import Statement, XeroPosting

    statement = Statement.objects.create(
        shop=shop,
        statement_id="S1",
        statement_date=date(2026, 11, 28),
        currency="GBP",
        settlement_amount="10.00",
        content_hash="hash-S1",
    )
    posting = XeroPosting.objects.create(
        connection=shop.xero_connection,
        shop=shop,
        source=statement,
        kind=XeroPosting.Kind.MANUAL_JOURNAL,
        source_ref="tt-uk statement S1",
        purpose="statement_journal",
        lookup_reference="Narration=TikTok tt-uk statement S1",
        idempotency_key="key-1",
        payload={"Narration": "TikTok tt-uk statement S1"},
        document_date=date(2026, 11, 28),
        state=XeroPosting.State.HELD,
    )
    XeroPosting.objects.filter(pk=posting.pk).update(
        created_at=datetime(2026, 11, 29, 23, 15, 41, tzinfo=UTC)
    )
    staff(client, "audrey", "Auditor")
    page = client.get(reverse("admin:reconciliation_xeroposting_change", args=[posting.pk])).content.decode()
    assert "2026-11-29 23:15:41 UTC" in page
    assert "View Xero posting" in page  # the model's name, spelt as Xero spells itself
    assert "2026-11-28" in page and "28 Nov 2026" not in page and "p.m." not in page and "a.m." not in page
