"""Saved Cypher queries for exploring the graph: ``graph/queries/*.cypher``, by name.

Each file is plain Cypher that can be pasted into the Neo4j Browser, with a header of ``//``
comment lines that this module reads::

    // name: entity_neighbourhood
    // description: An entity and the entities it is related to ...
    //   (an indented comment line continues the line above)
    // param name: str - the entity's name
    // param limit: int = 25 - at most this many relationships
    // example: name=Halvard Robotics

A parameter without ``= default`` is required; types are ``str``, ``int``, ``float`` and
``bool``, and a default of ``null`` makes a parameter optional with no value. :func:`load_query`
and :func:`list_queries` read the files; :meth:`SavedQuery.bind` checks and converts the
parameters (from the command line's ``key=value`` strings or from Python values);
:func:`run_saved_query` runs a query on a driver and returns plain, JSON-ready rows.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from typing import Any

from neo4j import Driver
from neo4j.exceptions import DriverError, Neo4jError
from neo4j.graph import Node, Path, Relationship
from neo4j.time import Date, DateTime, Duration, Time

from graph.errors import GraphError, GraphQueryError

QUERY_SUFFIX = ".cypher"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_HEADER = re.compile(
    r"^//\s?(?P<key>[a-z]+)(?:\s+(?P<arg>[A-Za-z_][A-Za-z0-9_]*))?:\s*(?P<rest>.*)$"
)
_HEADER_KEYS = frozenset({"name", "description", "param", "example"})
_MIDNIGHT_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T00:00:00(\+00:00|Z)$")
_TRUE = frozenset({"true", "yes", "1", "on"})
_FALSE = frozenset({"false", "no", "0", "off"})


class SavedQueryError(GraphError):
    """A saved query is missing, malformed, or was given unusable parameters."""


class UnknownQueryError(SavedQueryError):
    """No saved query has the name asked for."""


class QueryParamError(SavedQueryError):
    """Parameters missing, unknown, or not convertible to the declared type."""


class ParamType(StrEnum):
    STR = "str"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"

    def convert(self, value: Any) -> Any:
        """``value`` (a command-line string or a Python value) as this type.

        Raises:
            ValueError: it cannot be read as this type.
        """
        if self is ParamType.STR:
            if not isinstance(value, str):
                raise ValueError(f"expected text, got {value!r}")
            return value
        if self is ParamType.BOOL:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise ValueError(f"expected true or false, got {value!r}")
        if isinstance(value, bool):
            raise ValueError(f"expected a number, got {value!r}")
        if self is ParamType.INT:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(f"expected a whole number, got {value!r}")
            return int(value) if not isinstance(value, str) else int(value.strip())
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"expected a finite number, got {value!r}")
        return number


@dataclass(frozen=True)
class QueryParam:
    """One ``$parameter`` of a saved query."""

    name: str
    type: ParamType
    description: str = ""
    required: bool = True
    default: Any = None

    def describe(self) -> str:
        """``name: type`` plus ``= default`` when it has one."""
        if self.required:
            return f"{self.name}: {self.type}"
        return f"{self.name}: {self.type} = {_cypher_literal(self.default)}"


@dataclass(frozen=True)
class SavedQuery:
    """A named, parameterised Cypher query kept as a ``.cypher`` file."""

    name: str
    description: str
    params: tuple[QueryParam, ...]
    cypher: str
    example: tuple[tuple[str, str], ...] = ()

    def param(self, name: str) -> QueryParam | None:
        return next((p for p in self.params if p.name == name), None)

    def bind(self, values: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The full parameter map: ``values`` checked and converted, defaults filled in.

        Raises:
            QueryParamError: a required parameter is missing, a name is unknown, or a value
                cannot be converted to its declared type.
        """
        given = dict(values or {})
        unknown = sorted(set(given) - {p.name for p in self.params})
        if unknown:
            known = ", ".join(p.name for p in self.params) or "none"
            raise QueryParamError(
                f"{self.name}: unknown parameter(s) {', '.join(unknown)} (it takes: {known})"
            )
        bound: dict[str, Any] = {}
        missing: list[str] = []
        for p in self.params:
            if p.name not in given:
                if p.required:
                    missing.append(p.name)
                else:
                    bound[p.name] = p.default
                continue
            raw = given[p.name]
            if raw is None and not p.required:
                bound[p.name] = None
                continue
            try:
                bound[p.name] = p.type.convert(raw)
            except (TypeError, ValueError) as e:
                raise QueryParamError(f"{self.name}: parameter {p.name}: {e}") from e
        if missing:
            raise QueryParamError(
                f"{self.name}: missing required parameter(s) {', '.join(missing)} "
                f"(pass e.g. --param {missing[0]}=...)"
            )
        return bound

    def browser_commands(self, values: Mapping[str, Any] | None = None) -> tuple[str, ...]:
        """What to run in the Neo4j Browser, one command at a time: a ``:params`` line (when
        the query has parameters), then the query headed by a comment naming it.

        Raises:
            QueryParamError: as :meth:`bind`.
        """
        bound = self.bind(values)
        query = f"// hippograph: {self.name}\n{self.cypher}"
        return (f":params {_cypher_literal(bound)}", query) if bound else (query,)

    def browser_text(self, values: Mapping[str, Any] | None = None) -> str:
        """:meth:`browser_commands` as one text, a blank line between the commands."""
        return "\n\n".join(self.browser_commands(values))


def parse_query(text: str, name: str) -> SavedQuery:
    """Parse a saved query's file content; ``name`` must match its ``// name:`` line.

    Raises:
        SavedQueryError: the header is malformed or names undeclared/unused parameters.
    """
    header: list[tuple[str, str | None, str]] = []
    body: list[str] = []
    in_header = True
    for line in text.splitlines():
        stripped = line.strip()
        if in_header and stripped.startswith("//"):
            continuation = re.match(r"^//\s{2,}(?P<more>\S.*)$", stripped)
            if continuation and header:
                key, arg, rest = header[-1]
                header[-1] = (key, arg, f"{rest} {continuation['more'].strip()}")
                continue
            m = _HEADER.match(stripped)
            if m is None or m["key"] not in _HEADER_KEYS:
                raise SavedQueryError(f"{name}: unreadable header line {stripped!r}")
            header.append((m["key"], m["arg"], m["rest"].strip()))
            continue
        if in_header and not stripped:
            continue
        in_header = False
        body.append(line.rstrip())
    fields = {key: rest for key, arg, rest in header if arg is None}
    if fields.get("name") != name:
        raise SavedQueryError(f"{name}: the header's name line says {fields.get('name')!r}")
    params = tuple(_parse_param(name, arg, rest) for key, arg, rest in header if key == "param")
    cypher = "\n".join(body).strip()
    if not cypher:
        raise SavedQueryError(f"{name}: no Cypher after the header")
    used = set(re.findall(r"\$([A-Za-z_][A-Za-z0-9_]*)", cypher))
    declared = {p.name for p in params}
    if used != declared:
        raise SavedQueryError(
            f"{name}: parameters used {sorted(used)} differ from those declared {sorted(declared)}"
        )
    example = tuple(_split_assignment(name, part) for part in _example_parts(fields))
    query = SavedQuery(
        name=name,
        description=fields.get("description", ""),
        params=params,
        cypher=cypher,
        example=example,
    )
    query.bind(dict(example))  # the example must itself be valid
    return query


def _parse_param(query: str, arg: str | None, rest: str) -> QueryParam:
    if arg is None:
        raise SavedQueryError(f"{query}: a param line needs a name: '// param NAME: TYPE'")
    spec, _, description = rest.partition(" - ")
    type_name, has_default, raw_default = spec.partition("=")
    try:
        kind = ParamType(type_name.strip())
    except ValueError as e:
        choices = ", ".join(t.value for t in ParamType)
        raise SavedQueryError(f"{query}: param {arg}: type must be one of {choices}") from e
    description = description.strip()
    if not has_default:
        return QueryParam(arg, kind, description)
    raw_default = raw_default.strip()
    if raw_default == "null":
        return QueryParam(arg, kind, description, required=False, default=None)
    try:
        default = kind.convert(_unquote(raw_default))
    except (TypeError, ValueError) as e:
        raise SavedQueryError(f"{query}: param {arg}: bad default {raw_default!r}: {e}") from e
    return QueryParam(arg, kind, description, required=False, default=default)


def _example_parts(fields: Mapping[str, str]) -> list[str]:
    text = fields.get("example", "").strip()
    return [part.strip() for part in text.split(";") if part.strip()] if text else []


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def _split_assignment(query: str, text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise QueryParamError(f"{query}: expected key=value, got {text!r}")
    return key.strip(), value


def parse_assignments(pairs: Iterable[str], query: str = "query") -> dict[str, str]:
    """``["name=Halvard Robotics", "limit=5"]`` as a dict (the command line's ``--param``).

    Raises:
        QueryParamError: an item has no ``=`` or an empty key, or a key repeats.
    """
    out: dict[str, str] = {}
    for pair in pairs:
        key, value = _split_assignment(query, pair)
        if key in out:
            raise QueryParamError(f"{query}: parameter {key} given twice")
        out[key] = value
    return out


# --- loading ------------------------------------------------------------------------------


def query_names() -> tuple[str, ...]:
    """The names of the saved queries, sorted."""
    folder = resources.files("graph") / "queries"
    names = (
        entry.name.removesuffix(QUERY_SUFFIX)
        for entry in folder.iterdir()
        if entry.name.endswith(QUERY_SUFFIX)
    )
    return tuple(sorted(names))


def load_query(name: str) -> SavedQuery:
    """The saved query called ``name``.

    Raises:
        UnknownQueryError: there is none (the message lists those there are).
        SavedQueryError: its file is malformed.
    """
    names = query_names()
    if not _NAME.match(name) or name not in names:
        raise UnknownQueryError(
            f"no saved query named {name!r}; there are: {', '.join(names) or 'none'}"
        )
    text = (resources.files("graph") / "queries" / f"{name}{QUERY_SUFFIX}").read_text("utf-8")
    return parse_query(text, name)


def list_queries() -> tuple[SavedQuery, ...]:
    """Every saved query, by name."""
    return tuple(load_query(name) for name in query_names())


def browser_style() -> str:
    """The Neo4j Browser style (GraSS) shipped in ``graph/browser/hippograph.grass``."""
    return (resources.files("graph") / "browser" / "hippograph.grass").read_text("utf-8")


# --- running ------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueryResult:
    """A saved query's rows as plain values (see :func:`to_plain`), in column order."""

    query: str
    params: Mapping[str, Any]
    columns: tuple[str, ...]
    rows: tuple[dict[str, Any], ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "params": dict(self.params),
            "columns": list(self.columns),
            "rows": [dict(r) for r in self.rows],
        }


def run_saved_query(
    driver: Driver,
    database: str,
    query: SavedQuery,
    params: Mapping[str, Any] | None = None,
) -> QueryResult:
    """Run ``query`` with ``params`` (checked by :meth:`SavedQuery.bind`) in a read transaction.

    Raises:
        QueryParamError: the parameters do not fit the query.
        GraphQueryError: the server rejected or failed the query.
    """
    bound = query.bind(params)
    try:
        # Saved queries may name properties and relationship types that appear only once
        # later stages have run (e.g. consolidation's `archived`); the server's "does not
        # exist" warnings about those are expected, so only real problems are reported.
        with driver.session(database=database, notifications_min_severity="OFF") as session:
            records = session.execute_read(lambda tx: list(tx.run(query.cypher, bound)))
    except (Neo4jError, DriverError) as e:
        raise GraphQueryError(f"saved query {query.name} failed: {e}") from e
    columns = tuple(records[0].keys()) if records else ()
    rows = tuple({key: to_plain(value) for key, value in record.items()} for record in records)
    return QueryResult(query.name, bound, columns, rows)


def to_plain(value: Any) -> Any:
    """A driver value as JSON-ready Python: nodes and relationships become dicts with their
    labels or type and properties, paths their node and relationship lists, temporal values
    ISO 8601 strings."""
    if isinstance(value, Node):
        return {
            "labels": sorted(value.labels),
            "properties": {k: to_plain(v) for k, v in value.items()},
        }
    if isinstance(value, Relationship):
        return {
            "type": value.type,
            "start": value.start_node.get("id") if value.start_node is not None else None,
            "end": value.end_node.get("id") if value.end_node is not None else None,
            "properties": {k: to_plain(v) for k, v in value.items()},
        }
    if isinstance(value, Path):
        return {
            "nodes": [to_plain(n) for n in value.nodes],
            "relationships": [to_plain(r) for r in value.relationships],
        }
    if isinstance(value, DateTime | Date | Time):
        try:
            return value.to_native().isoformat()
        except (ValueError, OverflowError):  # outside Python's range (or sub-microsecond)
            return value.iso_format()
    if isinstance(value, Duration):
        return str(value)
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    return value


def caption(value: Any) -> str:
    """A short text for one plain value (as :func:`to_plain` returns), for tables: a node by
    its name, predicate, title or text, a relationship by its predicate or type."""
    if isinstance(value, dict) and "labels" in value:
        props = value["properties"]
        for key in ("name", "predicate", "title", "statement", "text", "id"):
            if props.get(key):
                text = str(props[key])
                return text if len(text) <= 60 else text[:57] + "..."
        return ":" + ":".join(value["labels"])
    if isinstance(value, dict) and "type" in value:
        return str(value["properties"].get("predicate") or value["type"])
    if value is None:
        return ""
    if isinstance(value, str) and _MIDNIGHT_UTC.match(value):
        return value[:10]
    if isinstance(value, list | dict):
        return json.dumps(value, default=str)
    return str(value)


def _cypher_literal(value: Any) -> str:
    """``value`` as a Cypher literal (for the Browser's ``:params`` line)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a double-quoted string with backslash escapes
    if isinstance(value, Mapping):
        items = ", ".join(f"{_map_key(k)}: {_cypher_literal(v)}" for k, v in value.items())
        return "{" + items + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_cypher_literal(v) for v in value) + "]"
    raise SavedQueryError(f"cannot write {value!r} as a Cypher literal")


def _map_key(key: str) -> str:
    return key if re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key) else f"`{key.replace('`', '``')}`"
