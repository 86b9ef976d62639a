"""On PostgreSQL, serve address search (`address=`: a folded fragment anywhere in the address) by index.

`citizen_search` matches `address_key LIKE '%fragment%'` over current residences. No B-tree can serve a
match in the middle of a string, so nationwide this read every current residence (a sequential scan of
the table). A trigram GIN index (pg_trgm, a trusted extension that the database owner may create) finds
the rows holding the fragment's three-letter pieces; it is partial, like the search, to current
residences. SQLite has no such index and keeps scanning, which is fast enough in-process at demo scale.
"""

from django.db import migrations


def create_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS residence_address_trgm ON registry_residence "
        "USING gin (address_key gin_trgm_ops) WHERE ended_on IS NULL"
    )


def drop_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # The extension stays: other objects may use it, and it costs nothing unused.
    schema_editor.execute("DROP INDEX IF EXISTS residence_address_trgm")


class Migration(migrations.Migration):
    # Chained after the merge migration by the lead (0004 is being written in parallel).
    dependencies = [("registry", "0003_name_key_c_collation")]

    operations = [migrations.RunPython(create_trigram_index, drop_trigram_index)]
