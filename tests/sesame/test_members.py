"""Company administrators invite and remove members; operators may not; companies are apart."""

import pytest
from django.core import mail
from django.urls import reverse

from sesame.models import Membership, User
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def test_an_invitation_makes_nobody_a_member_until_accepted(
    client, company, company_admin, django_capture_on_commit_callbacks
):
    client.force_login(company_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("members"), {"email": "New.Person@Example.org", "role": "operator"}
        )
    assert response.status_code == 302
    assert not User.objects.filter(email="new.person@example.org").exists()
    assert Membership.objects.filter(company=company).count() == 1
    assert len(mail.outbox) == 1
    assert "/invitations/" in mail.outbox[0].body
    page = client.get(reverse("members")).content.decode()
    assert "new.person@example.org" in page.split('data-testid="invitations"', 1)[1]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"email": "not-an-email", "role": "operator"}, "email"),
        ({"email": "x@example.org", "role": "king"}, "role"),
        ({"email": ("a" * 250) + "@example.org", "role": "operator"}, "email"),
        ({}, "email"),
    ],
)
def test_bad_invitation_is_400_and_creates_nothing(client, company_admin, data, field):
    client.force_login(company_admin)
    before = (User.objects.count(), Membership.objects.count())
    response = client.post(reverse("members"), data)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert (User.objects.count(), Membership.objects.count()) == before
    assert not mail.outbox


def test_inviting_an_existing_member_again_is_refused(client, company, company_admin, operator):
    client.force_login(company_admin)
    response = client.post(reverse("members"), {"email": operator.email, "role": "admin"})
    assert response.status_code == 400
    assert Membership.objects.get(user=operator, company=company).role == "operator"


def test_operator_may_not_invite(client, operator):
    client.force_login(operator)
    response = client.post(reverse("members"), {"email": "x@example.org", "role": "admin"})
    assert response.status_code == 403
    assert not User.objects.filter(email="x@example.org").exists()


def test_admin_removes_a_member_after_confirming(client, company, company_admin, operator):
    client.force_login(company_admin)
    membership = Membership.objects.get(user=operator, company=company)
    url = reverse("member-remove", args=[membership.pk])
    question = client.post(url)
    assert question.status_code == 200
    body = question.content.decode()
    assert operator.email in body
    assert 'name="confirmed" value="yes"' in body
    assert Membership.objects.filter(pk=membership.pk).exists()
    # HTMX asks in place: the question only, no page around it.
    fragment = client.post(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'data-testid="confirm-question"' in fragment
    assert "<html" not in fragment
    assert Membership.objects.filter(pk=membership.pk).exists()
    assert client.post(url, {"confirmed": "yes"}).status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_last_admin_cannot_be_removed(client, company, company_admin):
    other_admin = MembershipFactory(company=company, role="admin")
    client.force_login(company_admin)
    client.post(reverse("member-remove", args=[other_admin.pk]), {"confirmed": "yes"})
    mine = Membership.objects.get(user=company_admin)
    from django.core.exceptions import ValidationError

    from sesame.services import membership_remove

    with pytest.raises(ValidationError):
        membership_remove(membership=mine, by=company_admin)
    assert Membership.objects.filter(pk=mine.pk).exists()


def test_admin_of_another_company_cannot_remove_our_members(
    client, company, other_company, operator
):
    outsider = MembershipFactory(company=other_company, role="admin").user
    membership = Membership.objects.get(user=operator, company=company)
    client.force_login(outsider)
    response = client.post(reverse("member-remove", args=[membership.pk]), {"confirmed": "yes"})
    assert response.status_code == 404
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_members_page_lists_only_our_company(client, company, other_company, company_admin):
    stranger = MembershipFactory(company=other_company).user
    client.force_login(company_admin)
    content = client.get(reverse("members")).content.decode()
    assert company_admin.email in content
    assert stranger.email not in content


def test_dashboard_of_a_member_of_two_companies_switches(client, company, other_company, operator):
    MembershipFactory(user=operator, company=other_company)
    client.force_login(operator)
    client.post(reverse("company-switch"), {"company": other_company.pk})
    assert other_company.name in client.get(reverse("dashboard")).content.decode()
    client.post(reverse("company-switch"), {"company": "999999"})
    assert other_company.name in client.get(reverse("dashboard")).content.decode()
