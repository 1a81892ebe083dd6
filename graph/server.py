"""The project's own local Neo4j server: jars from Maven Central, run as a background ``java``.

Neo4j Community's server is published on Maven Central, so no download site or Docker is needed:
:meth:`LocalNeo4j.fetch` runs Maven once to copy ``org.neo4j:neo4j`` (plus the command-line
tools and the Neo4j Browser) into a jar folder keyed by the two versions, and
:meth:`LocalNeo4j.start` runs ``org.neo4j.server.CommunityEntryPoint`` on that classpath with a
rendered ``neo4j.conf``. Layout under ``settings.neo4j_home``::

    conf/        neo4j.conf (rendered on every start), server-logs.xml, user-logs.xml
    data/        databases and transaction logs; survives stop/start
    logs/        neo4j.log (the server's stdout and stderr), debug.log, ...
    run/         neo4j.pid, launcher.lock
    plugins/     extra jars (e.g. APOC); on the classpath
    import/      files for LOAD CSV
    password     the generated password (mode 0600), unless NEO4J_PASSWORD is set
    dist/<neo4j>-<browser>/lib/   the jars (the default place; see ``dist_root``)

With ``NEO4J_URI`` set (``settings.uses_external_neo4j``) an external server is used and
start/stop do nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from string import Template
from typing import Any

from neo4j import GraphDatabase
from neo4j.exceptions import AuthError, DriverError, Neo4jError

from graph.driver import PasswordSource, password_file, password_source
from graph.errors import (
    FetchError,
    JavaNotFoundError,
    MavenNotFoundError,
    Neo4jAuthError,
    PasswordNotFoundError,
    PortInUseError,
    ServerConfigError,
    ServerStartError,
    ServerStartTimeoutError,
    ServerStopError,
)
from pipelines.settings import Settings

logger = logging.getLogger(__name__)

ENTRY_POINT = "org.neo4j.server.CommunityEntryPoint"
ADMIN_TOOL = "org.neo4j.cli.AdminTool"
MIN_JAVA = 17
MAX_TESTED_JAVA = 21  # Neo4j 5.26 supports Java 17 and 21
LOOPBACK = "127.0.0.1"
MIN_PASSWORD_LENGTH = 8  # Neo4j's dbms.security.auth_minimum_password_length default
LOG_TAIL_LINES = 30
LOG_ROTATE_BYTES = 20 * 1024 * 1024
STOP_TIMEOUT_S = 120.0
KILL_WAIT_S = 15.0
POLL_INTERVAL_S = 0.5

# JVM flags from Neo4j 5.26's default neo4j.conf (server.jvm.additional) that matter when the
# server is launched directly; the --add-opens are required on Java 17+ (UnsafeUtil).
JVM_FLAGS: tuple[str, ...] = (
    "-XX:+UseG1GC",
    "-XX:-OmitStackTraceInFastThrow",
    "-XX:+UnlockExperimentalVMOptions",
    "-XX:+TrustFinalNonStaticFields",
    "-XX:+DisableExplicitGC",
    "-Djdk.nio.maxCachedBufferSize=1024",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Djdk.tls.ephemeralDHKeySize=2048",
    "-Djdk.tls.rejectClientInitiatedRenegotiation=true",
    "-XX:FlightRecorderOptions=stackdepth=256",
    "-XX:+UnlockDiagnosticVMOptions",
    "-XX:+DebugNonSafepoints",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--enable-native-access=ALL-UNNAMED",
    "-Dlog4j2.disable.jmx=true",
    "-Dfile.encoding=UTF-8",
)

_SECRET_ENV = frozenset({"NEO4J_PASSWORD", "HIPPOGRAPH_NEO4J_PASSWORD"})

# sh -c SCRIPT spawn PIDFILE JAVA ARGS...: run the command in the background, record its PID.
_SPAWN_SCRIPT = 'pidfile=$1; shift; "$@" & echo $! > "$pidfile"'

_VERSION_RE = re.compile(r"[0-9A-Za-z][0-9A-Za-z.\-]*")
_MEMORY_RE = re.compile(r"[1-9][0-9]*[kKmMgG]?")
_JAVA_VERSION_RE = re.compile(r'version "(\d+)(?:\.(\d+))?')


# --- records -------------------------------------------------------------------------------


class StartOutcome(StrEnum):
    STARTED = "started"
    ALREADY_RUNNING = "already_running"
    EXTERNAL = "external"


class StopOutcome(StrEnum):
    STOPPED = "stopped"
    KILLED = "killed"  # did not exit within the timeout after SIGTERM
    NOT_RUNNING = "not_running"
    EXTERNAL = "external"


@dataclass(frozen=True)
class JavaRuntime:
    path: Path
    major: int


@dataclass(frozen=True)
class FetchReport:
    lib_dir: Path
    fetched: bool  # False: the jars were already there
    jar_count: int
    elapsed_s: float


@dataclass(frozen=True)
class StartReport:
    outcome: StartOutcome
    pid: int | None
    bolt_uri: str
    browser_url: str | None
    elapsed_s: float
    fetched: bool = False  # Maven ran during this start
    initialised: bool = False  # first start on this data directory
    stale_pid: int | None = None  # a PID file naming a dead process was removed


@dataclass(frozen=True)
class StopReport:
    outcome: StopOutcome
    pid: int | None
    elapsed_s: float
    stale_pid: int | None = None


@dataclass(frozen=True)
class ServerStatus:
    """What ``hippograph neo4j status`` shows."""

    external: bool
    running: bool
    pid: int | None
    bolt_uri: str
    browser_url: str | None
    home: Path | None
    data_dir: Path | None
    log_file: Path | None
    password_source: PasswordSource
    password_file: Path | None
    neo4j_version: str
    browser_version: str
    lib_dir: Path | None
    jars_fetched: bool
    stale_pid: int | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (paths as strings)."""
        out: dict[str, Any] = {}
        for key, value in self.__dict__.items():
            out[key] = str(value) if isinstance(value, Path | StrEnum) else value
        return out


@dataclass(frozen=True)
class ServerLayout:
    """Where a local server's files live; pure path arithmetic."""

    home: Path
    dist_dir: Path

    @property
    def conf_dir(self) -> Path:
        return self.home / "conf"

    @property
    def config_file(self) -> Path:
        return self.conf_dir / "neo4j.conf"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    @property
    def plugins_dir(self) -> Path:
        return self.home / "plugins"

    @property
    def import_dir(self) -> Path:
        return self.home / "import"

    @property
    def lib_dir(self) -> Path:
        return self.dist_dir / "lib"

    @property
    def pid_file(self) -> Path:
        return self.run_dir / "neo4j.pid"

    @property
    def lock_file(self) -> Path:
        return self.run_dir / "launcher.lock"

    @property
    def log_file(self) -> Path:
        return self.logs_dir / "neo4j.log"

    @property
    def system_db_dir(self) -> Path:
        """Exists once the server has started on this data directory (and set its password)."""
        return self.data_dir / "databases" / "system"


# --- pure helpers --------------------------------------------------------------------------


def parse_java_major(version_output: str) -> int | None:
    """The major version from ``java -version`` output (``1.8.0_x`` -> 8, ``17.0.2`` -> 17)."""
    match = _JAVA_VERSION_RE.search(version_output)
    if match is None:
        return None
    major = int(match.group(1))
    if major == 1 and match.group(2) is not None:
        return int(match.group(2))
    return major


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    """Whether a listening socket could be bound to ``host:port`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(preferred: int | None = None, *, avoid: int | None = None) -> int:
    """``preferred`` if it is free (and not ``avoid``), else a free port chosen by the OS."""
    if preferred is not None and preferred != avoid and port_is_free(preferred):
        return preferred
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((LOOPBACK, 0))
            port: int = sock.getsockname()[1]
        if port != avoid:
            return port


def dist_name(neo4j_version: str, browser_version: str) -> str:
    """The jar folder's name for a pair of versions."""
    for version in (neo4j_version, browser_version):
        if not _VERSION_RE.fullmatch(version):
            raise ServerConfigError(f"not a version: {version!r}")
    return f"{neo4j_version}-{browser_version}"


RESOURCE_DIR = Path(__file__).with_name("neo4j_server")
"""The pom, logging configs and conf template shipped as package data."""


def _resource_text(name: str) -> str:
    return (RESOURCE_DIR / name).read_text(encoding="utf-8")


def _tail(path: Path, lines: int = LOG_TAIL_LINES, start: int = 0) -> list[str]:
    """The last ``lines`` lines of ``path`` from byte offset ``start`` on (empty if missing)."""
    try:
        with path.open("rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(start, size - 64 * 1024))
            data = fh.read()
    except FileNotFoundError:
        return []
    return data.decode("utf-8", errors="replace").splitlines()[-lines:]


def _pid_alive(pid: int) -> bool:
    """Whether ``pid`` is a live (non-zombie) process; reaps it if it is our exited child."""
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _cmdline(pid: int) -> list[str] | None:
    """The process's argv on Linux; ``None`` where /proc is unavailable."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


# --- the launcher --------------------------------------------------------------------------


class LocalNeo4j:
    """Fetches, configures, starts and stops the project's local Neo4j server.

    The constructor does no I/O. ``dist_root`` is the folder holding one jar folder per version
    pair (``<dist_root>/<neo4j>-<browser>/lib``); it defaults to ``<neo4j_home>/dist``. Point
    several homes (e.g. test data directories) at one ``dist_root`` so Maven runs once.
    ``which`` and ``port_free`` are injectable for tests.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        dist_root: Path | None = None,
        which: Callable[[str], str | None] = shutil.which,
        port_free: Callable[[int], bool] = port_is_free,
    ) -> None:
        self.settings = settings
        root = dist_root if dist_root is not None else settings.neo4j_home / "dist"
        self.layout = ServerLayout(
            home=settings.neo4j_home,
            dist_dir=root / dist_name(settings.neo4j_version, settings.neo4j_browser_version),
        )
        self._which = which
        self._port_free = port_free

    # -- tools ---------------------------------------------------------------------------

    def find_java(self) -> JavaRuntime:
        """The ``java`` to run (``$JAVA_HOME/bin/java``, else ``java`` on PATH), 17 or newer."""
        java_home = os.environ.get("JAVA_HOME")
        candidate: str | None = None
        if java_home and (Path(java_home) / "bin" / "java").is_file():
            candidate = str(Path(java_home) / "bin" / "java")
        else:
            candidate = self._which("java")
        if candidate is None:
            raise JavaNotFoundError(
                f"no `java` on PATH (and no JAVA_HOME); Neo4j {self.settings.neo4j_version} "
                f"needs Java {MIN_JAVA} or 21 (e.g. apt-get install openjdk-17-jre-headless)"
            )
        try:
            probe = subprocess.run(
                [candidate, "-version"], capture_output=True, text=True, timeout=60, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            raise JavaNotFoundError(f"cannot run {candidate} -version: {e}") from e
        major = parse_java_major(probe.stderr + probe.stdout)
        if major is None:
            raise JavaNotFoundError(f"cannot tell the version of {candidate} from `java -version`")
        if major < MIN_JAVA:
            raise JavaNotFoundError(
                f"{candidate} is Java {major}; Neo4j {self.settings.neo4j_version} needs Java "
                f"{MIN_JAVA} or 21 (set JAVA_HOME or put a newer java first on PATH)"
            )
        if major > MAX_TESTED_JAVA:
            logger.warning(
                "%s is Java %s; Neo4j %s supports Java 17 and 21 and may fail on newer ones",
                candidate,
                major,
                self.settings.neo4j_version,
            )
        return JavaRuntime(path=Path(candidate), major=major)

    def find_maven(self) -> Path:
        mvn = self._which("mvn")
        if mvn is None:
            raise MavenNotFoundError(
                "no `mvn` on PATH; Maven is needed once to fetch the Neo4j jars from Maven "
                "Central (e.g. apt-get install maven)"
            )
        return Path(mvn)

    # -- fetch ---------------------------------------------------------------------------

    def jars_fetched(self) -> bool:
        lib = self.layout.lib_dir
        return (lib / f"neo4j-{self.settings.neo4j_version}.jar").is_file() and (
            lib / f"neo4j-browser-{self.settings.neo4j_browser_version}.jar"
        ).is_file()

    def maven_command(self, mvn: Path, work_dir: Path) -> list[str]:
        """The Maven invocation that copies the server's jars into ``work_dir/lib``."""
        return [
            str(mvn),
            "-B",
            "-q",
            "-Dstyle.color=never",
            "-f",
            str(work_dir / "pom.xml"),
            f"-Dneo4j.version={self.settings.neo4j_version}",
            f"-Dneo4j.browser.version={self.settings.neo4j_browser_version}",
            f"-Dhippograph.lib.dir={work_dir / 'lib'}",
            "dependency:copy-dependencies",
        ]

    def fetch(self, *, force: bool = False) -> FetchReport:
        """Copy the server's jars from Maven Central (via ~/.m2) unless they are already there.

        Maven writes into a temporary sibling folder that is renamed into place when complete,
        so an interrupted or concurrent fetch never leaves a half-filled jar folder.
        """
        t0 = time.monotonic()
        lib = self.layout.lib_dir
        if self.jars_fetched() and not force:
            return FetchReport(lib, fetched=False, jar_count=_count_jars(lib), elapsed_s=0.0)
        mvn = self.find_maven()
        dist = self.layout.dist_dir
        dist.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{dist.name}.", dir=dist.parent))
        try:
            (work / "pom.xml").write_text(_resource_text("pom.xml"), encoding="utf-8")
            logger.info(
                "fetching Neo4j %s and Neo4j Browser %s with Maven into %s",
                self.settings.neo4j_version,
                self.settings.neo4j_browser_version,
                dist,
            )
            try:
                proc = subprocess.run(
                    self.maven_command(mvn, work),
                    cwd=work,
                    capture_output=True,
                    text=True,
                    timeout=3600,
                    check=False,
                )
            except (OSError, subprocess.TimeoutExpired) as e:
                raise FetchError(f"running Maven failed: {e}") from e
            if proc.returncode != 0:
                output = (proc.stdout + proc.stderr).splitlines()[-LOG_TAIL_LINES:]
                raise FetchError(
                    f"Maven could not fetch Neo4j {self.settings.neo4j_version} / Browser "
                    f"{self.settings.neo4j_browser_version} (exit {proc.returncode}):\n"
                    + "\n".join(output)
                )
            server_jar = work / "lib" / f"neo4j-{self.settings.neo4j_version}.jar"
            if not _jar_has_class(server_jar, ENTRY_POINT):
                raise FetchError(f"{server_jar.name} does not contain {ENTRY_POINT}")
            _replace_dir(work, dist)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return FetchReport(
            lib, fetched=True, jar_count=_count_jars(lib), elapsed_s=time.monotonic() - t0
        )

    # -- configuration -------------------------------------------------------------------

    def render_config(self) -> str:
        """The ``neo4j.conf`` text for these settings (no I/O besides reading the template)."""
        s = self.settings
        for name, size in (("neo4j_heap", s.neo4j_heap), ("neo4j_pagecache", s.neo4j_pagecache)):
            if not _MEMORY_RE.fullmatch(size):
                raise ServerConfigError(
                    f"{name}={size!r} is not a size like 512m or 2g (digits and k, m or g)"
                )
        if s.neo4j_bolt_port == s.neo4j_http_port:
            raise ServerConfigError(f"Bolt and HTTP both set to port {s.neo4j_bolt_port}")
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.\-]{2,62}", s.neo4j_database):
            raise ServerConfigError(f"not a Neo4j database name: {s.neo4j_database!r}")
        lay = self.layout
        values: dict[str, str] = {
            key: str(value)
            for key, value in (
                ("data_dir", lay.data_dir),
                ("logs_dir", lay.logs_dir),
                ("run_dir", lay.run_dir),
                ("plugins_dir", lay.plugins_dir),
                ("import_dir", lay.import_dir),
                ("lib_dir", lay.lib_dir),
                ("conf_dir", lay.conf_dir),
                ("bolt_port", s.neo4j_bolt_port),
                ("http_port", s.neo4j_http_port),
                ("heap", s.neo4j_heap),
                ("pagecache", s.neo4j_pagecache),
                ("database", s.neo4j_database),
            )
        }
        for key, text in values.items():
            if "\n" in text or "\r" in text:
                raise ServerConfigError(f"{key} contains a line break: {text!r}")
        return Template(_resource_text("neo4j.conf.tmpl")).substitute(values)

    def classpath(self) -> str:
        return os.pathsep.join([f"{self.layout.plugins_dir}/*", f"{self.layout.lib_dir}/*"])

    def server_command(self, java: Path) -> list[str]:
        """The ``java`` command line that runs the server in the foreground."""
        heap = self.settings.neo4j_heap
        return [
            str(java),
            f"-Xms{heap}",
            f"-Xmx{heap}",
            *JVM_FLAGS,
            "-cp",
            self.classpath(),
            ENTRY_POINT,
            f"--home-dir={self.layout.home}",
            f"--config-dir={self.layout.conf_dir}",
            "--console-mode",
        ]

    def set_password_command(self, java: Path, password: str) -> list[str]:
        """``neo4j-admin dbms set-initial-password``, run before the first start."""
        return [
            str(java),
            "-Xmx256m",
            "-cp",
            f"{self.layout.lib_dir}/*",
            ADMIN_TOOL,
            "dbms",
            "set-initial-password",
            "--",  # a password may start with "-"
            password,
        ]

    def _tool_env(self) -> dict[str, str]:
        """The environment for java: ours, minus the password, plus NEO4J_HOME/NEO4J_CONF."""
        env = {k: v for k, v in os.environ.items() if k not in _SECRET_ENV}
        env["NEO4J_HOME"] = str(self.layout.home)
        env["NEO4J_CONF"] = str(self.layout.conf_dir)
        return env

    def _write_config(self, config: str) -> None:
        lay = self.layout
        for folder in (lay.conf_dir, lay.data_dir, lay.logs_dir, lay.run_dir, lay.plugins_dir):
            folder.mkdir(parents=True, exist_ok=True)
        lay.import_dir.mkdir(parents=True, exist_ok=True)
        lay.config_file.write_text(config, encoding="utf-8")
        for name in ("server-logs.xml", "user-logs.xml"):
            (lay.conf_dir / name).write_text(_resource_text(name), encoding="utf-8")

    # -- password ------------------------------------------------------------------------

    def _initial_password(self) -> str:
        """The password to set before the first start; generates and stores one if needed."""
        if self.settings.neo4j_password is not None:
            password = self.settings.neo4j_password.get_secret_value()
        else:
            path = password_file(self.settings)
            if path.is_file():
                password = path.read_text(encoding="utf-8").strip()
            else:
                password = secrets.token_urlsafe(24)
                path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    fh.write(password + "\n")
                logger.info("generated a Neo4j password, stored in %s", path)
        if len(password) < MIN_PASSWORD_LENGTH:
            raise ServerConfigError(
                f"the Neo4j password must have at least {MIN_PASSWORD_LENGTH} characters"
            )
        return password

    def _current_password(self) -> str:
        """The password of an initialised data directory."""
        if self.settings.neo4j_password is not None:
            return self.settings.neo4j_password.get_secret_value()
        path = password_file(self.settings)
        try:
            return path.read_text(encoding="utf-8").strip()
        except FileNotFoundError as e:
            raise PasswordNotFoundError(
                f"{self.layout.data_dir} was initialised with a password that is neither in "
                f"NEO4J_PASSWORD nor in {path}; set NEO4J_PASSWORD, or delete "
                f"{self.layout.data_dir} to start afresh"
            ) from e

    def _set_initial_password(self, java: Path, password: str) -> None:
        logger.info("setting the initial Neo4j password")
        try:
            proc = subprocess.run(
                self.set_password_command(java, password),
                env=self._tool_env(),
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            raise ServerStartError(f"neo4j-admin set-initial-password failed: {e}") from e
        if proc.returncode != 0:
            output = (proc.stdout + proc.stderr).replace(password, "***").splitlines()
            raise ServerStartError(
                f"neo4j-admin set-initial-password failed (exit {proc.returncode})",
                output[:LOG_TAIL_LINES],
            )

    # -- process state -------------------------------------------------------------------

    def _read_pid(self) -> int | None:
        try:
            text = self.layout.pid_file.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        try:
            return int(text)
        except ValueError:
            return -1  # unreadable: treated as stale

    def _is_our_server(self, pid: int) -> bool:
        if pid <= 0 or not _pid_alive(pid):
            return False
        argv = _cmdline(pid)
        if argv is None:  # no /proc (macOS): trust the PID file
            return True
        return ENTRY_POINT in argv and f"--home-dir={self.layout.home}" in argv

    def _running_pid(self, *, clean: bool = True) -> tuple[int | None, int | None]:
        """``(pid of the running server, stale pid found)``; ``clean`` removes a stale PID file."""
        pid = self._read_pid()
        if pid is None:
            return None, None
        if self._is_our_server(pid):
            return pid, None
        if clean:
            logger.info(
                "removing a stale PID file %s (process %s is not running)",
                self.layout.pid_file,
                pid,
            )
            self.layout.pid_file.unlink(missing_ok=True)
        return None, pid

    @contextlib.contextmanager
    def _locked(self, *, wait: bool = True) -> Iterator[bool]:
        """Serialise start/stop across processes on this home; yields whether it got the lock."""
        self.layout.run_dir.mkdir(parents=True, exist_ok=True)
        with self.layout.lock_file.open("a") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    # -- lifecycle -----------------------------------------------------------------------

    def status(self) -> ServerStatus:
        """The server's state; removes a stale PID file (reported as ``stale_pid``).

        ``running`` is about the local server process; with an external server (NEO4J_URI)
        nothing is checked and ``running`` is False.
        """
        s = self.settings
        if s.uses_external_neo4j:
            return ServerStatus(
                external=True,
                running=False,
                pid=None,
                bolt_uri=s.bolt_uri,
                browser_url=None,
                home=None,
                data_dir=None,
                log_file=None,
                password_source=(
                    PasswordSource.ENV if s.neo4j_password is not None else PasswordSource.MISSING
                ),
                password_file=None,
                neo4j_version=s.neo4j_version,
                browser_version=s.neo4j_browser_version,
                lib_dir=None,
                jars_fetched=False,
            )
        if self.layout.home.is_dir():
            # Clean a stale PID file only if no start/stop is under way.
            with self._locked(wait=False) as locked:
                pid, stale = self._running_pid(clean=locked)
        else:
            pid, stale = None, None
        source = password_source(s)
        return ServerStatus(
            external=False,
            running=pid is not None,
            pid=pid,
            bolt_uri=s.bolt_uri,
            browser_url=s.browser_url,
            home=self.layout.home,
            data_dir=self.layout.data_dir,
            log_file=self.layout.log_file,
            password_source=source,
            password_file=password_file(s) if source is not PasswordSource.ENV else None,
            neo4j_version=s.neo4j_version,
            browser_version=s.neo4j_browser_version,
            lib_dir=self.layout.lib_dir,
            jars_fetched=self.jars_fetched(),
            stale_pid=stale,
        )

    def start(self) -> StartReport:
        """Start the server in the background and wait until Bolt accepts the password.

        A no-op if it is already running (or an external server is configured).

        Raises:
            JavaNotFoundError, MavenNotFoundError, FetchError, ServerConfigError,
            PortInUseError, PasswordNotFoundError, Neo4jAuthError, ServerStartError,
            ServerStartTimeoutError.
        """
        t0 = time.monotonic()
        s = self.settings
        if s.uses_external_neo4j:
            return StartReport(StartOutcome.EXTERNAL, None, s.bolt_uri, None, 0.0)
        with self._locked():
            pid, stale = self._running_pid()
            if pid is not None:
                return StartReport(
                    StartOutcome.ALREADY_RUNNING,
                    pid,
                    s.bolt_uri,
                    s.browser_url,
                    time.monotonic() - t0,
                )
            config = self.render_config()  # validates the settings before anything runs
            java = self.find_java()
            for port, purpose in ((s.neo4j_bolt_port, "bolt"), (s.neo4j_http_port, "http")):
                if not self._port_free(port):
                    raise PortInUseError(port, purpose)
            fetched = self.fetch().fetched
            self._write_config(config)
            initialised = not self.layout.system_db_dir.exists()
            if initialised:
                password = self._initial_password()
                self._set_initial_password(java.path, password)
            else:
                password = self._current_password()
            pid = self._launch(java.path, password)
        return StartReport(
            StartOutcome.STARTED,
            pid,
            s.bolt_uri,
            s.browser_url,
            time.monotonic() - t0,
            fetched=fetched,
            initialised=initialised,
            stale_pid=stale,
        )

    def _launch(self, java: Path, password: str) -> int:
        lay = self.layout
        if lay.log_file.exists() and lay.log_file.stat().st_size > LOG_ROTATE_BYTES:
            lay.log_file.replace(lay.log_file.with_name(lay.log_file.name + ".1"))
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        lay.pid_file.unlink(missing_ok=True)
        with lay.log_file.open("a", encoding="utf-8") as log:
            log.write(f"----- hippograph: starting Neo4j {self.settings.neo4j_version} {stamp}\n")
            offset = log.tell()
            logger.info("starting Neo4j: %s", " ".join(self.server_command(java)))
            # A shell starts java in the background, writes its PID and exits at once: the
            # server is never our child (no zombie, no Popen left running) and, in its own
            # session, gets no SIGINT/SIGHUP from the terminal that started it.
            spawner = subprocess.run(
                ["/bin/sh", "-c", _SPAWN_SCRIPT, "spawn", str(lay.pid_file)]
                + self.server_command(java),
                cwd=lay.home,
                env=self._tool_env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                timeout=60,
                check=False,
            )
        pid = self._read_pid()
        if spawner.returncode != 0 or pid is None or pid <= 0:
            raise ServerStartError(
                f"could not launch java (exit {spawner.returncode})",
                _tail(lay.log_file, start=offset),
            )
        try:
            self._wait_until_ready(pid, password, offset)
        except BaseException:
            self._terminate(pid, timeout_s=KILL_WAIT_S)
            lay.pid_file.unlink(missing_ok=True)
            raise
        return pid

    def _wait_until_ready(self, pid: int, password: str, offset: int) -> None:
        s = self.settings
        deadline = time.monotonic() + s.neo4j_start_timeout_s
        last_error: Exception | None = None
        with GraphDatabase.driver(
            s.bolt_uri, auth=(s.neo4j_user, password), connection_timeout=5.0
        ) as driver:
            while time.monotonic() < deadline:
                if not _pid_alive(pid):
                    raise ServerStartError(
                        f"Neo4j exited during startup (log: {self.layout.log_file})",
                        _tail(self.layout.log_file, start=offset),
                    )
                try:
                    driver.verify_connectivity()
                    driver.execute_query("RETURN 1", database_=s.neo4j_database)
                    return
                except AuthError as e:
                    where = (
                        "NEO4J_PASSWORD"
                        if password_source(s) is PasswordSource.ENV
                        else str(password_file(s))
                    )
                    raise Neo4jAuthError(
                        f"Neo4j rejected the password from {where}; the data "
                        f"in {self.layout.data_dir} was initialised with another one. Set "
                        f"NEO4J_PASSWORD to it, or delete {self.layout.data_dir} to start afresh"
                    ) from e
                except (DriverError, Neo4jError, OSError) as e:
                    last_error = e
                time.sleep(POLL_INTERVAL_S)
        raise ServerStartTimeoutError(
            f"Neo4j did not answer on {s.bolt_uri} within {s.neo4j_start_timeout_s:.0f} s "
            f"(last error: {_first_line(last_error)}; log: {self.layout.log_file})",
            _tail(self.layout.log_file, start=offset),
        )

    def stop(self, *, timeout_s: float = STOP_TIMEOUT_S) -> StopReport:
        """Stop the server: SIGTERM, wait up to ``timeout_s`` for a clean exit, then SIGKILL."""
        t0 = time.monotonic()
        if self.settings.uses_external_neo4j:
            return StopReport(StopOutcome.EXTERNAL, None, 0.0)
        with self._locked():
            pid, stale = self._running_pid()
            if pid is None:
                return StopReport(StopOutcome.NOT_RUNNING, None, time.monotonic() - t0, stale)
            clean = self._terminate(pid, timeout_s=timeout_s)
            self.layout.pid_file.unlink(missing_ok=True)
        outcome = StopOutcome.STOPPED if clean else StopOutcome.KILLED
        return StopReport(outcome, pid, time.monotonic() - t0)

    def _terminate(self, pid: int, *, timeout_s: float) -> bool:
        """SIGTERM, wait, SIGKILL. True if the process exited after SIGTERM alone."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        if _wait_gone(pid, timeout_s):
            return True
        logger.warning("Neo4j (pid %s) ignored SIGTERM for %.0f s; sending SIGKILL", pid, timeout_s)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        if not _wait_gone(pid, KILL_WAIT_S):
            raise ServerStopError(f"Neo4j (pid {pid}) is still running after SIGKILL")
        return False


def _first_line(error: Exception | None) -> str:
    text = str(error).strip() if error is not None else ""
    return text.splitlines()[0] if text else "none"


def _wait_gone(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while _pid_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def _count_jars(lib: Path) -> int:
    return sum(1 for _ in lib.glob("*.jar"))


def _jar_has_class(jar: Path, class_name: str) -> bool:
    entry = class_name.replace(".", "/") + ".class"
    try:
        with zipfile.ZipFile(jar) as zf:
            return entry in zf.namelist()
    except (OSError, zipfile.BadZipFile):
        return False


def _replace_dir(source: Path, target: Path) -> None:
    """Move ``source`` to ``target``, replacing an existing ``target`` (e.g. ``--force``)."""
    if not target.exists():
        try:
            source.rename(target)
            return
        except OSError:
            if not target.exists():
                raise
            # Another process finished the same fetch first; keep theirs.
            return
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    target.rename(old)
    source.rename(target)
    shutil.rmtree(old, ignore_errors=True)
