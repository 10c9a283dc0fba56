"""Storage: the only package that knows tables. SQLite (embedded default) and PostgreSQL alike."""
