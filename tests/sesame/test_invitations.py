"""Invitations: pending, expiring, single-use links sent by email (a real SMTP server), accepted
by the invited address only; agents never join a company; the active company is chosen."""

import re
import threading
from datetime import timedelta

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from sesame import services
from sesame.models import AgentProfile, Invitation, Membership, User
from sesame.selectors import SESSION_COMPANY
from tests.factories import AgentFactory, CompanyFactory, MembershipFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]
PASSWORD = "correct-horse-battery"
NEW_PASSWORD = "a-Long-enough-pass-2026"
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
LINK = re.compile(r"http://testserver(/invitations/[^/\s]+/)")


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def invite(admin, email: str, smtp, capture, role: str = "operator") -> str:
    """The administrator invites `email` from the members page; the path of the emailed link."""
    with capture(execute=True):
        response = signed_in(admin).post(reverse("members"), {"email": email, "role": role})
    assert response.status_code == 302, response.content
    message = smtp.to(email.lower())[-1]
    return LINK.search(message.get_content()).group(1)


@pytest.fixture
def admin(company):
    return MembershipFactory(company=company, role="admin").user


def test_inviting_an_existing_operator_makes_them_nothing_until_they_accept(
    admin, company, other_company, smtp, django_capture_on_commit_callbacks
):
    outsider = MembershipFactory(company=other_company).user
    path = invite(admin, outsider.email, smtp, django_capture_on_commit_callbacks)
    invitation = Invitation.objects.get(email=outsider.email)
    assert invitation.status == "pending"
    assert invitation.sent_at is not None
    assert not Membership.objects.filter(user=outsider, company=company).exists()
    # Their next sign-in lands on their own company, not the inviting one.
    client = Client()
    response = client.post(
        reverse("account_login"), {"login": outsider.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    dashboard = client.get(reverse("dashboard"))
    assert dashboard.context["membership"].company == other_company
    # They accept, signed in as the invited address: a member now, the new company active.
    page = client.get(path)
    assert page.status_code == 200
    assert 'data-testid="accept"' in page.content.decode()
    response = client.post(path)
    assert response.status_code == 302
    assert Membership.objects.get(user=outsider, company=company).role == "operator"
    assert client.session[SESSION_COMPANY] == company.pk
    invitation.refresh_from_db()
    assert (invitation.status, invitation.accepted_by) == ("accepted", outsider)


def test_a_new_person_chooses_a_password_and_joins(
    admin, company, smtp, django_capture_on_commit_callbacks
):
    path = invite(admin, "New.Person@Example.org", smtp, django_capture_on_commit_callbacks)
    assert not User.objects.filter(email="new.person@example.org").exists()
    client = Client()
    assert 'data-testid="new-account"' in client.get(path).content.decode()
    response = client.post(path, {"password1": "short", "password2": "short"})
    assert response.status_code == 400
    assert 'data-testid="error-password1"' in response.content.decode()
    assert not User.objects.filter(email="new.person@example.org").exists()
    response = client.post(path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 302
    user = User.objects.get(email="new.person@example.org")
    assert Membership.objects.get(user=user).company == company
    assert client.get(reverse("dashboard")).context["membership"].company == company
    assert Client().login(email="new.person@example.org", password=NEW_PASSWORD)


def test_an_expired_invitation_is_refused_and_changes_nothing(
    admin, smtp, django_capture_on_commit_callbacks
):
    person = UserFactory()
    path = invite(admin, person.email, smtp, django_capture_on_commit_callbacks)
    Invitation.objects.filter(email=person.email).update(
        created_at=timezone.now() - timedelta(days=9), expires_at=timezone.now() - timedelta(days=2)
    )
    client = signed_in(person)
    for response in (client.get(path), client.post(path)):
        assert response.status_code == 410
        assert 'data-code="expired"' in response.content.decode()
    assert not Membership.objects.filter(user=person).exists()


def test_an_invitation_is_used_once(admin, company, smtp, django_capture_on_commit_callbacks):
    person = UserFactory()
    path = invite(admin, person.email, smtp, django_capture_on_commit_callbacks)
    client = signed_in(person)
    assert client.post(path).status_code == 302
    again = client.post(path)
    assert again.status_code == 410
    assert 'data-code="accepted"' in again.content.decode()
    new_account = Client().post(path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert new_account.status_code == 410
    assert Membership.objects.filter(user=person, company=company).count() == 1


def test_signed_in_as_another_address_is_refused(admin, smtp, django_capture_on_commit_callbacks):
    invited, other = UserFactory(), MembershipFactory().user
    path = invite(admin, invited.email, smtp, django_capture_on_commit_callbacks)
    client = signed_in(other)
    for response in (client.get(path), client.post(path)):
        assert response.status_code == 403
        body = response.content.decode()
        assert 'data-code="wrong_account"' in body
        assert 'data-testid="sign-out-to-accept"' in body
    assert Membership.objects.filter(user=other).count() == 1
    assert not Membership.objects.filter(user=invited).exists()


def test_someone_with_an_account_signs_in_before_accepting(
    admin, smtp, django_capture_on_commit_callbacks
):
    person = UserFactory()
    path = invite(admin, person.email, smtp, django_capture_on_commit_callbacks)
    anonymous = Client()
    page = anonymous.get(path)
    assert 'data-testid="sign-in-to-accept"' in page.content.decode()
    response = anonymous.post(path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))
    person.refresh_from_db()
    assert person.check_password(PASSWORD)  # nobody set a password through the link
    assert not Membership.objects.filter(user=person).exists()


def test_an_agent_is_never_invited_nor_made_a_member(
    admin, company, smtp, django_capture_on_commit_callbacks
):
    agent = AgentFactory().user
    TOTP.activate(agent, SECRET)
    client = signed_in(admin)
    response = client.post(reverse("members"), {"email": agent.email, "role": "operator"})
    assert response.status_code == 400
    assert "agent" in response.context["form"].errors["email"][0]
    assert not Invitation.objects.filter(email=agent.email).exists()
    # Invited before becoming an agent: the link refuses them.
    person = UserFactory()
    path = invite(admin, person.email, smtp, django_capture_on_commit_callbacks)
    AgentFactory(user=person)
    TOTP.activate(person, SECRET)
    response = signed_in(person).post(path)
    assert response.status_code == 403
    assert 'data-code="agent"' in response.content.decode()
    assert not Membership.objects.filter(user=person).exists()
    # And the database refuses it whatever the path.
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(user=person, company=company)
    with pytest.raises(IntegrityError), transaction.atomic():
        AgentProfile.objects.create(user=admin, service="customs", post=agent.agent.post)


def test_unknown_cancelled_and_replaced_links(admin, smtp, django_capture_on_commit_callbacks):
    person = UserFactory()
    first = invite(admin, person.email, smtp, django_capture_on_commit_callbacks)
    second = invite(admin, person.email, smtp, django_capture_on_commit_callbacks)
    client = signed_in(person)
    assert client.get(first).status_code == 410  # replaced: cancelled
    invitation = Invitation.objects.get(email=person.email, revoked_at__isnull=True)
    admin_client = signed_in(admin)
    cancel = reverse("invitation-cancel", args=[invitation.pk])
    asked = admin_client.post(cancel)
    assert asked.status_code == 200  # the question, nothing cancelled yet
    assert client.get(second).status_code == 200
    assert admin_client.post(cancel, {"confirmed": "yes"}).status_code == 302
    assert client.get(second).status_code == 410
    assert client.get("/invitations/not-a-token/").status_code == 404
    assert not Membership.objects.filter(user=person).exists()


def test_resend_gives_a_new_link_and_the_old_one_stops(
    admin, smtp, django_capture_on_commit_callbacks
):
    person = UserFactory()
    old = invite(admin, person.email, smtp, django_capture_on_commit_callbacks)
    invitation = Invitation.objects.get(email=person.email)
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in(admin).post(reverse("invitation-resend", args=[invitation.pk]))
    assert response.status_code == 302
    new = LINK.search(smtp.to(person.email)[-1].get_content()).group(1)
    assert new != old
    client = signed_in(person)
    assert client.get(old).status_code == 404
    assert client.post(new).status_code == 302


def test_an_email_that_cannot_be_sent_keeps_the_invitation_and_says_so(
    admin, smtp, settings, django_capture_on_commit_callbacks
):
    from tests.tracking.conftest import free_port

    settings.EMAIL_PORT = free_port()  # nothing listens there
    settings.EMAIL_TIMEOUT = 2
    client = signed_in(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("members"), {"email": "later@example.org", "role": "operator"}, follow=True
        )
    assert response.status_code == 200
    assert "n'a pas pu être envoyé" in " ".join(str(m) for m in response.context["messages"])
    invitation = Invitation.objects.get(email="later@example.org")
    assert invitation.sent_at is None
    assert "Courriel non envoyé" in response.content.decode().split('data-testid="invitations"')[1]
    # The server is back: sent again, received.
    settings.EMAIL_PORT = smtp.port
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("invitation-resend", args=[invitation.pk]))
    invitation.refresh_from_db()
    assert invitation.sent_at is not None
    assert LINK.search(smtp.to("later@example.org")[-1].get_content())


def test_another_companys_invitation_cannot_be_resent_or_cancelled(admin, other_company):
    stranger_admin = MembershipFactory(company=other_company, role="admin").user
    theirs = services.invitation_create(
        company=other_company, email="theirs@example.org", role="operator", by=stranger_admin
    )
    client = signed_in(admin)
    assert client.post(reverse("invitation-resend", args=[theirs.pk])).status_code == 404
    response = client.post(reverse("invitation-cancel", args=[theirs.pk]), {"confirmed": "yes"})
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "pending"


def test_operators_may_not_invite_resend_or_cancel(company, admin, operator):
    invitation = services.invitation_create(
        company=company, email="x@example.org", role="operator", by=admin
    )
    client = signed_in(operator)
    assert client.post(reverse("members"), {"email": "y@example.org"}).status_code == 403
    assert client.post(reverse("invitation-resend", args=[invitation.pk])).status_code == 403
    cancel = client.post(reverse("invitation-cancel", args=[invitation.pk]), {"confirmed": "yes"})
    assert cancel.status_code == 403
    assert Invitation.objects.filter(company=company).count() == 1


def test_invitation_rows_are_audited(admin, company, smtp, django_capture_on_commit_callbacks):
    person = UserFactory()
    path = invite(admin, person.email, smtp, django_capture_on_commit_callbacks)
    signed_in(person).post(path)
    invitation = Invitation.objects.get(email=person.email)
    events = list(invitation.events.order_by("pgh_id").values_list("pgh_label", "accepted_at"))
    assert [label for label, _ in events] == ["insert", "update", "update"]  # sent, accepted
    assert events[-1][1] is not None
    insert = invitation.events.order_by("pgh_id").first()
    assert insert.pgh_context.metadata["user"] == admin.pk


@pytest.mark.django_db(transaction=True)
def test_two_acceptances_at_once_make_one_membership():
    company = CompanyFactory()
    admin = MembershipFactory(company=company, role="admin").user
    person = UserFactory()
    token = "race-token-" + "x" * 30
    Invitation.objects.create(
        company=company,
        email=person.email,
        role="operator",
        token_hash=services.invitation_token_hash(token),
        invited_by=admin,
        expires_at=timezone.now() + timedelta(days=1),
    )
    results: list[str] = []
    barrier = threading.Barrier(2)

    def accept() -> None:
        barrier.wait()
        try:
            services.invitation_accept(token=token, user=person)
            results.append("joined")
        except services.InvitationRefused as refusal:
            results.append(refusal.code)
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=accept) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["accepted", "joined"]
    assert Membership.objects.filter(user=person, company=company).count() == 1


# --- the active company ------------------------------------------------------------------------


def test_a_member_of_several_companies_chooses_and_sees_the_active_one(company, other_company):
    person = MembershipFactory(company=company).user
    MembershipFactory(user=person, company=other_company)
    client = Client()
    client.post(reverse("account_login"), {"login": person.email, "password": PASSWORD})
    # No company is chosen for them: the pages send them to the chooser, and back.
    response = client.get(reverse("members"))
    assert response.status_code == 302
    assert response.url == f"{reverse('company-switch')}?next=%2Fcompany%2Fmembers%2F"
    assert client.get(reverse("dashboard")).url.startswith(reverse("company-switch"))
    chooser = client.get(response.url)
    assert chooser.status_code == 200
    assert company.name in chooser.content.decode()
    assert other_company.name in chooser.content.decode()
    response = client.post(
        reverse("company-switch"), {"company": other_company.pk, "next": "/company/members/"}
    )
    assert response.url == "/company/members/"
    for name in ("dashboard", "members", "tracking:list", "gun:declarations"):
        page = client.get(reverse(name))
        assert page.status_code == 200, name
        header = page.content.decode().split('data-testid="active-company"', 1)[1][:300]
        assert other_company.name in header, name
    assert client.get(reverse("dashboard")).context["membership"].company == other_company


def test_the_chooser_refuses_a_company_one_is_not_a_member_of(company, other_company):
    person = MembershipFactory(company=company).user
    MembershipFactory(user=person, company=other_company)
    stranger = CompanyFactory()
    client = signed_in(person)
    for value in (stranger.pk, "abc", "", "9" * 30):
        response = client.post(reverse("company-switch"), {"company": value})
        assert response.status_code == 400, value
        assert 'data-testid="error-company"' in response.content.decode()
    assert SESSION_COMPANY not in client.session
    response = client.post(
        reverse("company-switch"), {"company": company.pk, "next": "https://evil.example/"}
    )
    assert response.url == reverse("dashboard")


def test_a_single_company_member_sees_it_in_the_header_without_choosing(company, operator):
    page = signed_in(operator).get(reverse("dashboard"))
    assert page.status_code == 200
    assert company.name in page.content.decode().split('data-testid="active-company"', 1)[1][:300]


def test_an_agent_has_no_company_chooser_nor_active_company():
    agent = AgentFactory().user
    TOTP.activate(agent, SECRET)
    client = signed_in(agent)
    assert client.get(reverse("company-switch")).status_code == 403
    assert 'data-testid="active-company"' not in client.get(reverse("dashboard")).content.decode()
