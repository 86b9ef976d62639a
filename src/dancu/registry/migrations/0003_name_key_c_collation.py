"""On PostgreSQL, compare and sort folded names byte by byte (collation "C").

`name_key` holds folded names: lower-case ASCII letters and spaces. Under the database's own collation
(often a linguistic one such as en_US, which ignores spaces when sorting) PostgreSQL can serve
`LIKE 'nguyen van%'` only through a pattern-operator index, and that index cannot return rows in
`ORDER BY name_key` order, so a broad prefix such as "nguyen van" sorted every match (tens of thousands)
to show the first page. With the column in collation "C" one plain B-tree index serves the prefix,
the order and the limit. SQLite already compares text byte by byte, so nothing changes there.
"""

from django.db import migrations


def to_c_collation(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute('ALTER TABLE registry_citizen ALTER COLUMN name_key TYPE varchar(100) COLLATE "C"')
    schema_editor.execute("DROP INDEX IF EXISTS citizen_name_prefix")
    schema_editor.execute("CREATE INDEX citizen_name_prefix ON registry_citizen (name_key)")


def to_default_collation(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        'ALTER TABLE registry_citizen ALTER COLUMN name_key TYPE varchar(100) COLLATE "default"'
    )
    schema_editor.execute("DROP INDEX IF EXISTS citizen_name_prefix")
    schema_editor.execute(
        "CREATE INDEX citizen_name_prefix ON registry_citizen (name_key varchar_pattern_ops)"
    )


class Migration(migrations.Migration):
    dependencies = [("registry", "0002_leaner_indexes")]

    operations = [migrations.RunPython(to_c_collation, to_default_collation)]
