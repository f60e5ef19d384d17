"""Trigram indexes behind the consignment search (tracking.selectors.consignments_search): parts
of references, transport documents (BL), containers, CHEDs, and of the linked declarations' MRNs
and client references, case-insensitive. The indexed expressions are the ones the selector
builds (CONSIGNMENT_SEARCH_TEXT, LINK_SEARCH_TEXT); tests/pages/test_search.py checks with
EXPLAIN that the planner uses them."""

from django.db import migrations

# array_to_string() is only STABLE (it could call any element type's output function); for
# text arrays it is immutable, which an index expression requires.
ARRAY_TEXT = """
CREATE OR REPLACE FUNCTION sesame_array_text(text[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT array_to_string($1, ' ') $$
"""


class Migration(migrations.Migration):
    dependencies = [("tracking", "0002_consignment_reference_conflict_code")]

    operations = [
        # Shared with the other apps' trigram indexes: never dropped on the way back.
        migrations.RunSQL("CREATE EXTENSION IF NOT EXISTS pg_trgm", migrations.RunSQL.noop),
        migrations.RunSQL(ARRAY_TEXT, "DROP FUNCTION IF EXISTS sesame_array_text(text[])"),
        migrations.RunSQL(
            "CREATE INDEX tracking_consignment_search_trgm ON tracking_consignment USING gin "
            "(UPPER(reference || ' ' || transport_document_number || ' ' || "
            "sesame_array_text(container_numbers) || ' ' || sesame_array_text(ched_references)) "
            "gin_trgm_ops)",
            "DROP INDEX IF EXISTS tracking_consignment_search_trgm",
        ),
        migrations.RunSQL(
            "CREATE INDEX tracking_declarationlink_search_trgm ON tracking_declarationlink "
            "USING gin (UPPER(mrn || ' ' || client_reference) gin_trgm_ops)",
            "DROP INDEX IF EXISTS tracking_declarationlink_search_trgm",
        ),
    ]
