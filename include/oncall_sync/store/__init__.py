"""The on-call store: schema, migrations, reading and writing."""
