"""The throwaway PostgreSQL and Redis servers start, serve, stop and come back."""

from __future__ import annotations

import psycopg
import pytest
import redis

from tests.servers import PostgresServer, RedisServer


def _pg_select_one(server: PostgresServer) -> int:
    dsn = server.url.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(dsn, connect_timeout=5) as conn:
        row = conn.execute("SELECT 1").fetchone()
        database = conn.execute("SELECT current_database()").fetchone()
    assert database is not None
    assert database[0] == server.dbname
    assert row is not None
    value: int = row[0]
    return value


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _redis_client(server: RedisServer) -> redis.Redis:
    return redis.Redis.from_url(server.url, socket_connect_timeout=2, socket_timeout=2)


def test_postgres_start_stop_restart() -> None:
    server = PostgresServer()
    try:
        server.start()
        server.start()  # idempotent
        assert server.url.startswith("postgresql+psycopg://postgres@127.0.0.1:")
        assert _pg_select_one(server) == 1

        dsn = server.url.replace("postgresql+psycopg", "postgresql")
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE survivor (n int)")
            conn.execute("INSERT INTO survivor VALUES (42)")

        server.stop()
        assert not server.is_running()
        with pytest.raises(psycopg.OperationalError):
            _pg_select_one(server)

        server.start()
        assert server.is_running()
        assert _pg_select_one(server) == 1
        with psycopg.connect(dsn) as conn:
            row = conn.execute("SELECT n FROM survivor").fetchone()
        assert row == (42,)

        server.stop("immediate")
        with pytest.raises(psycopg.OperationalError):
            _pg_select_one(server)
        server.start()  # crash recovery after an immediate stop
        assert _pg_select_one(server) == 1
    finally:
        server.remove()
    assert not server.is_running()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(server.url.replace("postgresql+psycopg", "postgresql"), connect_timeout=2)


def test_redis_start_stop_kill_restart() -> None:
    server = RedisServer(config={"maxmemory-policy": "allkeys-lru"})
    try:
        server.start()
        server.start()  # idempotent
        assert server.url == f"redis://127.0.0.1:{server.port}/0"
        with _redis_client(server) as client:
            assert client.ping() is True
            client.set("k", "v")
            assert client.get("k") == b"v"
            policy = client.config_get("maxmemory-policy")
            assert {_text(k): _text(v) for k, v in policy.items()} == {
                "maxmemory-policy": "allkeys-lru",
            }

        server.stop()
        assert not server.is_running()
        with _redis_client(server) as client, pytest.raises(redis.ConnectionError):
            client.ping()

        server.start()
        with _redis_client(server) as client:
            assert client.ping() is True
            assert client.get("k") is None  # no persistence by default

        server.kill()
        assert not server.is_running()
        with _redis_client(server) as client, pytest.raises(redis.ConnectionError):
            client.ping()

        server.start()
        with _redis_client(server) as client:
            assert client.ping() is True
    finally:
        server.remove()
    assert not server.is_running()


def test_redis_appendonly_survives_kill() -> None:
    server = RedisServer(appendonly=True, config={"appendfsync": "always"})
    try:
        server.start()
        with _redis_client(server) as client:
            client.set("durable", "yes")
        server.kill()
        server.start()
        with _redis_client(server) as client:
            assert client.get("durable") == b"yes"
    finally:
        server.remove()
