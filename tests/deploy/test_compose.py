"""docker-compose.yml is checked by reading it (no Docker engine runs here)."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import pytest
import yaml

from tests.support.env import ROOT

SCHEMAS = ROOT / "tests" / "deploy" / "schemas"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())  # type: ignore[no-any-return]


def _env(service: dict[str, Any]) -> dict[str, str]:
    return service.get("environment") or {}


def test_the_services(compose: dict[str, Any]) -> None:
    assert {"redis", "postgres", "migrate", "worker-ops", "worker-pipelines", "beat",
            "flower"} <= set(compose["services"])


def test_exactly_one_beat(compose: dict[str, Any]) -> None:
    beats = [name for name, s in compose["services"].items()
             if "beat" in " ".join(map(str, s.get("command", [])))]
    assert beats == ["beat"]
    assert compose["services"]["beat"]["deploy"]["replicas"] == 1


def test_workers_cover_every_queue_and_have_health_checks(compose: dict[str, Any]) -> None:
    from config.queues import QUEUES

    consumed: list[str] = []
    for name in ("worker-ops", "worker-pipelines"):
        service = compose["services"][name]
        command = service["command"]
        consumed += command[command.index("-Q") + 1].split(",")
        assert service["healthcheck"]["test"][0] == "CMD-SHELL"
    assert sorted(consumed) == sorted(QUEUES)


def test_each_worker_healthcheck_pings_its_own_node(compose: dict[str, Any]) -> None:
    # A probe job any replica may answer lets a hung worker pass; `-d` names this one.
    for name in ("worker-ops", "worker-pipelines"):
        service = compose["services"][name]
        node = service["command"][service["command"].index("-n") + 1]
        assert node.endswith("@%h")  # Celery's %h: the container's hostname
        own = node.replace("%h", "$$HOSTNAME")  # $$: compose's escape for a literal $
        assert service["healthcheck"]["test"][1] == \
            f"celery -A config inspect ping -d {own} --timeout 10"


def _conveyor_services(compose: dict[str, Any]) -> list[str]:
    return ["migrate", "worker-ops", "worker-pipelines", "beat", "flower"]


def test_openai_settings_and_the_runs_volume_reach_every_conveyor_process(
        compose: dict[str, Any]) -> None:
    for name in _conveyor_services(compose):
        service = compose["services"][name]
        env = _env(service)
        assert env["OPENAI_API_KEY"] == "${OPENAI_API_KEY:-}"
        assert env["OPENAI_BASE_URL"] == "${OPENAI_BASE_URL:-}"
        assert env["CHIRALITY_RUNS_ROOT"] == "/var/lib/conveyor/runs"
        assert "runs:/var/lib/conveyor/runs" in service["volumes"], name
    assert "runs" in compose["volumes"]


def test_the_postgres_password_is_required(compose: dict[str, Any]) -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    assert ":-conveyor}" not in text  # no fallback password anywhere
    assert compose["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"] \
        .startswith("${POSTGRES_PASSWORD:?")
    for name in _conveyor_services(compose):
        assert "${POSTGRES_PASSWORD:?" in _env(compose["services"][name])["CONVEYOR_DATABASE_URL"]


def test_redis_never_evicts_and_appends(compose: dict[str, Any]) -> None:
    command = compose["services"]["redis"]["command"]
    assert command[command.index("--maxmemory-policy") + 1] == "noeviction"
    assert command[command.index("--appendonly") + 1] == "yes"


def test_every_conveyor_process_is_configured_through_conveyor_variables(
        compose: dict[str, Any]) -> None:
    for name in ("migrate", "worker-ops", "worker-pipelines", "beat", "flower"):
        env = _env(compose["services"][name])
        assert env["CONVEYOR_BROKER_URL"].startswith("redis://redis:6379")
        assert env["CONVEYOR_DATABASE_URL"].startswith("postgresql://")
        assert "migrate" in compose["services"][name].get("depends_on", {}) or name == "migrate"


def test_flower_on_5555_and_migrate_is_one_shot(compose: dict[str, Any]) -> None:
    assert compose["services"]["flower"]["ports"] == ["127.0.0.1:5555:5555"]
    migrate = compose["services"]["migrate"]
    assert migrate["command"] == ["conveyor", "db", "upgrade"]
    assert migrate["restart"] == "no"


def _compose_command() -> list[str] | None:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"],
                                 capture_output=True).returncode == 0:
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_the_file_is_valid_against_the_compose_specification(
        compose: dict[str, Any]) -> None:
    """What `docker compose config` checks first, without Docker: the Compose
    Specification's own JSON Schema (vendored, tests/deploy/schemas/README.md)."""
    import json

    import jsonschema

    schema = json.loads((SCHEMAS / "compose-spec.json").read_text())
    validator = jsonschema.Draft7Validator(schema)
    problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
                for e in validator.iter_errors(compose)]
    assert problems == []


def test_the_schema_check_can_fail(compose: dict[str, Any]) -> None:
    """The same validator refuses a typo'd service key and a bad restart policy type."""
    import copy
    import json

    import jsonschema

    schema = json.loads((SCHEMAS / "compose-spec.json").read_text())
    broken = copy.deepcopy(compose)
    service = next(iter(broken["services"].values()))
    service["enviroment"] = {"A": "1"}
    service["restart"] = 3
    found = {e.validator for e in jsonschema.Draft7Validator(schema).iter_errors(broken)}
    assert {"additionalProperties", "type"} <= found


def test_docker_compose_config_accepts_it_where_it_runs() -> None:
    command = _compose_command()
    if command is None:
        pytest.skip("neither `docker compose` nor docker-compose is installed here")
    result = subprocess.run([*command, "config", "--quiet"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
