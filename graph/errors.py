"""The ``graph`` package's exceptions: one root, :class:`GraphError`, and a class per problem."""

from __future__ import annotations

from collections.abc import Sequence


class GraphError(Exception):
    """Root of every error raised by the ``graph`` package."""


class ToolNotFoundError(GraphError):
    """A command-line tool the local server needs is missing or unusable."""


class JavaNotFoundError(ToolNotFoundError):
    """No usable ``java`` (17 or newer) on ``PATH`` or under ``JAVA_HOME``."""


class MavenNotFoundError(ToolNotFoundError):
    """No ``mvn`` on ``PATH``; it is needed once, to fetch the server's jars."""


class FetchError(GraphError):
    """Maven ran but did not produce the server's jars."""


class ServerConfigError(GraphError):
    """The local server cannot be configured from the settings given."""


class PortInUseError(GraphError):
    """A port the local server wants to listen on is already taken."""

    def __init__(self, port: int, purpose: str) -> None:
        self.port = port
        self.purpose = purpose
        super().__init__(
            f"{purpose} port {port} on 127.0.0.1 is already in use; stop whatever listens there "
            f"or choose another port (HIPPOGRAPH_NEO4J_{purpose.upper()}_PORT)"
        )


class StalePidFileError(GraphError):
    """A PID file names a process that is gone, or that is not this home's Neo4j."""


class ServerStartError(GraphError):
    """The local server did not come up; carries the last lines of its log."""

    def __init__(self, message: str, log_tail: Sequence[str] = ()) -> None:
        self.log_tail = tuple(log_tail)
        super().__init__(message)

    def __str__(self) -> str:
        base = super().__str__()
        if not self.log_tail:
            return base
        return base + "\n--- last log lines ---\n" + "\n".join(self.log_tail)


class ServerStartTimeoutError(ServerStartError):
    """The server process runs but Bolt did not answer within the start timeout."""


class ServerStopError(GraphError):
    """The server process did not exit, not even after SIGKILL."""


class PasswordNotFoundError(GraphError):
    """Neither ``NEO4J_PASSWORD`` nor the local server's password file is available."""


class Neo4jConnectionError(GraphError):
    """Neo4j could not be reached over Bolt."""


class Neo4jAuthError(Neo4jConnectionError):
    """Neo4j answered but rejected the user name or password."""


class GraphQueryError(GraphError):
    """A query or write transaction failed (after retrying transient errors)."""
