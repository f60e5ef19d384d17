"""factory-boy factories for the shared models."""

import random

import factory
from stdnum import luhn

from sesame.models import AgentProfile, AgentService, BorderControlPost, Company, Membership, User


def random_siren() -> str:
    body = f"{random.randint(10_000_000, 99_999_999)}"
    return body + luhn.calc_check_digit(body)


def random_eori() -> str:
    return "FR" + random_siren()


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"Person {n}")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company

    eori = factory.LazyFunction(random_eori)
    name = factory.Sequence(lambda n: f"Company {n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    company = factory.SubFactory(CompanyFactory)
    role = "operator"


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgentProfile

    user = factory.SubFactory(UserFactory)
    service = AgentService.CUSTOMS
    post = factory.LazyFunction(
        lambda: BorderControlPost.objects.get_or_create(
            code="FRLEH4", defaults={"name": "Le Havre port", "port": "FRLEH"}
        )[0]
    )
