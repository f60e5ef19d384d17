"""create_company, create_api_key and demo_data, exactly as API.md says, and idempotent."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from sesame.models import AgentProfile, APIKey, Company, Membership, User

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_create_company_is_idempotent() -> None:
    run("create_company", "--eori", "FR73282932000074", "--name", "ACME Transit")
    run("create_company", "--eori", "FR73282932000074", "--name", "ACME Transit")
    assert Company.objects.filter(eori="FR73282932000074").count() == 1


def test_create_company_refuses_a_bad_eori_and_creates_nothing() -> None:
    # The portal speaks French by default, commands included.
    with pytest.raises(CommandError, match="clé de contrôle"):
        run("create_company", "--eori", "FR73282932000075", "--name", "Bad")
    assert not Company.objects.exists()


def test_create_api_key_prints_a_working_company_key_on_the_last_line(api) -> None:
    run("create_company", "--eori", "FR73282932000074", "--name", "ACME Transit")
    key = run("create_api_key", "--company", "FR73282932000074").strip().splitlines()[-1]
    body = api(key).get("/api/v1/me/").json()
    assert body["company"]["eori"] == "FR73282932000074"


def test_create_api_key_for_a_partner(api) -> None:
    key = run("create_api_key", "--partner", "SEMAE").strip().splitlines()[-1]
    assert api(key).get("/api/v1/me/").json()["partner"] == "SEMAE"


def test_each_call_creates_a_new_key() -> None:
    run("create_api_key", "--partner", "TRACES")
    run("create_api_key", "--partner", "TRACES")
    assert APIKey.objects.filter(partner="TRACES").count() == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--company", "FR552100554"), "No company"),
        (("--partner", "NASA"), "Partenaire NASA inconnu"),
    ],
)
def test_create_api_key_refuses_unknown_owners(args: tuple[str, str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        run("create_api_key", *args)
    assert not APIKey.objects.exists()


def test_demo_data_is_idempotent_and_revokes_old_demo_keys() -> None:
    run("demo_data", "--quiet")
    counts = (
        User.objects.count(),
        Company.objects.count(),
        Membership.objects.count(),
        AgentProfile.objects.count(),
    )
    run("demo_data", "--quiet")
    assert counts == (
        User.objects.count(),
        Company.objects.count(),
        Membership.objects.count(),
        AgentProfile.objects.count(),
    )
    assert counts == (7, 2, 4, 3)
    live = APIKey.objects.filter(revoked=False, name__startswith="demo")
    assert live.count() == 8  # 2 companies + 6 partners, from the last run only
