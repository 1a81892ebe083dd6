"""Saved queries and the Browser style, without a database: parsing, parameters, conversions."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from neo4j.time import DateTime

from graph.saved_queries import (
    ParamType,
    QueryParamError,
    SavedQueryError,
    UnknownQueryError,
    browser_style,
    caption,
    list_queries,
    load_query,
    parse_assignments,
    parse_query,
    query_names,
    to_plain,
)
from graph.schema import NodeLabel, RelType

EXPECTED = {"archived", "entity_neighbourhood", "entity_timeline", "fact_provenance", "overview"}

GOOD = """\
// name: demo
// description: A demo query
//   over two lines.
// param name: str - who
// param limit: int = 5 - how many
// param strict: bool = false
// param since: str = null - optional
// example: name=Ada Lovelace

MATCH (e:Entity) WHERE e.name = $name AND ($since IS NULL OR $strict)
RETURN e LIMIT toInteger($limit)
"""


def test_the_shipped_queries_load_and_each_has_a_description() -> None:
    assert set(query_names()) == EXPECTED
    for query in list_queries():
        assert query.description, query.name
        assert query.cypher.lstrip().upper().startswith(("MATCH", "CALL", "WITH"))


def test_shipped_queries_use_only_the_schema_vocabulary() -> None:
    labels = {str(label) for label in NodeLabel}
    types = {str(t) for t in RelType}
    for query in list_queries():
        for label in re.findall(r"\(\w*:(\w+)", query.cypher):
            assert label in labels, (query.name, label)
        for label in re.findall(r"\bn:(\w+)\b", query.cypher):
            assert label in labels, (query.name, label)
        for group in re.findall(r"\[\w*:([A-Z_|]+)", query.cypher):
            for rel in group.split("|"):
                assert rel in types, (query.name, rel)


def test_shipped_queries_never_write() -> None:
    for query in list_queries():
        assert not re.search(r"\b(CREATE|MERGE|DELETE|SET|REMOVE|DROP)\b", query.cypher), query.name


def test_parse_reads_header_params_defaults_and_example() -> None:
    query = parse_query(GOOD, "demo")
    assert query.description == "A demo query over two lines."
    assert [(p.name, p.type, p.required, p.default) for p in query.params] == [
        ("name", ParamType.STR, True, None),
        ("limit", ParamType.INT, False, 5),
        ("strict", ParamType.BOOL, False, False),
        ("since", ParamType.STR, False, None),
    ]
    assert query.params[0].description == "who"
    assert query.example == (("name", "Ada Lovelace"),)
    assert query.cypher.startswith("MATCH (e:Entity)")


def test_bind_converts_command_line_strings_and_fills_defaults() -> None:
    query = parse_query(GOOD, "demo")
    bound = query.bind({"name": "Ada", "limit": "7", "strict": "yes"})
    assert bound == {"name": "Ada", "limit": 7, "strict": True, "since": None}
    assert query.bind({"name": "Ada", "limit": 3.0})["limit"] == 3


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({}, "missing required parameter(s) name"),
        ({"name": "Ada", "colour": "red"}, "unknown parameter(s) colour"),
        ({"name": "Ada", "limit": "many"}, "parameter limit"),
        ({"name": "Ada", "limit": 2.5}, "whole number"),
        ({"name": "Ada", "strict": "maybe"}, "true or false"),
        ({"name": 42}, "expected text"),
    ],
)
def test_bind_rejects_bad_parameters(values: dict[str, object], message: str) -> None:
    with pytest.raises(QueryParamError, match=re.escape(message)):
        parse_query(GOOD, "demo").bind(values)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace("// name: demo", "// name: other"), "name line"),
        (GOOD.replace("// param limit: int = 5 - how many\n", ""), "differ from those declared"),
        (GOOD.replace(": int = 5", ": integer = 5"), "type must be one of"),
        (GOOD.replace(": int = 5", ": int = five"), "bad default"),
        (GOOD.replace("// example:", "// colour:"), "unreadable header line"),
        (GOOD.replace("name=Ada Lovelace", "nobody=1"), "unknown parameter"),
        ("// name: demo\n", "no Cypher"),
    ],
)
def test_parse_rejects_malformed_files(text: str, message: str) -> None:
    with pytest.raises(SavedQueryError, match=re.escape(message)):
        parse_query(text, "demo")


def test_unknown_query_names_the_ones_there_are() -> None:
    with pytest.raises(UnknownQueryError, match="entity_timeline"):
        load_query("no_such_query")
    with pytest.raises(UnknownQueryError):
        load_query("../schema")


def test_parse_assignments_splits_on_the_first_equals_sign() -> None:
    assert parse_assignments(["name=A=B", "limit=3"]) == {"name": "A=B", "limit": "3"}
    with pytest.raises(QueryParamError, match="key=value"):
        parse_assignments(["name"])
    with pytest.raises(QueryParamError, match="twice"):
        parse_assignments(["a=1", "a=2"])


def test_browser_commands_are_a_params_line_then_the_named_query() -> None:
    query = load_query("entity_neighbourhood")
    params, cypher = query.browser_commands({"name": 'Halvard "HR" Robotics'})
    assert params == ':params {name: "Halvard \\"HR\\" Robotics", limit: 25}'
    assert cypher.startswith("// hippograph: entity_neighbourhood\nMATCH")
    assert query.browser_text({"name": "x"}) == "\n\n".join(query.browser_commands({"name": "x"}))
    _, only = load_query("overview").browser_commands({})
    assert only.startswith("// hippograph: overview")


def test_every_example_binds() -> None:
    for query in list_queries():
        query.bind(dict(query.example))


def test_to_plain_and_caption_make_driver_values_readable() -> None:
    when = DateTime(2019, 3, 5, 0, 0, 0, tzinfo=UTC)
    assert to_plain(when) == "2019-03-05T00:00:00+00:00"
    assert caption(to_plain(when)) == "2019-03-05"
    assert to_plain([when, {"a": when}]) == [
        "2019-03-05T00:00:00+00:00",
        {"a": "2019-03-05T00:00:00+00:00"},
    ]
    assert caption(datetime(2020, 1, 1, 12, tzinfo=UTC).isoformat()).startswith("2020-01-01T12")
    node = {"labels": ["Fact"], "properties": {"predicate": "move to", "id": "f1"}}
    assert caption(node) == "move to"
    assert caption({"type": "SYNONYM", "properties": {"score": 0.9}}) == "SYNONYM"
    assert caption(None) == ""
    assert caption([1, 2]) == "[1, 2]"


def test_the_browser_style_captions_and_colours_every_label() -> None:
    grass = browser_style()
    rules = dict(re.findall(r"^([\w.]+) \{\n(.*?)^\}$", grass, flags=re.M | re.S))
    captions = {
        NodeLabel.ENTITY: "{name}",
        NodeLabel.FACT: "{predicate}",
        NodeLabel.PASSAGE: "{text}",
        NodeLabel.DOCUMENT: "{title}",
    }
    colours = set()
    for label, expected in captions.items():
        body = rules[f"node.{label}"]
        assert f'caption: "{expected}";' in body
        colours.add(re.search(r"\bcolor: (#[0-9A-F]{6});", body).group(1))  # type: ignore[union-attr]
    assert len(colours) == len(captions)
    assert 'caption: "{predicate}";' in rules["relationship.RELATES"]
    assert all(f"relationship.{t}" in rules for t in RelType)
    assert len(rules) == grass.count("\n}")
