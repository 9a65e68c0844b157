"""docker-compose.airflow.yml: the topology of Airflow's official compose file, the provider installed,
and everything that must match across components set once.

No Docker engine runs here: the file is read as compose reads it (YAML merge keys, ``${VAR:-default}``
interpolation with an empty environment) and checked service by service; Debian's ``docker-compose``
(v1, validates without an engine) must accept it and resolve it the same way.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
COMPOSE = REPO / "docker-compose.airflow.yml"
AIRFLOW_SERVICES = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
    "airflow-worker": "celery worker",
}
SHARED_ENV = (
    "AIRFLOW__CORE__EXECUTOR", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CELERY__BROKER_URL",
    "AIRFLOW__CELERY__RESULT_BACKEND", "AIRFLOW__CORE__EXECUTION_API_SERVER_URL", "AIRFLOW_CONFIG",
    "OOMNITZA_INI", "OOMNITZA_STORAGE",
)
SECRETS_ENV = ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY", "AIRFLOW__CORE__FERNET_KEY")


def interpolate(text: str, env: dict[str, str] | None = None) -> str:
    """Compose's variable substitution: ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``, ``$$``."""
    env = env or {}

    def substitute(match: re.Match) -> str:
        name, op, default = match.group(1), match.group(2), match.group(3) or ""
        if op == ":-":
            return env.get(name) or default
        if op == "-":
            return env.get(name, default)
        return env.get(name, "")

    text = re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}", substitute, text)
    return text.replace("$$", "$")


def load(env: dict[str, str] | None = None) -> dict:
    return yaml.safe_load(interpolate(COMPOSE.read_text(), env))


@pytest.fixture(scope="module")
def compose() -> dict:
    return load()


def env_of(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def mounts(service: dict) -> dict[str, tuple[str, str]]:
    """target -> (source, mode)"""
    out = {}
    for volume in service.get("volumes", []):
        source, target, *mode = volume.split(":")
        out[target] = (source, mode[0] if mode else "rw")
    return out


def airflow_services(compose: dict) -> dict[str, dict]:
    return {name: compose["services"][name] for name in [*AIRFLOW_SERVICES, "airflow-init"]}


def test_services_of_the_official_topology(compose):
    services = compose["services"]
    assert {"postgres", "redis", "airflow-init", *AIRFLOW_SERVICES} <= set(services)
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    for name, command in AIRFLOW_SERVICES.items():
        assert services[name]["command"] == command, name
        assert "healthcheck" in services[name], name
        assert services[name]["restart"] == "always", name
        depends = services[name]["depends_on"]
        assert depends["airflow-init"]["condition"] == "service_completed_successfully", name
        assert depends["postgres"]["condition"] == depends["redis"]["condition"] == "service_healthy", name
    assert services["airflow-worker"]["depends_on"]["airflow-apiserver"]["condition"] == "service_healthy"
    assert services["airflow-worker"]["deploy"]["replicas"] >= 2
    assert services["airflow-worker"]["environment"]["DUMB_INIT_SETSID"] == "0"  # warm shutdown on SIGTERM
    assert services["airflow-apiserver"]["ports"] == ["8080:8080"]


def test_one_airflow_image_matching_the_installed_airflow(compose):
    import airflow

    images = {svc["image"] for svc in airflow_services(compose).values()}
    assert len(images) == 1
    image = images.pop()
    major_minor = ".".join(airflow.__version__.split(".")[:2])
    assert re.fullmatch(rf"apache/airflow:{re.escape(major_minor)}\.\d+(-python3\.\d+)?", image), image


def test_shared_settings_are_the_same_everywhere(compose):
    services = airflow_services(compose)
    envs = {name: env_of(svc) for name, svc in services.items()}
    for key in SHARED_ENV:
        values = {name: env.get(key) for name, env in envs.items()}
        assert len(set(values.values())) == 1 and None not in values.values(), (key, values)
    env = envs["airflow-worker"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert urlparse(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]).hostname == "postgres"
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql")
    assert urlparse(env["AIRFLOW__CELERY__BROKER_URL"]).hostname == "redis"
    api = urlparse(env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
    assert (api.hostname, api.port, api.path) == ("airflow-apiserver", 8080, "/execution/")


def test_secrets_are_set_once_in_the_shared_airflow_cfg(compose):
    """JWT secret, API secret key and fernet key: generated once by airflow-init into airflow.cfg on a
    volume every component mounts at AIRFLOW_CONFIG; no service overrides them on its own."""
    services = airflow_services(compose)
    config_file = env_of(services["airflow-worker"])["AIRFLOW_CONFIG"]
    config_dir = str(Path(config_file).parent)
    sources = {name: mounts(svc).get(config_dir) for name, svc in services.items()}
    assert len(set(sources.values())) == 1 and None not in sources.values(), sources
    assert sources["airflow-worker"][0] in compose["volumes"]
    for name, svc in services.items():
        assert not set(env_of(svc)) & set(SECRETS_ENV), f"{name} sets a secret of its own"
    init = services["airflow-init"]["command"][-1]
    assert "airflow config list" in init  # writes airflow.cfg (with generated secrets) when missing
    assert init.index("airflow config list") < init.index("chown")


def test_config_ini_dags_plugins_and_run_storage_mounted_on_every_component(compose):
    for name, svc in airflow_services(compose).items():
        env, mounted = env_of(svc), mounts(svc)
        assert mounted["/opt/airflow/dags"][0] == "./dags", name
        assert mounted["/opt/airflow/plugins"][0] == "./plugins", name
        ini_dir = str(Path(env["OOMNITZA_INI"]).parent)
        assert mounted[ini_dir] == ("./oomnitza", "ro"), name
        storage = urlparse(env["OOMNITZA_STORAGE"])
        assert storage.scheme == "file"
        assert mounted[storage.path][0] in compose["volumes"], name  # one named volume, shared by all
    assert (REPO / "dags" / "oomnitza.py").is_file()


def test_run_storage_can_point_at_object_storage():
    env = env_of(load({"OOMNITZA_STORAGE": "s3://aws_default@bucket/oomnitza"})["services"]["airflow-worker"])
    assert env["OOMNITZA_STORAGE"] == "s3://aws_default@bucket/oomnitza"


def test_provider_built_by_init_and_installed_by_every_component(compose):
    setup_name = re.search(r'name="([^"]+)"', (REPO / "setup.py").read_text())[1]
    services = airflow_services(compose)
    init = services["airflow-init"]
    wheel_dir = re.search(r"--wheel-dir (\S+)", init["command"][-1])[1]
    assert mounts(init)["/opt/oomnitza/provider-src"] == (".", "ro")
    for name, svc in services.items():
        if name == "airflow-init":
            assert env_of(svc)["_PIP_ADDITIONAL_REQUIREMENTS"] == ""
            continue
        requirement = env_of(svc)["_PIP_ADDITIONAL_REQUIREMENTS"].split()
        assert requirement == [f"--find-links={wheel_dir}", setup_name], name
        assert mounts(svc)[wheel_dir][0] == mounts(init)[wheel_dir][0] == "oomnitza-wheels", name
    # an image with the provider baked in turns the start-up install off
    custom = load({"OOMNITZA_PROVIDER_REQUIREMENT": ""})["services"]["airflow-worker"]
    assert env_of(custom)["_PIP_ADDITIONAL_REQUIREMENTS"] == ""


def test_init_migrates_and_creates_the_admin_user(compose):
    init = compose["services"]["airflow-init"]
    env = env_of(init)
    assert env["_AIRFLOW_DB_MIGRATE"] == "true" and env["_AIRFLOW_WWW_USER_CREATE"] == "true"
    assert init["user"] == "0:0" and init["entrypoint"] == "/bin/bash"
    assert "/entrypoint airflow" in init["command"][-1]


def test_docker_compose_accepts_the_file_and_resolves_it_the_same_way(compose, tmp_path):
    exe = shutil.which("docker-compose")
    assert exe, "docker-compose is not installed (Debian: apt-get install -y docker-compose)"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    check = subprocess.run([exe, "-f", str(COMPOSE), "config", "-q"], env=env, cwd=tmp_path,
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stderr
    resolved = subprocess.run([exe, "-f", str(COMPOSE), "config"], env=env, cwd=REPO,
                              capture_output=True, text=True, timeout=120)
    assert resolved.returncode == 0, resolved.stderr
    theirs = yaml.safe_load(resolved.stdout)["services"]
    for name in AIRFLOW_SERVICES:
        assert env_of(theirs[name]) == env_of(compose["services"][name]), name
        assert theirs[name]["image"] == compose["services"][name]["image"]
