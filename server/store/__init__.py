"""The store: every line of SQL, the schema and its migrations, and the database's errors.

``db`` opens the database and hands out its ``Connection`` (one transaction; SQLite or, by URL,
PostgreSQL); ``errors`` is the store's error tree (driver errors are converted here, at the
edge); ``schema`` and ``schema_gates`` describe the tables; one module per subject holds its
queries. Only this package imports SQLAlchemy, aiosqlite or sqlite3 (ruff) and it imports
nothing of the services or the edges (import-linter).
"""
