"""Throwaway PostgreSQL and Redis servers on free loopback ports for the test run."""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Self

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from types import TracebackType

LOOPBACK = "127.0.0.1"
PG_SUPERUSER = "postgres"
PG_SYSTEM_USER = "postgres"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0
LOG_TAIL_LINES = 40


def free_port() -> int:
    """Return a TCP port on the loopback interface that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def terminate(process: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM the process and wait for it; SIGKILL it if it lingers past `timeout`."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def find_pg_bindir() -> Path:
    """Return the directory holding the PostgreSQL server binaries (initdb, pg_ctl, ...)."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        result = subprocess.run(
            [pg_config, "--bindir"],
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        if result.returncode == 0 and result.stdout.strip():
            candidates.append(Path(result.stdout.strip()))
    candidates.extend(
        sorted(
            Path("/usr/lib/postgresql").glob("*/bin"),
            key=lambda path: _version_key(path.parent.name),
            reverse=True,
        ),
    )
    initdb = shutil.which("initdb")
    if initdb is not None:
        candidates.append(Path(initdb).resolve().parent)
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    msg = (
        "PostgreSQL server binaries (initdb, pg_ctl) not found: neither `pg_config --bindir` "
        "nor /usr/lib/postgresql/*/bin has them. Install the Debian package `postgresql` "
        "(apt-get install postgresql) or put initdb on PATH."
    )
    raise RuntimeError(msg)


def find_redis_server() -> str:
    """Return the path of the redis-server binary."""
    path = shutil.which("redis-server")
    if path is None:
        msg = (
            "redis-server not found on PATH. Install the Debian package `redis-server` "
            "(apt-get install redis-server)."
        )
        raise RuntimeError(msg)
    return path


def _version_key(name: str) -> tuple[int, ...]:
    parts = [int(part) for part in name.split(".") if part.isdigit()]
    return tuple(parts) if parts else (-1,)


def _log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"(no log at {path}: {exc})"
    tail = text.splitlines()[-lines:]
    return "\n".join(tail) if tail else f"(log {path} is empty)"


def _clean_env() -> dict[str, str]:
    """Return the environment without libpq variables that could redirect the tools."""
    return {key: value for key, value in os.environ.items() if not key.startswith("PG")}


class PostgresServer:
    """A throwaway PostgreSQL cluster (initdb + pg_ctl) on a free loopback port."""

    def __init__(self, port: int | None = None, dbname: str = "market_ai_test") -> None:
        """Prepare (but do not start) a cluster; the port defaults to a free one."""
        self.port: int = free_port() if port is None else port
        self.dbname: str = dbname
        self._bindir: Path | None = None
        self._as_postgres_user = os.geteuid() == 0
        self._base: Path | None = None
        self._initialised = False
        self._database_created = False
        self._atexit_registered = False

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the test database (psycopg 3 driver)."""
        return f"postgresql+psycopg://{PG_SUPERUSER}@{LOOPBACK}:{self.port}/{self.dbname}"

    @property
    def base_dir(self) -> Path:
        """Temporary directory holding the data dir, the socket dir and the log."""
        if self._base is None:
            self._base = self._make_base_dir()
        return self._base

    @property
    def data_dir(self) -> Path:
        """The cluster's data directory."""
        return self.base_dir / "data"

    @property
    def socket_dir(self) -> Path:
        """Directory of the server's Unix-domain socket."""
        return self.base_dir / "sock"

    @property
    def log_path(self) -> Path:
        """File receiving the server log."""
        return self.base_dir / "postgres.log"

    def is_running(self) -> bool:
        """Whether pg_ctl reports the server as running."""
        if not self._initialised:
            return False
        result = self._run(["pg_ctl", "status", "-D", str(self.data_dir)], check=False)
        return result.returncode == 0

    def start(self) -> None:
        """Start the server (initialising the cluster and database on first start)."""
        self._register_atexit()
        if not self._initialised:
            self._initdb()
        elif self.is_running():
            return
        options = " ".join(
            [
                f"-p {self.port}",
                f"-k {shlex.quote(str(self.socket_dir))}",
                f"-c listen_addresses={LOOPBACK}",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=200",
            ],
        )
        result = self._run(
            [
                "pg_ctl",
                "start",
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_path),
                "-o",
                options,
                "-w",
                "-t",
                str(int(START_TIMEOUT)),
            ],
            check=False,
        )
        if result.returncode != 0:
            self._fail("pg_ctl start", result)
        if not self._database_created:
            created = self._run(
                [
                    "createdb",
                    "-h",
                    LOOPBACK,
                    "-p",
                    str(self.port),
                    "-U",
                    PG_SUPERUSER,
                    self.dbname,
                ],
                check=False,
            )
            if created.returncode != 0:
                self._fail(f"createdb {self.dbname}", created)
            self._database_created = True

    def stop(self, mode: str = "fast") -> None:
        """Stop the server; mode is a pg_ctl shutdown mode ("smart", "fast" or "immediate")."""
        if mode not in {"smart", "fast", "immediate"}:
            msg = f"unknown pg_ctl stop mode {mode!r}"
            raise ValueError(msg)
        if not self.is_running():
            return
        result = self._run(
            ["pg_ctl", "stop", "-D", str(self.data_dir), "-m", mode, "-w", "-t", "30"],
            check=False,
        )
        if result.returncode != 0 and self.is_running():
            self._fail(f"pg_ctl stop -m {mode}", result)

    def remove(self) -> None:
        """Stop the server and delete its files; the object may be started afresh afterwards."""
        try:
            if self._initialised:
                try:
                    self.stop("fast")
                except RuntimeError:
                    self.stop("immediate")
        finally:
            self._kill_leftover_postmaster()
            if self._base is not None:
                shutil.rmtree(self._base, ignore_errors=True)
            self._base = None
            self._initialised = False
            self._database_created = False
            if self._atexit_registered:
                atexit.unregister(self._atexit_stop)
                self._atexit_registered = False

    def __enter__(self) -> Self:
        """Start the server."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server and delete its files."""
        self.remove()

    def __repr__(self) -> str:
        """Identify the server by its port."""
        return f"PostgresServer(port={self.port}, dbname={self.dbname!r})"

    # internals

    def _make_base_dir(self) -> Path:
        base = Path(tempfile.mkdtemp(prefix="market-ai-pg-"))
        (base / "sock").mkdir()
        if self._as_postgres_user:
            try:
                entry = pwd.getpwnam(PG_SYSTEM_USER)
            except KeyError:
                shutil.rmtree(base, ignore_errors=True)
                msg = (
                    "PostgreSQL refuses to run as root and there is no "
                    f"`{PG_SYSTEM_USER}` system user to run it as. Install the Debian "
                    "package `postgresql` (it creates the user) or run the tests as a "
                    "regular user."
                )
                raise RuntimeError(msg) from None
            for path in (base, base / "sock"):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        return base

    def _initdb(self) -> None:
        result = self._run(
            [
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                PG_SUPERUSER,
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--no-locale",
            ],
            check=False,
        )
        if result.returncode != 0:
            self._fail("initdb", result, log=False)
        self._initialised = True

    def _run(
        self,
        argv: Sequence[str],
        *,
        check: bool,
    ) -> subprocess.CompletedProcess[str]:
        if self._bindir is None:
            self._bindir = find_pg_bindir()
        command = [str(self._bindir / argv[0]), *argv[1:]]
        if self._as_postgres_user:
            command = ["runuser", "-u", PG_SYSTEM_USER, "--", *command]
        return subprocess.run(
            command,
            capture_output=True,
            text=True,
            check=check,
            stdin=subprocess.DEVNULL,
            cwd=self.base_dir,
            env=_clean_env(),
            timeout=START_TIMEOUT * 2,
        )

    def _fail(
        self,
        what: str,
        result: subprocess.CompletedProcess[str],
        *,
        log: bool = True,
    ) -> None:
        output = (result.stdout + result.stderr).strip()
        message = f"{what} failed (exit {result.returncode}) for {self!r}"
        if output:
            message += f"\n--- output ---\n{output}"
        if log:
            message += f"\n--- tail of {self.log_path} ---\n{_log_tail(self.log_path)}"
        raise RuntimeError(message)

    def _postmaster_pid(self) -> int | None:
        if self._base is None:
            return None
        try:
            first_line = (self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0]
        except OSError:
            return None
        return int(first_line) if first_line.strip().isdigit() else None

    def _postmaster_alive(self, pid: int) -> bool:
        """Whether pid is a live postmaster of this cluster (guards against reused pids)."""
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False
        return os.fsencode(self.data_dir) in cmdline

    def _kill_leftover_postmaster(self) -> None:
        """Last resort after a failed stop: SIGQUIT (immediate shutdown), then SIGKILL."""
        pid = self._postmaster_pid()
        if pid is None or not self._postmaster_alive(pid):
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGQUIT)
            deadline = time.monotonic() + STOP_TIMEOUT
            while self._postmaster_alive(pid):
                if time.monotonic() > deadline:
                    os.kill(pid, signal.SIGKILL)
                    break
                time.sleep(0.05)

    def _register_atexit(self) -> None:
        if not self._atexit_registered:
            atexit.register(self._atexit_stop)
            self._atexit_registered = True

    def _atexit_stop(self) -> None:
        with contextlib.suppress(Exception):
            self.stop("immediate")
        self._kill_leftover_postmaster()
        if self._base is not None:
            shutil.rmtree(self._base, ignore_errors=True)


class RedisServer:
    """A throwaway redis-server child process on a free loopback port, without persistence."""

    def __init__(
        self,
        port: int | None = None,
        *,
        config: Mapping[str, str] | None = None,
        appendonly: bool = False,
    ) -> None:
        """Prepare (but do not start) a server; config adds `--key value` flags."""
        self.port: int = free_port() if port is None else port
        self.config: dict[str, str] = dict(config or {})
        self.appendonly = appendonly
        self._process: subprocess.Popen[bytes] | None = None
        self._base: Path | None = None
        self._atexit_registered = False

    @property
    def url(self) -> str:
        """redis-py URL of database 0."""
        return f"redis://{LOOPBACK}:{self.port}/0"

    @property
    def base_dir(self) -> Path:
        """Temporary working directory (append-only file, log)."""
        if self._base is None:
            self._base = Path(tempfile.mkdtemp(prefix="market-ai-redis-"))
        return self._base

    @property
    def log_path(self) -> Path:
        """File receiving the server's output."""
        return self.base_dir / "redis.log"

    def is_running(self) -> bool:
        """Whether the child process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Start the server and wait until it answers PING."""
        if self.is_running():
            return
        self._reap()
        argv = [
            find_redis_server(),
            "--port",
            str(self.port),
            "--bind",
            LOOPBACK,
            "--save",
            "",
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--daemonize",
            "no",
            "--dir",
            str(self.base_dir),
            "--logfile",
            "",
        ]
        for key, value in self.config.items():
            argv.extend([f"--{key}", value])
        self._register_atexit()
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.base_dir,
            )
        self._wait_until_ready(timeout)

    def stop(self) -> None:
        """Terminate the server (SIGTERM, then SIGKILL after five seconds)."""
        process = self._process
        if process is None:
            return
        terminate(process)
        self._process = None

    def kill(self) -> None:
        """Kill the server abruptly (SIGKILL), as a crash would."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        process.wait()
        self._process = None

    def remove(self) -> None:
        """Stop the server and delete its files; the object may be started afresh afterwards."""
        try:
            self.stop()
        finally:
            if self._base is not None:
                shutil.rmtree(self._base, ignore_errors=True)
            self._base = None
            if self._atexit_registered:
                atexit.unregister(self._atexit_stop)
                self._atexit_registered = False

    def __enter__(self) -> Self:
        """Start the server."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server and delete its files."""
        self.remove()

    def __repr__(self) -> str:
        """Identify the server by its port."""
        return f"RedisServer(port={self.port})"

    # internals

    def _wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last_error = "no answer yet"
        while time.monotonic() < deadline:
            process = self._process
            if process is None or process.poll() is not None:
                code = None if process is None else process.returncode
                self._reap()
                msg = (
                    f"redis-server exited during startup (exit {code}) for {self!r}\n"
                    f"--- tail of {self.log_path} ---\n{_log_tail(self.log_path)}"
                )
                raise RuntimeError(msg)
            try:
                reply = self._ping()
            except OSError as exc:
                last_error = str(exc)
            else:
                # NOAUTH means it is up but configured with a password.
                if reply.startswith(b"-NOAUTH") or (
                    reply.startswith(b"+PONG") and self._answering_pid() == process.pid
                ):
                    return
                last_error = reply.decode(errors="replace").strip() or "empty reply"
            time.sleep(0.02)
        self.kill()
        msg = (
            f"redis-server did not answer PING within {timeout:.0f}s for {self!r} "
            f"(last: {last_error})\n"
            f"--- tail of {self.log_path} ---\n{_log_tail(self.log_path)}"
        )
        raise RuntimeError(msg)

    def _ping(self) -> bytes:
        with socket.create_connection((LOOPBACK, self.port), timeout=1.0) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64)

    def _answering_pid(self) -> int | None:
        """Pid of the server answering on our port, so a stranger on the port is not mistaken."""
        marker = b"\r\nprocess_id:"
        reply = b""
        with socket.create_connection((LOOPBACK, self.port), timeout=1.0) as sock:
            sock.sendall(b"INFO server\r\n")
            while True:
                start = reply.find(marker)
                end = reply.find(b"\r\n", start + len(marker)) if start >= 0 else -1
                if end >= 0:
                    value = reply[start + len(marker) : end]
                    return int(value) if value.isdigit() else None
                chunk = sock.recv(4096)
                if not chunk:
                    return None
                reply += chunk

    def _reap(self) -> None:
        if self._process is not None:
            self._process.poll()
            if self._process.returncode is not None:
                self._process = None

    def _register_atexit(self) -> None:
        if not self._atexit_registered:
            atexit.register(self._atexit_stop)
            self._atexit_registered = True

    def _atexit_stop(self) -> None:
        with contextlib.suppress(Exception):
            self.kill()
        if self._base is not None:
            shutil.rmtree(self._base, ignore_errors=True)
