"""SQL adapters: SQLAlchemy asyncio on Postgres (psycopg 3) or embedded SQLite (aiosqlite)."""
