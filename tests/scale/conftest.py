"""Production mode under load, on infrastructure of the tests' own: a PostgreSQL cluster and a Redis
server started here on free ports (so stopping them hurts nothing else on the machine), RabbitMQ and
nginx as the production e2e test uses them. Not part of ``make test`` (pyproject's addopts ignore
this folder): ``make test-scale`` runs it."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from caredesk.harness import free_port
from tests.support.production import (
    Production,
    copy_suite_model,
    production_environment,
    skip_unless_nginx,
    start_production,
    stop_production,
)
from tests.support.services import ensure_rabbitmq, listening

PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)), None) \
    if Path("/usr/lib/postgresql").exists() else None


def _as_postgres(command: list[str]) -> list[str]:
    """Commands of the cluster run as the postgres user when the tests run as root (initdb refuses root)."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class Cluster:
    """A PostgreSQL cluster in a folder of its own on a free port."""

    def __init__(self, folder: Path):
        self.folder, self.port = folder, free_port()
        self.data = folder / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def init(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        subprocess.run(_as_postgres([str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres",
                                     "--auth=trust", "-E", "UTF8"]), check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c max_connections=200"
        subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "log"),
                                     "-o", options, "-w", "-t", "120", "start"]), check=True, capture_output=True,
                       timeout=180)

    def stop(self, mode: str = "fast") -> None:
        subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "120",
                                     "stop"]), check=True, capture_output=True, timeout=180)


class RedisServer:
    """A Redis server on a free port, stopped for real (``SHUTDOWN NOSAVE``) and started again on it."""

    def __init__(self):
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                                         "--save", "", "--appendonly", "no"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while not listening(self.port):
            assert time.monotonic() < deadline, "Redis did not start"
            time.sleep(0.1)

    def stop(self) -> None:
        subprocess.run(["redis-cli", "-p", str(self.port), "shutdown", "nosave"], capture_output=True, timeout=30)
        if self.process is not None:
            self.process.wait(30)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    if PG_BIN is None or not (PG_BIN / "initdb").exists():
        pytest.skip("PostgreSQL's server programs (initdb, pg_ctl) are not installed")
    cluster = Cluster(Path(f"/tmp/caredesk-scale-pg-{uuid.uuid4().hex[:8]}"))
    cluster.init()
    cluster.start()
    yield cluster
    try:
        cluster.stop("immediate")
    finally:
        shutil.rmtree(cluster.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server():
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def production(cluster, redis_server, tmp_path_factory) -> Production:
    skip_unless_nginx()
    ensure_rabbitmq()
    models = copy_suite_model(tmp_path_factory.mktemp("scale-models"))
    var_dir = tmp_path_factory.mktemp("scale")
    queue = f"caredesk_scale_{uuid.uuid4().hex[:8]}"
    env = production_environment(var_dir, models, cluster.url("caredesk"), queue, redis_url=redis_server.url)
    production = start_production(env, var_dir)
    yield production
    stop_production(production, queue)
