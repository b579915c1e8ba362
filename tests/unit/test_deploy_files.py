"""Deployment files stay consistent with the settings and routes the app really has.

A typo in an environment variable name in compose.yaml or deploy/render.yaml is silently
ignored by the app (unknown variables are allowed), so these tests pin every name the
deployment files set to the list of settings the app reads.
"""

from __future__ import annotations

import re
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from hypercorn.config import Config

REPO_ROOT = Path(__file__).resolve().parents[2]

# Every environment variable the market-ai processes read.
KNOWN_SETTINGS = frozenset(
    {
        "APP_ENV",
        "NODE_ENV",  # alias of APP_ENV, kept for operators of the origin deployment
        "APP_VERSION",
        "LOG_LEVEL",
        "LOG_FORMAT",
        "HOST",
        "PORT",
        "MARKET_AI_DATA_DIR",
        "DATABASE_URL",
        "DB_POOL_MIN_SIZE",
        "DB_POOL_MAX_SIZE",
        "DB_POOL_IDLE_LIFETIME",
        "DB_POOL_TIMEOUT",
        "DB_STATEMENT_TIMEOUT",
        "REDIS_URL",
        "OPENAI_API_KEY",
        "OPENAI_VECTOR_STORE_ID",
        "OPENAI_BASE_URL",
        "DEFAULT_MODEL",
        "MAX_BUDGET_PER_REQUEST",
        "USER_BUDGET_USD",
        "USER_BUDGET_PERIOD",
        "CLERK_SECRET_KEY",
        "CLERK_DOMAIN",
        "CLERK_JWT_KEY",
        "CLERK_JWKS_URL",
        "CLERK_ISSUER",
        "AUTH_LEEWAY_SECONDS",
        "ALLOWED_ORIGINS",
        "MAX_BODY_BYTES",
        "SENTRY_DSN",
        "SMTP_URL",
        "MAIL_FROM",
        "EMAIL_RECIPIENTS_PER_DAY",
        "PUBLIC_BASE_URL",
        "UNSUBSCRIBE_SECRET",
        "WORKER_CONCURRENCY",
        "WORKER_GRACE_SECONDS",
        "RATE_LIMIT_ENABLED",
        "RATE_LIMIT_DEFAULT",
        "RATE_LIMIT_CAMPAIGN_CREATE",
        "RATE_LIMIT_FAIL_OPEN",
        "TRUSTED_PROXY_HOPS",
        "METRICS_ENABLED",
        "METRICS_TOKEN",
        "ACCESS_LOG_HEALTH",
        "SLOW_REQUEST_SECONDS",
        "MONITOR_WEBHOOK_URL",
    },
)
# Read by Render's Python build, not by the app.
RENDER_PLATFORM_VARS = frozenset({"PYTHON_VERSION"})
# Read by the postgres image.
POSTGRES_IMAGE_VARS = frozenset({"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"})
# Values that must come from the platform or the Dashboard, never from the repository.
SECRETS = frozenset(
    {
        "DATABASE_URL",
        "REDIS_URL",
        "OPENAI_API_KEY",
        "CLERK_SECRET_KEY",
        "CLERK_JWT_KEY",
        "SENTRY_DSN",
        "SMTP_URL",
        "METRICS_TOKEN",
        "MONITOR_WEBHOOK_URL",
        "UNSUBSCRIBE_SECRET",
    },
)
APP_SERVICES = ("migrate", "api", "worker")
# Render and `docker stop` send SIGKILL this many seconds after SIGTERM.
PLATFORM_STOP_TIMEOUT_SECONDS = 30


@cache
def _yaml(relative: str) -> dict[str, Any]:
    loaded: object = yaml.safe_load((REPO_ROOT / relative).read_text(encoding="utf-8"))
    assert isinstance(loaded, dict), f"{relative} must be a YAML mapping"
    return loaded


def _compose() -> dict[str, Any]:
    return _yaml("compose.yaml")


def _render() -> dict[str, Any]:
    return _yaml("deploy/render.yaml")


def _compose_env(service: dict[str, Any]) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        pairs = (str(item).partition("=") for item in environment)
        return {key: value for key, _, value in pairs}
    return {str(key): str(value) for key, value in environment.items()}


def _render_service(name: str) -> dict[str, Any]:
    matches: list[dict[str, Any]] = [
        service for service in _render()["services"] if service["name"] == name
    ]
    assert len(matches) == 1, f"expected one Render service named {name}"
    return matches[0]


def _render_env_entries() -> list[dict[str, Any]]:
    entries = [entry for service in _render()["services"] for entry in service.get("envVars", [])]
    for group in _render().get("envVarGroups", []):
        entries.extend(group["envVars"])
    return entries


def _seconds(duration: str) -> int:
    match = re.fullmatch(r"(\d+)s", duration)
    assert match is not None, f"expected a duration such as 30s, got {duration!r}"
    return int(match.group(1))


def _containerfile_instructions() -> list[tuple[str, str]]:
    instructions: list[tuple[str, str]] = []
    pending = ""
    text = (REPO_ROOT / "Containerfile").read_text(encoding="utf-8")
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, arguments = (pending + line).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    return instructions


# --- compose.yaml ---------------------------------------------------------------------


def test_compose_app_services_set_only_known_settings() -> None:
    for name in APP_SERVICES:
        unknown = set(_compose_env(_compose()["services"][name])) - KNOWN_SETTINGS
        assert not unknown, f"compose service {name} sets unknown variables {sorted(unknown)}"
    unknown_shared = set(_compose()["x-env"]) - KNOWN_SETTINGS
    assert not unknown_shared, f"x-env sets unknown variables {sorted(unknown_shared)}"


def test_compose_database_sets_only_postgres_image_variables() -> None:
    assert set(_compose_env(_compose()["services"]["db"])) <= POSTGRES_IMAGE_VARS


def test_compose_has_no_obsolete_version_key() -> None:
    assert "version" not in _compose()


def test_compose_redis_never_evicts_and_persists() -> None:
    command = _compose()["services"]["redis"]["command"]
    assert command[command.index("--maxmemory-policy") + 1] == "noeviction"
    assert command[command.index("--appendonly") + 1] == "yes"


def test_compose_worker_runs_the_worker_and_drains_before_kill() -> None:
    worker = _compose()["services"]["worker"]
    assert worker["command"] == ["market-ai", "worker"]
    grace = int(_compose_env(worker).get("WORKER_GRACE_SECONDS", "25"))
    assert grace < _seconds(worker["stop_grace_period"])


def test_compose_api_waits_for_migrations_and_checks_readiness() -> None:
    api = _compose()["services"]["api"]
    assert api["command"] == ["market-ai", "serve"]
    assert api["depends_on"] == {
        "db": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }
    assert any("/health/ready" in part for part in api["healthcheck"]["test"])
    assert _compose()["services"]["migrate"]["command"] == ["market-ai", "migrate"]


def test_compose_app_services_share_one_image() -> None:
    images = {_compose()["services"][name]["image"] for name in APP_SERVICES}
    assert len(images) == 1
    for name in APP_SERVICES:
        assert _compose()["services"][name]["build"]["dockerfile"] == "Containerfile"


def test_compose_publishes_only_the_api_so_host_databases_do_not_collide() -> None:
    services = _compose()["services"]
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"api"}


def test_compose_host_ports_file_publishes_postgres_and_redis_on_loopback_only() -> None:
    services = _yaml("compose.host-ports.yaml")["services"]
    assert set(services) == {"db", "redis"}
    for name, service in services.items():
        [port] = service["ports"]
        assert str(port).startswith("127.0.0.1:"), f"{name} must bind loopback only"
        assert set(service) == {"ports"}, f"{name}: the override adds ports and nothing else"


def _data_dir() -> str:
    envs = [args for keyword, args in _containerfile_instructions() if keyword == "ENV"]
    found = re.search(r"MARKET_AI_DATA_DIR=(\S+)", " ".join(envs))
    assert found is not None, "the image sets MARKET_AI_DATA_DIR"
    return found.group(1)


def test_compose_keeps_the_signing_key_and_outbox_on_one_named_volume() -> None:
    """The data dir holds the dev signing key and the .eml outbox: both outlive a recreate."""
    compose = _compose()
    mounts = {}
    for name in ("api", "worker"):
        volumes = compose["services"][name]["volumes"]
        [mount] = [v for v in volumes if str(v).endswith(":" + _data_dir())]
        mounts[name] = str(mount).split(":", 1)[0]
    assert mounts["api"] == mounts["worker"], "exec api market-ai token must sign with its key"
    assert mounts["api"] in compose["volumes"], "a named volume, not a host path"


def test_compose_says_which_version_reads_its_optional_env_file() -> None:
    lines = (REPO_ROOT / "compose.yaml").read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip() == "env_file:")
    assert "Compose 2.24 or later" in lines[at - 1]
    assert _compose()["x-app"]["env_file"] == [{"path": ".env", "required": False}]


# --- deploy/render.yaml ---------------------------------------------------------------


def test_render_sets_only_known_variables() -> None:
    keys = {entry["key"] for entry in _render_env_entries() if "key" in entry}
    unknown = keys - KNOWN_SETTINGS - RENDER_PLATFORM_VARS
    assert not unknown, f"render.yaml sets unknown variables {sorted(unknown)}"


def test_render_services_use_defined_env_groups() -> None:
    groups = {group["name"] for group in _render().get("envVarGroups", [])}
    used = {entry["fromGroup"] for entry in _render_env_entries() if "fromGroup" in entry}
    assert used
    assert used <= groups


def test_render_never_commits_secret_values() -> None:
    for entry in _render_env_entries():
        if entry.get("key") in SECRETS:
            assert "value" not in entry, f"{entry['key']} must not have a value in the file"


def test_render_web_service_migrates_and_checks_readiness() -> None:
    web = _render_service("market-ai-api")
    assert web["type"] == "web"
    assert web["healthCheckPath"] == "/health/ready"
    assert web["preDeployCommand"] == "market-ai migrate"
    assert web["startCommand"].startswith("market-ai serve")


def test_render_worker_runs_the_worker() -> None:
    worker = _render_service("market-ai-worker")
    assert worker["type"] == "worker"
    assert worker["startCommand"] == "market-ai worker"
    assert "preDeployCommand" not in worker


def test_render_key_value_never_evicts() -> None:
    stores = [service for service in _render()["services"] if service["type"] == "keyvalue"]
    assert len(stores) == 1
    assert stores[0]["maxmemoryPolicy"] == "noeviction"
    assert stores[0]["ipAllowList"] == []
    assert not [service for service in _render()["services"] if service["type"] == "redis"]


def test_render_urls_point_at_resources_in_the_blueprint() -> None:
    databases = {database["name"] for database in _render()["databases"]}
    stores = {s["name"] for s in _render()["services"] if s["type"] == "keyvalue"}
    for name in ("market-ai-api", "market-ai-worker"):
        env = {e["key"]: e for e in _render_service(name)["envVars"] if "key" in e}
        assert env["DATABASE_URL"]["fromDatabase"]["name"] in databases
        assert env["DATABASE_URL"]["fromDatabase"]["property"] == "connectionString"
        assert env["REDIS_URL"]["fromService"]["name"] in stores
        assert env["REDIS_URL"]["fromService"]["type"] == "keyvalue"


def test_render_shutdown_delay_covers_the_drain() -> None:
    config = Config.from_toml(REPO_ROOT / "deploy" / "hypercorn.toml")
    web = _render_service("market-ai-api")
    assert config.graceful_timeout + config.shutdown_timeout < web["maxShutdownDelaySeconds"]
    worker = _render_service("market-ai-worker")
    env = {e["key"]: e for e in worker["envVars"] if "key" in e}
    assert int(env["WORKER_GRACE_SECONDS"]["value"]) < worker["maxShutdownDelaySeconds"]


# --- deploy/hypercorn.toml --------------------------------------------------------------


def test_hypercorn_config_uses_only_real_options() -> None:
    # Config.from_toml drops nothing and checks nothing: an unknown key just becomes an
    # unused attribute. Compare against the options the class defines instead.
    raw = tomllib.loads((REPO_ROOT / "deploy" / "hypercorn.toml").read_text(encoding="utf-8"))
    options = {name for name in dir(Config) if not name.startswith("_")}
    unknown = set(raw) - options
    assert not unknown, f"hypercorn.toml has keys hypercorn does not know: {sorted(unknown)}"


def test_hypercorn_drains_within_the_platform_stop_timeout() -> None:
    config = Config.from_toml(REPO_ROOT / "deploy" / "hypercorn.toml")
    assert config.graceful_timeout < PLATFORM_STOP_TIMEOUT_SECONDS
    assert config.graceful_timeout + config.shutdown_timeout < PLATFORM_STOP_TIMEOUT_SECONDS
    assert config.keep_alive_timeout > 60  # outlive a typical load balancer's idle timeout
    assert config.accesslog == "-"
    assert config.errorlog == "-"


# --- Containerfile and its ignore file ----------------------------------------------------


def test_containerfile_runs_as_non_root_user() -> None:
    users = [args for keyword, args in _containerfile_instructions() if keyword == "USER"]
    assert users, "Containerfile must switch to a non-root USER"
    user = users[-1].partition(":")[0]
    assert user not in {"root", "0"}


def test_containerfile_has_health_check_and_graceful_stop() -> None:
    instructions = dict(_containerfile_instructions())
    assert "HEALTHCHECK" in instructions
    assert not instructions["HEALTHCHECK"].upper().startswith("NONE")
    assert "/health" in instructions["HEALTHCHECK"]
    assert instructions["STOPSIGNAL"] == "SIGTERM"
    assert instructions["CMD"] == '["market-ai", "serve"]'


def test_container_ignore_files_agree_and_keep_build_inputs() -> None:
    containerignore = (REPO_ROOT / ".containerignore").read_text(encoding="utf-8")
    assert (REPO_ROOT / ".dockerignore").read_text(encoding="utf-8") == containerignore
    patterns = {line.strip() for line in containerignore.splitlines()}
    assert {".venv/", ".git/", ".market-ai/"} <= patterns
    # hatchling needs these to build the wheel inside the image.
    assert not {"README.md", "*.md", "src/", "pyproject.toml"} & patterns


# --- health monitor ---------------------------------------------------------------------


def test_the_health_monitor_is_the_cli_command_not_a_script() -> None:
    assert not (REPO_ROOT / "deploy" / "health-monitor.sh").exists()
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert "health-monitor.sh" not in readme
    assert "market-ai monitor" in readme
