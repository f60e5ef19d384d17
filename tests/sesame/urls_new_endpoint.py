"""The portal's URLs plus an endpoint that says nothing about scopes (tests/sesame/test_scopes)."""

from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from sesame.urls import urlpatterns as portal


class Widgets(APIView):
    def get(self, request):
        return Response({"widgets": []})

    def post(self, request):
        return Response({"created": True}, status=201)


class Search(APIView):
    scope_family = "declarations"
    scope_action = "read"

    def post(self, request):
        return Response({"results": []})


class Tight(APIView):
    throttle_scope = "tight"

    def get(self, request):
        return Response({"ok": True})


urlpatterns = [
    path("api/v1/widgets/", Widgets.as_view()),
    path("api/v1/declarations-search/", Search.as_view()),
    path("api/v1/tight/", Tight.as_view()),
    *portal,
]
