"""Hermetic tests of the local Neo4j launcher: settings, config, commands, error paths.

No sockets (a guard fails any attempt), no Maven, no server. Port checks and tool lookups are
injected; "java" is a tiny shell script that prints a version.
"""

from __future__ import annotations

import json
import os
import re
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from graph.driver import PasswordSource, password_file, password_source, resolve_password
from graph.errors import (
    GraphError,
    JavaNotFoundError,
    MavenNotFoundError,
    PasswordNotFoundError,
    PortInUseError,
    ServerConfigError,
    ServerStartError,
)
from graph.schema import (
    REL_ENDPOINTS,
    NodeLabel,
    RelType,
    SchemaKind,
    identifier,
    schema_statements,
)
from graph.server import (
    ADMIN_TOOL,
    ENTRY_POINT,
    LocalNeo4j,
    StartOutcome,
    StopOutcome,
    dist_name,
    parse_java_major,
)
from pipelines.settings import Settings, get_settings

# Every key the rendered neo4j.conf may contain; each was checked against Neo4j 5.26.21's strict
# config validation by a real start.
ACCEPTED_KEYS = {
    "server.directories.data",
    "server.directories.logs",
    "server.directories.run",
    "server.directories.plugins",
    "server.directories.import",
    "server.directories.lib",
    "server.default_listen_address",
    "server.default_advertised_address",
    "server.bolt.enabled",
    "server.bolt.listen_address",
    "server.bolt.advertised_address",
    "server.bolt.tls_level",
    "server.http.enabled",
    "server.http.listen_address",
    "server.http.advertised_address",
    "server.https.enabled",
    "server.memory.heap.initial_size",
    "server.memory.heap.max_size",
    "server.memory.pagecache.size",
    "initial.dbms.default_database",
    "db.tx_log.rotation.size",
    "db.tx_log.preallocate",
    "internal.dbms.bolt.netty_server_shutdown_quiet_period",
    "dbms.security.auth_enabled",
    "dbms.usage_report.enabled",
    "server.logs.config",
    "server.logs.user.config",
}


@pytest.fixture(autouse=True)
def _no_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("unit tests must not open sockets")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith(("NEO4J_", "HIPPOGRAPH_")) or name == "JAVA_HOME":
            monkeypatch.delenv(name)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path / "data",
        "neo4j_bolt_port": 17687,
        "neo4j_http_port": 17474,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def fake_java(tmp_path: Path, version: str) -> str:
    script = tmp_path / "bin" / "java"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(f"#!/bin/sh\necho 'openjdk version \"{version}\" 2024-01-16' >&2\n")
    script.chmod(0o755)
    return str(script)


def tools(java: str | None = None, mvn: str | None = None):  # type: ignore[no-untyped-def]
    found = {"java": java, "mvn": mvn}
    return lambda name: found.get(name)


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# --- pure helpers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15', 17),
        ('openjdk version "21" 2023-09-19', 21),
        ('java version "1.8.0_392"', 8),
        ('openjdk version "11.0.2" 2019-01-15 LTS', 11),
        ("no version here", None),
    ],
)
def test_parse_java_major(output: str, major: int | None) -> None:
    assert parse_java_major(output) == major


def test_dist_name_keys_the_jar_folder_by_both_versions() -> None:
    assert dist_name("5.26.21", "5.24.0") == "5.26.21-5.24.0"
    with pytest.raises(ServerConfigError):
        dist_name("../etc", "5.24.0")


def test_layout_lives_under_neo4j_home(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    lay = LocalNeo4j(settings).layout
    home = tmp_path / "data" / "neo4j"
    assert lay.home == settings.neo4j_home == home
    assert lay.lib_dir == home / "dist" / "5.26.21-5.24.0" / "lib"
    assert (lay.data_dir, lay.logs_dir, lay.run_dir, lay.conf_dir) == (
        home / "data",
        home / "logs",
        home / "run",
        home / "conf",
    )
    assert lay.pid_file.parent == lay.run_dir
    assert password_file(settings) == home / "password"


def test_dist_root_can_be_shared(tmp_path: Path) -> None:
    shared = tmp_path / "cache"
    a = LocalNeo4j(make_settings(tmp_path / "a"), dist_root=shared)
    b = LocalNeo4j(make_settings(tmp_path / "b"), dist_root=shared)
    assert a.layout.lib_dir == b.layout.lib_dir == shared / "5.26.21-5.24.0" / "lib"
    assert a.layout.home != b.layout.home


def test_constructor_does_no_io(tmp_path: Path) -> None:
    LocalNeo4j(make_settings(tmp_path))
    assert not (tmp_path / "data").exists()


# --- config rendering ----------------------------------------------------------------------


def conf_entries(text: str) -> dict[str, str]:
    entries: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep == "=", line
        assert key not in entries, f"duplicate key {key}"
        entries[key] = value
    return entries


def test_render_config(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, neo4j_heap="2g", neo4j_pagecache="768m")
    launcher = LocalNeo4j(settings)
    conf = conf_entries(launcher.render_config())
    assert set(conf) <= ACCEPTED_KEYS, set(conf) - ACCEPTED_KEYS
    assert "$" not in "".join(conf.values())
    assert conf["server.bolt.listen_address"] == "127.0.0.1:17687"
    assert conf["server.http.listen_address"] == "127.0.0.1:17474"
    assert conf["server.default_listen_address"] == "127.0.0.1"
    assert conf["server.https.enabled"] == "false"
    assert conf["dbms.security.auth_enabled"] == "true"
    assert conf["server.memory.heap.max_size"] == "2g"
    assert conf["server.memory.pagecache.size"] == "768m"
    assert conf["initial.dbms.default_database"] == "neo4j"
    assert conf["server.directories.data"] == str(launcher.layout.data_dir)
    assert conf["server.directories.lib"] == str(launcher.layout.lib_dir)
    assert conf["server.logs.config"] == str(launcher.layout.conf_dir / "server-logs.xml")


@pytest.mark.parametrize(
    "overrides",
    [
        {"neo4j_heap": "1 g"},
        {"neo4j_heap": "lots"},
        {"neo4j_pagecache": "512m\nserver.bolt.enabled=false"},
        {"neo4j_bolt_port": 17474},
        {"neo4j_database": "no spaces allowed"},
    ],
)
def test_render_config_rejects_bad_settings(tmp_path: Path, overrides: dict[str, object]) -> None:
    with pytest.raises(ServerConfigError):
        LocalNeo4j(make_settings(tmp_path, **overrides)).render_config()


def test_render_config_rejects_line_breaks_in_paths(tmp_path: Path) -> None:
    with pytest.raises(ServerConfigError, match="line break"):
        LocalNeo4j(make_settings(tmp_path / "a\nb")).render_config()


def test_logging_configs_ship_as_package_data() -> None:
    from graph.server import RESOURCE_DIR

    for name in ("pom.xml", "server-logs.xml", "user-logs.xml", "neo4j.conf.tmpl"):
        assert (RESOURCE_DIR / name).is_file(), name
    pom = (RESOURCE_DIR / "pom.xml").read_text()
    assert "<packaging>pom</packaging>" in pom
    for needle in ("${neo4j.version}", "${neo4j.browser.version}", "${hippograph.lib.dir}"):
        assert needle in pom


# --- commands ------------------------------------------------------------------------------


def test_server_command(tmp_path: Path) -> None:
    launcher = LocalNeo4j(make_settings(tmp_path, neo4j_heap="1g"))
    cmd = launcher.server_command(Path("/opt/java/bin/java"))
    assert cmd[0] == "/opt/java/bin/java"
    assert "-Xms1g" in cmd and "-Xmx1g" in cmd
    for opened in ("java.nio", "java.io", "sun.nio.ch"):
        assert f"--add-opens=java.base/{opened}=ALL-UNNAMED" in cmd
    classpath = cmd[cmd.index("-cp") + 1].split(os.pathsep)
    assert classpath == [f"{launcher.layout.plugins_dir}/*", f"{launcher.layout.lib_dir}/*"]
    assert cmd[cmd.index("-cp") + 2] == ENTRY_POINT == "org.neo4j.server.CommunityEntryPoint"
    assert f"--home-dir={launcher.layout.home}" in cmd
    assert f"--config-dir={launcher.layout.conf_dir}" in cmd
    assert cmd[-1] == "--console-mode"


def test_set_password_and_maven_commands(tmp_path: Path) -> None:
    launcher = LocalNeo4j(make_settings(tmp_path))
    admin = launcher.set_password_command(Path("java"), "-starts-with-a-dash")
    assert admin[admin.index(ADMIN_TOOL) :] == [
        ADMIN_TOOL,
        "dbms",
        "set-initial-password",
        "--",
        "-starts-with-a-dash",
    ]
    mvn = launcher.maven_command(Path("/usr/bin/mvn"), tmp_path / "work")
    assert "-Dneo4j.version=5.26.21" in mvn
    assert "-Dneo4j.browser.version=5.24.0" in mvn
    assert f"-Dhippograph.lib.dir={tmp_path / 'work' / 'lib'}" in mvn
    assert mvn[-1] == "dependency:copy-dependencies"


# --- tools ---------------------------------------------------------------------------------


def test_missing_java(tmp_path: Path) -> None:
    launcher = LocalNeo4j(make_settings(tmp_path), which=tools())
    with pytest.raises(JavaNotFoundError, match="no `java` on PATH"):
        launcher.find_java()


def test_java_too_old(tmp_path: Path) -> None:
    launcher = LocalNeo4j(make_settings(tmp_path), which=tools(java=fake_java(tmp_path, "11.0.2")))
    with pytest.raises(JavaNotFoundError, match="Java 11"):
        launcher.find_java()


def test_java_17_is_accepted(tmp_path: Path) -> None:
    java = fake_java(tmp_path, "17.0.15")
    runtime = LocalNeo4j(make_settings(tmp_path), which=tools(java=java)).find_java()
    assert (runtime.path, runtime.major) == (Path(java), 17)


def test_java_home_wins_over_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_java(tmp_path / "jdk", "21.0.1")
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "jdk"))
    launcher = LocalNeo4j(make_settings(tmp_path), which=tools(java=fake_java(tmp_path, "11")))
    assert launcher.find_java().major == 21


def test_missing_maven(tmp_path: Path) -> None:
    launcher = LocalNeo4j(make_settings(tmp_path), which=tools())
    with pytest.raises(MavenNotFoundError, match="no `mvn` on PATH"):
        launcher.fetch()


def test_fetch_skips_maven_when_jars_exist(tmp_path: Path) -> None:
    launcher = LocalNeo4j(make_settings(tmp_path), which=tools())
    lib = launcher.layout.lib_dir
    lib.mkdir(parents=True)
    (lib / "neo4j-5.26.21.jar").touch()
    (lib / "neo4j-browser-5.24.0.jar").touch()
    report = launcher.fetch()
    assert not report.fetched and report.jar_count == 2


# --- start / stop / status without a server ------------------------------------------------


def test_start_reports_the_port_in_use(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    launcher = LocalNeo4j(
        settings,
        which=tools(java=fake_java(tmp_path, "17.0.15")),
        port_free=lambda port: port != 17474,
    )
    with pytest.raises(PortInUseError) as info:
        launcher.start()
    assert info.value.port == 17474
    assert "http port 17474" in str(info.value)
    assert not launcher.layout.pid_file.exists()


def test_external_server_is_left_alone(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, neo4j_uri="bolt://db.example:7687")
    launcher = LocalNeo4j(settings, which=tools(), port_free=lambda port: False)
    assert launcher.start().outcome is StartOutcome.EXTERNAL
    assert launcher.stop().outcome is StopOutcome.EXTERNAL
    status = launcher.status()
    assert status.external and status.bolt_uri == "bolt://db.example:7687"
    assert not (tmp_path / "data").exists()


def test_status_of_a_fresh_home(tmp_path: Path) -> None:
    status = LocalNeo4j(make_settings(tmp_path)).status()
    assert not status.running and status.pid is None
    assert status.password_source is PasswordSource.MISSING
    assert status.password_file == tmp_path / "data" / "neo4j" / "password"
    assert status.browser_url == "http://127.0.0.1:17474/browser/"
    assert (status.neo4j_version, status.browser_version) == ("5.26.21", "5.24.0")
    json.dumps(status.to_json())


@pytest.mark.parametrize("content", ["dead", "garbage", "self"])
def test_stale_pid_file_is_reported_and_removed(tmp_path: Path, content: str) -> None:
    launcher = LocalNeo4j(make_settings(tmp_path))
    pid_file = launcher.layout.pid_file
    pid_file.parent.mkdir(parents=True)
    # "self": a live process that is not this home's Neo4j (a recycled PID).
    pid = {"dead": dead_pid(), "garbage": -1, "self": os.getpid()}[content]
    pid_file.write_text("not-a-pid\n" if content == "garbage" else f"{pid}\n")

    status = launcher.status()
    assert not status.running and status.stale_pid == pid
    assert not pid_file.exists()

    pid_file.write_text(f"{pid}\n")
    report = launcher.stop()
    assert report.outcome is StopOutcome.NOT_RUNNING and report.stale_pid == pid


# --- passwords -----------------------------------------------------------------------------


def test_generated_password_is_stored_private_and_reused(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    launcher = LocalNeo4j(settings)
    first = launcher._initial_password()
    path = password_file(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 24
    assert launcher._initial_password() == first
    assert resolve_password(settings) == first
    assert password_source(settings) is PasswordSource.FILE


def test_env_password_wins_and_is_not_written(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, neo4j_password="from-the-env")
    assert LocalNeo4j(settings)._initial_password() == "from-the-env"
    assert resolve_password(settings) == "from-the-env"
    assert password_source(settings) is PasswordSource.ENV
    assert not password_file(settings).exists()


def test_env_password_is_read_from_neo4j_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEO4J_PASSWORD", "exported-pass")
    assert resolve_password(Settings(data_dir=tmp_path)) == "exported-pass"


def test_short_password_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ServerConfigError, match="at least 8"):
        LocalNeo4j(make_settings(tmp_path, neo4j_password="short"))._initial_password()


def test_missing_password(tmp_path: Path) -> None:
    with pytest.raises(PasswordNotFoundError, match="hippograph neo4j start"):
        resolve_password(make_settings(tmp_path))
    external = make_settings(tmp_path, neo4j_uri="bolt://db.example:7687")
    with pytest.raises(PasswordNotFoundError, match="NEO4J_PASSWORD"):
        resolve_password(external)


# --- errors and schema ---------------------------------------------------------------------


def test_error_hierarchy_and_messages() -> None:
    err = PortInUseError(7687, "bolt")
    assert isinstance(err, GraphError) and err.port == 7687
    assert "bolt port 7687" in str(err) and "HIPPOGRAPH_NEO4J_BOLT_PORT" in str(err)
    start = ServerStartError("did not start", ["line 1", "line 2"])
    assert str(start).splitlines()[0] == "did not start"
    assert str(start).endswith("line 1\nline 2")


def test_schema_statements_are_idempotent_and_complete() -> None:
    items = schema_statements()
    names = [item.name for item in items]
    assert len(names) == len(set(names))
    assert all("IF NOT EXISTS" in item.cypher for item in items)
    constraints = [item for item in items if item.kind is SchemaKind.CONSTRAINT]
    assert {re.search(r"\(n:(\w+)\)", c.cypher).group(1) for c in constraints} == {  # type: ignore[union-attr]
        str(label) for label in NodeLabel
    }
    assert "entity_names" in names
    assert {
        "entity_canonical",
        "fact_valid_at",
        "passage_document_id",
        "relates_fact_id",
    } <= set(names)


def test_relationship_endpoints() -> None:
    assert set(REL_ENDPOINTS) == set(RelType)
    assert REL_ENDPOINTS[RelType.HAS_PASSAGE] == (NodeLabel.DOCUMENT, NodeLabel.PASSAGE)
    assert REL_ENDPOINTS[RelType.SUPERSEDES] == (NodeLabel.FACT, NodeLabel.FACT)
    assert f"{NodeLabel.ENTITY}" == "Entity"


def test_identifier_validation() -> None:
    assert identifier("Entity") == "Entity"
    with pytest.raises(GraphError):
        identifier("Entity) DETACH DELETE (n")


# --- command line --------------------------------------------------------------------------


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from retrieval.cli import neo4j_cmd

    monkeypatch.setenv("HIPPOGRAPH_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    return lambda *args: runner.invoke(neo4j_cmd.app, list(args))


def test_cli_status_json(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("status", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["running"] is False and data["password_source"] == "missing"


def test_cli_start_without_java_is_one_red_line(  # type: ignore[no-untyped-def]
    cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    result = cli("start")
    assert result.exit_code == 1
    assert "error:" in result.stderr and "java" in result.stderr
    assert "Traceback" not in result.output


def test_cli_with_external_server(cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("NEO4J_URI", "bolt://db.example:7687")
    result = cli("start")
    assert result.exit_code == 0 and "external" in result.stdout
    assert "nothing to stop" in cli("stop").stdout
