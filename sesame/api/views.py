from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from sesame.api.permissions import request_key
from sesame.models import Company


@extend_schema(
    summary="Who this API key belongs to",
    responses=inline_serializer(
        "Me",
        {
            "kind": serializers.ChoiceField(choices=["company", "partner"]),
            "company": inline_serializer(
                "MeCompany",
                {"eori": serializers.CharField(), "name": serializers.CharField()},
                allow_null=True,
            ),
            "partner": serializers.CharField(allow_null=True),
            "key": inline_serializer(
                "MeKey",
                {
                    "prefix": serializers.CharField(),
                    "name": serializers.CharField(),
                    "created": serializers.DateTimeField(),
                },
            ),
        },
    ),
)
@api_view(["GET"])
def me(request: Request) -> Response:
    key = request_key(request)
    assert key is not None  # HasApiKey
    # The company as it is now (one indexed read): the key, with the copy of its company it
    # was loaded with, may come from the process's key cache (sesame/api/authentication.py).
    company = (
        Company.objects.filter(pk=key.company_id).values("eori", "name").first()
        if key.company_id
        else None
    )
    return Response(
        {
            "kind": "company" if key.company_id else "partner",
            "company": company,
            "partner": key.partner or None,
            "key": {"prefix": key.prefix, "name": key.name, "created": key.created},
        }
    )
