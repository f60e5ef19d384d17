"""API error messages come in one language per request, chosen by Accept-Language (French by
default); codes never change with the language."""

import pytest

pytestmark = pytest.mark.django_db

CONSIGNMENTS = "/api/v1/consignments/"


@pytest.mark.parametrize(
    ("accept", "language", "invalid", "required", "unknown_key"),
    [
        (
            None,
            "fr",
            "La requête comporte des champs invalides.",
            "Ce champ est obligatoire.",
            "Clé d’API inconnue.",
        ),
        (
            "fr-FR,fr;q=0.9",
            "fr",
            "La requête comporte des champs invalides.",
            "Ce champ est obligatoire.",
            "Clé d’API inconnue.",
        ),
        (
            "en-GB,en;q=0.8",
            "en",
            "The request has invalid fields.",
            "This field is required.",
            "Unknown API key.",
        ),
        (
            "de-DE",
            "fr",
            "La requête comporte des champs invalides.",
            "Ce champ est obligatoire.",
            "Clé d’API inconnue.",
        ),
    ],
)
def test_error_messages_follow_accept_language(
    api, company_key, accept, language, invalid, required, unknown_key
) -> None:
    headers = {"HTTP_ACCEPT_LANGUAGE": accept} if accept else {}
    response = api(company_key).post(CONSIGNMENTS, {"reference": "X"}, format="json", **headers)
    assert response.status_code == 400
    body = response.json()
    assert response["Content-Language"] == language
    assert body["code"] == "invalid"
    assert body["detail"] == invalid
    assert body["errors"]["port"] == [{"message": required, "code": "required"}]
    refused = api("nope.nope").get("/api/v1/me/", **headers)
    assert refused.json() == {"code": "api_key_unknown", "detail": unknown_key}


def test_layer_errors_are_translated_too(api, company_key) -> None:
    french = api(company_key).post(
        CONSIGNMENTS, {"reference": "X"}, format="json", HTTP_IDEMPOTENCY_KEY="é"
    )
    english = api(company_key).post(
        CONSIGNMENTS,
        {"reference": "X"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="é",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert french.json()["code"] == english.json()["code"] == "idempotency_key_invalid"
    assert french.json()["detail"].startswith("Idempotency-Key : donnez")
    assert english.json()["detail"].startswith("Idempotency-Key: give")
    deep = b"[" * 100 + b"]" * 100
    for accept, start in (("fr", "JSON mal formé"), ("en", "Malformed JSON")):
        response = api(company_key).generic(
            "POST",
            CONSIGNMENTS,
            deep,
            content_type="application/json",
            HTTP_ACCEPT_LANGUAGE=accept,
        )
        assert response.json()["detail"].startswith(start)
