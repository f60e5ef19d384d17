"""Trigram indexes behind the searches of the GUN pages (gun.queries): parts of a declaration's
MRN and client reference, of a partner document's code and reference, case-insensitive. The
indexed expressions are the ones gun.queries builds (DECLARATION_SEARCH_TEXT,
DOCUMENT_SEARCH_TEXT); tests/pages/test_search.py checks with EXPLAIN that they are used."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("gun", "0006_mandate")]

    operations = [
        # Shared with the other apps' trigram indexes: never dropped on the way back.
        migrations.RunSQL("CREATE EXTENSION IF NOT EXISTS pg_trgm", migrations.RunSQL.noop),
        migrations.RunSQL(
            "CREATE INDEX gun_declaration_search_trgm ON gun_declaration USING gin "
            "(UPPER(COALESCE(mrn, '') || ' ' || client_reference) gin_trgm_ops)",
            "DROP INDEX IF EXISTS gun_declaration_search_trgm",
        ),
        migrations.RunSQL(
            "CREATE INDEX gun_partnerdocument_search_trgm ON gun_partnerdocument USING gin "
            "(UPPER(code || ' ' || reference) gin_trgm_ops)",
            "DROP INDEX IF EXISTS gun_partnerdocument_search_trgm",
        ),
    ]
