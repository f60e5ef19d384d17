"""Every page, walked in Chromium by each kind of person at desktop and phone widths (390 px;
at 390 px the pages of the person, not the routes they may only reach as error pages):
an operator, a company administrator, an agent of each border control post, and someone not
signed in. Each walk fails on a console error (CSP violations included), a 5xx, an axe-core
violation of impact serious or critical, a raw code or a colon without its space on a French
page, or content wider than a phone; then every object's page shown to one company (or post) is
re-opened as a member of another company (an agent of another post): it must be a 404.

The data is `make run`'s demo (two companies, one agent per post, consignments, declarations,
one of them in the agents' queue), so pages that apps add to the demo are walked too.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from scripts.axe_core import ensure as axe_core
from sesame.models import AgentProfile, BorderControlPost, Membership, User
from sesame.registry import AGENT, NAV_ITEMS, OPERATOR
from tests.pages.walk import Walker, parameterless_paths, route_of
from tests.tracking.conftest import session_cookie
from tracking.models import Consignment
from tracking.services import event_record

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WIDTHS = (1280, 390)


@dataclass(frozen=True)
class Person:
    user: User | None
    role: str  # OPERATOR, AGENT or "" (not signed in)
    group: str  # the company's EORI or the post's code: who else may see the same objects


def demo() -> dict[str, Person]:
    """`make run`'s demo data, plus a timeline with a result, and the people who walk."""
    call_command("demo_data", quiet=True)
    for consignment in Consignment.objects.order_by("pk")[:2]:
        event_record(
            consignment=consignment,
            kind="documentary_check",
            occurred_at=timezone.now(),
            source="SIVEP",
            source_event_id=f"walk-{consignment.pk}",
            payload={"result": "non_compliant", "note": "Certificat illisible"},
        )
    admin = Membership.objects.filter(role="admin").order_by("company__name").first()
    operator = (
        Membership.objects.filter(role="operator")
        .exclude(company=admin.company)
        .order_by("company__name")
        .first()
    )
    people = {
        "company-admin": Person(admin.user, OPERATOR, admin.company.eori),
        "operator": Person(operator.user, OPERATOR, operator.company.eori),
        "anonymous": Person(None, "", ""),
    }
    for post in BorderControlPost.objects.filter(agents__isnull=False).distinct():
        agent = AgentProfile.objects.filter(post=post).select_related("user").first()
        people[f"agent-{post.code}"] = Person(agent.user, AGENT, post.code)
    return people


def start_paths(person: Person) -> list[str]:
    """Where a walk starts: the home of the person and their menu (sesame.registry)."""
    if person.user is None:
        return ["/accounts/login/"]
    paths = ["/dashboard/"]
    for item in NAV_ITEMS:
        if person.role in item.roles:
            try:
                paths.append(reverse(item.url_name))
            except NoReverseMatch:
                continue
    return paths


def outsiders(people: dict[str, Person], person: Person) -> list[Person]:
    """People of the same kind in another company (or at another post)."""
    return [
        other
        for other in people.values()
        if other.user is not None and other.role == person.role and other.group != person.group
    ]


def dossier_paths_readable_by(eori: str) -> set[str]:
    """The dossier pages a company reads as of right: its own consignments' and those shared
    with it (the demo shares one dossier between its two companies, so a person walking a
    shared dossier finds pages its owner opens too). Not leaks; dossier isolation otherwise is
    tests/dossier/test_access.py."""
    from dossier.models import Document, Share

    readable = set(
        Share.objects.filter(company__eori=eori).values_list("consignment_id", flat=True)
    )
    readable |= set(Consignment.objects.filter(company__eori=eori).values_list("pk", flat=True))
    paths = {f"/dossier/consignments/{pk}/" for pk in readable}
    paths |= {f"/dossier/consignments/{pk}/dossier.zip" for pk in readable}
    for pk in Document.objects.filter(consignment_id__in=readable).values_list("pk", flat=True):
        paths |= {f"/dossier/documents/{pk}/download/", f"/dossier/documents/{pk}/preview/"}
    return paths


ROLES = ["operator", "company-admin", "agent-FRLEH4", "agent-FRDKK4", "agent-FRMRS4", "anonymous"]


@pytest.mark.parametrize("role", ROLES)
def test_every_page_walked_by_each_person(browser, live_server, role):
    people = demo()
    assert role in people, f"no {role} in the demo data"
    person = people[role]
    axe = axe_core()
    problems: list[str] = []
    found: set[str] = set()
    visited = 0
    own: list[str] = []
    for width in WIDTHS:
        context = browser.new_context(
            locale="fr-FR", viewport={"width": width, "height": 900}, base_url=live_server.url
        )
        try:
            if person.user is not None:
                context.add_cookies(
                    [
                        {
                            "name": "sessionid",
                            "value": session_cookie(person.user),
                            "url": live_server.url,
                        }
                    ]
                )
            walker = Walker(context, live_server.url, axe, french=True, width=width)
            if not own:  # desktop: discover everything; every route, error pages included
                walk = walker.walk(start_paths(person), parameterless_paths())
                own = walk.own
            else:  # phone: the person's own pages again (the error pages are one template)
                walk = walker.revisit(own)
            problems += walk.problems
            found |= walk.found
            visited += len(walk.visited)
            if width < 500 and person.user is not None:
                problems += walker.open_menu()
        finally:
            context.close()
    assert visited >= 10, f"only {visited} pages walked"
    assert problems == [], "\n".join(problems)

    # Every object shown to this person, re-opened by people of another company or post.
    objects = {path for path in found if (route := route_of(path.split("?")[0])) and route[1]}
    if person.user is not None and person.role == OPERATOR:
        assert objects, "the walk found no object's page: nothing to check across companies"
    leaks = []
    for other in outsiders(people, person):
        client = Client(HTTP_ACCEPT_LANGUAGE="fr")
        client.force_login(other.user)
        readable = dossier_paths_readable_by(other.group)
        for path in sorted(objects - readable):
            status = client.get(path).status_code
            if status != 404:
                leaks.append(f"{path} found by {role} answers {status} to {other.group}")
    assert leaks == [], "\n".join(leaks)
