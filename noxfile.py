"""Developer and CI tasks; `nox` with no arguments runs lint, typecheck and the whole test suite."""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = True

DEV = ["-e", ".[dev]"]


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff lint and format check."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", "src", "tests", "bench", "noxfile.py")
    session.run("ruff", "format", "--check", "src", "tests", "bench", "noxfile.py")


@nox.session
def typecheck(session: nox.Session) -> None:
    """Mypy --strict over the package, the tests (fakes must satisfy the ports) and this file."""
    session.install(*DEV)
    session.run("mypy", "src", "tests", "bench", "noxfile.py")


@nox.session
def tests(session: nox.Session) -> None:
    """The whole suite: unit, contract (memory, SQLite, Postgres), integration and e2e.

    Postgres and Redis are started by the run itself unless TEST_DATABASE_URL /
    TEST_REDIS_URL point at servers (Debian packages postgresql and redis-server).
    """
    session.install(*DEV)
    session.run("pytest", *session.posargs)


@nox.session
def unit(session: nox.Session) -> None:
    """The fast part: no servers, no processes."""
    session.install(*DEV)
    session.run(
        "pytest", "-m", "not integration and not e2e", "-k", "not postgres", *session.posargs
    )


@nox.session
def integration(session: nox.Session) -> None:
    """Tests against real Postgres and Redis servers."""
    session.install(*DEV)
    session.run("pytest", "-m", "integration", *session.posargs)


@nox.session
def e2e(session: nox.Session) -> None:
    """Tests that start real market-ai processes."""
    session.install(*DEV)
    session.run("pytest", "-m", "e2e", *session.posargs)


@nox.session
def serve(session: nox.Session) -> None:
    """Run the service on its embedded defaults (SQLite in ./.market-ai)."""
    session.install("-e", ".")
    session.run("market-ai", "serve", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Print HTTP and job throughput figures (README: Performance)."""
    session.install("-e", ".[dev,bench]")
    session.run("python", "bench/run.py", *session.posargs)
