"""The OpenAPI document tells the truth: schemathesis, every check, against a live gunicorn.

A company key for the company endpoints, partner keys where partners call (SEMAE publishes
documents, PORT posts events, DELTA releases), and the stateful phase following the document's
links: create -> read -> validate -> release. Generated identifiers carry valid check digits
(tests/sesame/schemathesis_hooks.py). The totals are printed (``pytest -s`` shows them).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from appointments.services.calendars import calendars_seed
from tests.conftest import ROOT
from tests.gun.factories import publish_di
from tests.tracking.conftest import Server, free_port

pytestmark = pytest.mark.django_db(transaction=True)

# Bodies whose rules the document states in words but a JSON schema cannot check, so a
# schema-valid body may still be 400 (each rule in its view): rules spanning several fields (a
# border control post at the consignment's port; unique item numbers and line numbers; a
# partner event's payload per kind and its time at most a day ahead; a mandate ending after it
# starts) and rules about the world (the EORI of a company on the portal; a webhook URL that
# resolves to a public address).
RULES_BEYOND_THE_SCHEMA = (
    "consignments_create",
    "consignments_partial_update",
    "consignments_shares_create",
    "declarations_create",
    "declarations_update",
    "declarations_rectify_create",
    "mandates_create",
    "partner_documents_create",
    "tracking_events_create",
    "webhooks_create",
    "webhooks_partial_update",
)
# Files whose content is decided from their bytes (DOSSIER.md §1): a schema-valid upload of
# other bytes is 415, an empty one 400.
CONTENT_RULES = ("consignments_documents_create", "dossier_partner_files_create")
ACCEPTED = ["200", "201", "401", "403", "404", "409", "412", "422"]
REFUSED = ["400", "401", "403", "404", "405", "406", "409", "412", "413", "415", "422", "429"]
MAX_EXAMPLES = 10


def config(base: str, keys: dict[str, str]) -> str:
    def operation(operation_id: str, key: str) -> str:
        statuses = ACCEPTED + (["400"] if operation_id in RULES_BEYOND_THE_SCHEMA else [])
        statuses += ["400", "415"] if operation_id in CONTENT_RULES else []
        return (
            f'[[operations]]\ninclude-operation-id = "{operation_id}"\n'
            f'headers = {{ Authorization = "Api-Key {key}" }}\n'
            f"checks.positive_data_acceptance.expected-statuses = {statuses}\n"
        )

    partner_operations = {
        "partner_documents_create": keys["SEMAE"],
        # The publisher reads what it published (a company key reads only its own documents).
        "partner_documents_retrieve": keys["SEMAE"],
        "tracking_events_create": keys["PORT"],
        "declarations_release_create": keys["DELTA"],
        "dossier_partner_files_create": keys["TRACES"],
    }
    company_operations = [
        op for op in (*RULES_BEYOND_THE_SCHEMA, *CONTENT_RULES) if op not in partner_operations
    ]
    return "\n".join(
        [
            f'base-url = "{base}"',
            f'headers = {{ Authorization = "Api-Key {keys["company"]}" }}',
            "seed = 7",
            # A generated body may match only a rare pattern (a reference per document code).
            'suppress-health-check = ["filter_too_much"]',
            "[generation]",
            f"max-examples = {MAX_EXAMPLES}",
            "[checks.positive_data_acceptance]",
            f"expected-statuses = {ACCEPTED}",
            # A precondition (If-Match) or the size is judged before the body is read.
            "[checks.negative_data_rejection]",
            f"expected-statuses = {REFUSED}",
            # Revoking the company's key would leave every later call 401 (its own tests:
            # tests/sesame/test_keys_api.py).
            '[[operations]]\ninclude-operation-id = "keys_revoke_create"\nenabled = false\n',
            *(operation(op, key) for op, key in partner_operations.items()),
            *(operation(op, keys["company"]) for op in company_operations),
        ]
    )


def test_schemathesis_finds_no_failure(tmp_path: Path, company, company_key, partner_key) -> None:
    publish_di(holder=company.eori)
    calendars_seed()  # the calendars the migrations seed, gone after a transactional test
    keys = {
        "company": company_key,
        **{partner: partner_key(partner) for partner in ("SEMAE", "PORT", "DELTA", "TRACES")},
    }
    port = free_port()
    web = Server(
        [sys.executable, "-m", "gunicorn", "sesame.wsgi", "-c", "sesame/gunicorn_conf.py"],
        port,
        "gunicorn",
        WEB_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="2",
        # The contract, not the GUN's quota per key (tests/sesame/test_rate_limits.py).
        GUN_ANTICIPATION_RATE="none",
        GUN_VALIDATION_RATE="none",
    )
    settings_file = tmp_path / "schemathesis.toml"
    settings_file.write_text(config(web.url, keys))
    try:
        result = subprocess.run(
            [
                str(Path(sys.executable).parent / "schemathesis"),
                "--config-file",
                str(settings_file),
                "run",
                f"{web.url}/api/schema/",
                "--checks",
                "all",
                "--phases",
                "examples,coverage,fuzzing,stateful",
                "--workers",
                "1",
            ],
            cwd=tmp_path,
            env={
                **os.environ,
                "PYTHONPATH": str(ROOT),
                "SCHEMATHESIS_HOOKS": "tests.sesame.schemathesis_hooks",
                "NO_COLOR": "1",
            },
            capture_output=True,
            text=True,
            timeout=900,
        )
    finally:
        web.stop()
    output = result.stdout + result.stderr
    summary = output[output.rfind("SUMMARY") :]
    print(output)  # pytest -s shows every failure with its curl command
    assert result.returncode == 0, output[-6000:]
    assert "Stateful" in summary and "⏭  Stateful" not in summary
    totals = re.search(r"(\d+) generated", summary)
    assert totals is not None and int(totals.group(1)) > 300
    assert " 0 failures" in summary or "failure" not in summary.split("Test cases:")[-1]
