"""Alembic migrations, shipped inside the package so `market-ai migrate` needs no checkout."""
