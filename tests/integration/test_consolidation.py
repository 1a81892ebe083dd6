"""Consolidation against the real Neo4j: conflicts, merges, forgetting and source deletion.

Small hand-written dated documents (JSON Lines, so each has a timestamp) are ingested with the
real stages (spaCy extractor, MiniLM embedder), then consolidated.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from dagster import DagsterInstance, Definitions, materialize
from neo4j import Driver
from typer.testing import CliRunner

from dagster_project.consolidation import (
    consolidation_assets,
    consolidation_checks,
    consolidation_jobs,
    consolidation_schedules,
)
from dagster_project.resources import Neo4jResource, SettingsResource, VectorStoreResource
from graph import ingest as stages
from graph.consolidation import (
    ConsolidationOptions,
    consolidate,
    find_orphans,
    forget_source,
    restore,
    single_value_conflicts,
)
from graph.driver import resolve_password
from graph.reader import GraphReader
from graph.schema import ensure_schema
from pipelines.consolidation import DecayConfig, RetentionPolicy
from pipelines.embeddings import MiniLMEmbeddings
from pipelines.extraction.spacy_extractor import SpacyExtractor
from pipelines.settings import Settings, get_settings
from pipelines.vectorstore import VectorStore
from retrieval.cli import consolidate_cmd, ingest_cmd
from tests.conftest import IngestPaths

ROLE_2019 = (
    "role-2019",
    "2019-04-01",
    "In March 2019, Ana Lima became the CTO of Halvard Robotics.",
)
ROLE_2022 = ("role-2022", "2022-02-01", "In 2022, Daniel Osei became the CTO of Halvard Robotics.")
OTHER_CTO = ("other-cto", "2020-06-01", "In 2020, Marta Quill became the CTO of Zephyr Mills.")
MOVE_2021 = ("move-2021", "2021-03-01", "In 2021, Ana Lima moved to Berlin.")
MOVE_2023 = ("move-2023", "2023-05-01", "In 2023, Ana Lima moved to Lisbon.")
VISITS = (
    "visits",
    "2021-09-01",
    "Ana Lima visited Paris in 2020. Ana Lima visited Rome in 2021.",
)


class Ingestor:
    """Writes small dated documents as JSON Lines and ingests them with the real stages."""

    def __init__(
        self,
        driver: Driver,
        settings: Settings,
        folder: Path,
        extractor: SpacyExtractor,
        embedder: MiniLMEmbeddings,
    ) -> None:
        self.driver, self.settings, self.folder = driver, settings, folder
        self.extractor, self.embedder = extractor, embedder
        folder.mkdir(parents=True, exist_ok=True)

    def path(self, name: str) -> Path:
        return self.folder / f"{name}.jsonl"

    def __call__(self, *docs: tuple[str, str, str]) -> None:
        paths = []
        for doc_id, timestamp, text in docs:
            path = self.path(doc_id)
            record = {"id": doc_id, "text": text, "timestamp": timestamp}
            path.write_text(json.dumps(record) + "\n", encoding="utf-8")
            paths.append(path)
        ensure_schema(self.driver, self.settings.neo4j_database)
        stages.ingest(
            self.driver,
            self.settings,
            paths,
            extractor=self.extractor,
            embedder=self.embedder,
            store=VectorStore.open(self.settings.vector_dir),
        )


@pytest.fixture
def ingest(
    clean_graph: Driver,
    workdir: Settings,
    tmp_path: Path,
    extractor: SpacyExtractor,
    embedder: MiniLMEmbeddings,
) -> Ingestor:
    return Ingestor(clean_graph, workdir, tmp_path / "docs", extractor, embedder)


def facts(driver: Driver, db: str) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Every fact by (subject, predicate, object), with its times and replacement."""
    rows, _, _ = driver.execute_query(
        """
        MATCH (f:Fact)
        OPTIONAL MATCH (n:Fact)-[:SUPERSEDES]->(f)
        RETURN f.subject AS s, f.predicate AS p, f.object AS o, f.id AS id,
               f.valid_at AS valid_at, f.invalid_at AS invalid_at, f.expired_at AS expired_at,
               f.archived AS archived, COUNT { (:Passage)-[:STATES]->(f) } AS sources,
               n.object AS replaced_by_object, n.subject AS replaced_by_subject
        """,
        database_=db,
    )
    return {(r["s"], r["p"], r["o"]): dict(r) for r in rows}


def state(driver: Driver, db: str) -> dict[str, Any]:
    """What consolidation decided, independent of when it ran."""
    rows, _, _ = driver.execute_query(
        """
        MATCH (f:Fact)
        OPTIONAL MATCH (n:Fact)-[:SUPERSEDES]->(f)
        RETURN f.id AS id, toString(f.invalid_at) AS invalid_at, n.id AS newer ORDER BY id
        """,
        database_=db,
    )
    return {r["id"]: (r["invalid_at"], r["newer"]) for r in rows}


def year(value: Any) -> int:
    return int(value.year)


def test_role_change_supersedes_only_the_same_company(ingest: Ingestor) -> None:
    ingest(ROLE_2019, ROLE_2022, OTHER_CTO)
    db = ingest.settings.neo4j_database
    report = consolidate(ingest.driver, ingest.settings)
    found = facts(ingest.driver, db)
    ana = found[("Ana Lima", "become cto of", "Halvard Robotics")]
    daniel = found[("Daniel Osei", "become cto of", "Halvard Robotics")]
    marta = found[("Marta Quill", "become cto of", "Zephyr Mills")]
    assert report.facts_superseded == 1
    assert ana["replaced_by_subject"] == "Daniel Osei"
    assert year(ana["invalid_at"]) == 2022 and ana["expired_at"] is not None
    assert daniel["invalid_at"] is None and daniel["replaced_by_subject"] is None
    # Another company's CTO shares no endpoint: never compared, never retired.
    assert marta["invalid_at"] is None and marta["replaced_by_subject"] is None
    assert "be cto of" in report.single_valued_predicates
    assert single_value_conflicts(ingest.driver, db) == []
    # Nothing was deleted: history stays queryable.
    assert len(found) == 3


def test_move_supersedes_the_old_city_and_a_restatement_does_not(ingest: Ingestor) -> None:
    restated = ("lives", "2024-01-10", "Ana Lima lives in Lisbon.")
    ingest(MOVE_2021, MOVE_2023, restated)
    db = ingest.settings.neo4j_database
    consolidate(ingest.driver, ingest.settings)
    found = facts(ingest.driver, db)
    berlin = found[("Ana Lima", "move to", "Berlin")]
    lisbon = found[("Ana Lima", "move to", "Lisbon")]
    lives = found[("Ana Lima", "live in", "Lisbon")]
    assert berlin["replaced_by_object"] == "Lisbon" and year(berlin["invalid_at"]) == 2023
    assert lisbon["invalid_at"] is None, "the same value restated later supersedes nothing"
    assert lives["invalid_at"] is None
    assert single_value_conflicts(ingest.driver, db) == []


def test_repeated_statement_is_one_fact_with_two_sources(ingest: Ingestor) -> None:
    again = ("move-2021-again", "2021-06-01", "In 2021, Ana Lima moved to Berlin.")
    ingest(MOVE_2021, again)
    db = ingest.settings.neo4j_database
    report = consolidate(ingest.driver, ingest.settings)
    found = facts(ingest.driver, db)
    berlin = found[("Ana Lima", "move to", "Berlin")]
    assert len(found) == 1
    assert berlin["sources"] == 2
    assert berlin["invalid_at"] is None and report.facts_superseded == 0


def test_out_of_order_arrival_ends_in_the_same_state(ingest: Ingestor) -> None:
    db = ingest.settings.neo4j_database
    ingest(MOVE_2021)
    consolidate(ingest.driver, ingest.settings)
    ingest(MOVE_2023)
    consolidate(ingest.driver, ingest.settings)
    in_order = state(ingest.driver, db)

    ingest.driver.execute_query("MATCH (n) DETACH DELETE n", database_=db)
    ingest(MOVE_2023)
    consolidate(ingest.driver, ingest.settings)
    assert all(newer is None for _, newer in state(ingest.driver, db).values())
    ingest(MOVE_2021)  # the old document arrives late
    consolidate(ingest.driver, ingest.settings)
    assert state(ingest.driver, db) == in_order
    assert sum(1 for _, newer in in_order.values() if newer) == 1


def test_a_middle_value_arriving_late_is_relinked(ingest: Ingestor) -> None:
    db = ingest.settings.neo4j_database
    ingest(MOVE_2021, MOVE_2023)
    consolidate(ingest.driver, ingest.settings)
    ingest(("move-2022", "2022-04-01", "In 2022, Ana Lima moved to Porto."))
    report = consolidate(ingest.driver, ingest.settings)
    found = facts(ingest.driver, db)
    assert found[("Ana Lima", "move to", "Berlin")]["replaced_by_object"] == "Porto"
    assert year(found[("Ana Lima", "move to", "Berlin")]["invalid_at"]) == 2022
    assert found[("Ana Lima", "move to", "Porto")]["replaced_by_object"] == "Lisbon"
    assert found[("Ana Lima", "move to", "Lisbon")]["invalid_at"] is None
    assert report.facts_superseded == 2  # Berlin re-pointed, Porto new


def test_accumulating_predicate_keeps_every_value(ingest: Ingestor) -> None:
    ingest(VISITS)
    db = ingest.settings.neo4j_database
    report = consolidate(ingest.driver, ingest.settings)
    found = facts(ingest.driver, db)
    visits = {k: v for k, v in found.items() if k[1] == "visit"}
    assert {k[2] for k in visits} == {"Paris", "Rome"}
    assert all(v["invalid_at"] is None and v["replaced_by_object"] is None for v in visits.values())
    assert report.facts_superseded == 0


def test_second_consolidation_changes_nothing(ingest: Ingestor) -> None:
    ingest(ROLE_2019, ROLE_2022, MOVE_2021, MOVE_2023, VISITS)
    db = ingest.settings.neo4j_database
    first = consolidate(ingest.driver, ingest.settings)
    assert first.facts_superseded == 2
    before = state(ingest.driver, db)
    second = consolidate(ingest.driver, ingest.settings)
    assert second.changes == 0
    assert state(ingest.driver, db) == before


def test_archive_restore_and_retention(ingest: Ingestor) -> None:
    ingest(MOVE_2021, MOVE_2023, VISITS)
    db, driver = ingest.settings.neo4j_database, ingest.driver
    now = datetime.now(UTC)
    fresh = consolidate(driver, ingest.settings, now=now)
    assert fresh.facts_archived == 0 and fresh.passages_archived == 0

    later = now + timedelta(days=3 * 365)
    options = ConsolidationOptions(decay=DecayConfig(tau_days=30))
    aged = consolidate(driver, ingest.settings, options=options, now=later)
    found = facts(driver, db)
    lisbon = found[("Ana Lima", "move to", "Lisbon")]
    berlin = found[("Ana Lima", "move to", "Berlin")]
    paris = found[("Ana Lima", "visit", "Paris")]
    assert aged.facts_archived == len(found) - 1
    assert not lisbon["archived"], "the current value of a one-value predicate is kept"
    assert berlin["archived"] and paris["archived"]
    # Archived, not deleted: the default policy never deletes.
    much_later = later + timedelta(days=365)
    kept = consolidate(driver, ingest.settings, options=options, now=much_later)
    assert kept.facts_deleted == 0 and len(facts(driver, db)) == len(found)

    assert restore(driver, db, [paris["id"]], now=much_later) == [paris["id"]]
    assert restore(driver, db, [paris["id"]], now=much_later) == []  # already live
    again = consolidate(driver, ingest.settings, options=options, now=much_later)
    assert again.facts_archived == 0, "a restored fact counts as recalled"
    assert not facts(driver, db)[("Ana Lima", "visit", "Paris")]["archived"]

    policy = ConsolidationOptions(
        decay=DecayConfig(tau_days=30),
        retention=RetentionPolicy(delete_archived_after_days=180),
    )
    purge = consolidate(driver, ingest.settings, options=policy, now=much_later)
    left = facts(driver, db)
    assert purge.facts_deleted >= 1
    assert ("Ana Lima", "move to", "Berlin") not in left
    assert ("Ana Lima", "move to", "Lisbon") in left
    assert ("Ana Lima", "visit", "Paris") in left, "restored recently: not deleted"
    assert find_orphans(driver, db).clean


def test_forget_source_leaves_no_orphan_and_no_vector(
    ingest: Ingestor, embedder: MiniLMEmbeddings
) -> None:
    ingest(MOVE_2021, MOVE_2023, VISITS)
    db, driver, settings = ingest.settings.neo4j_database, ingest.driver, ingest.settings
    consolidate(driver, settings)
    assert facts(driver, db)[("Ana Lima", "move to", "Berlin")]["replaced_by_object"] == "Lisbon"

    assert forget_source(driver, db, "no-such-source").documents == ()
    result = forget_source(driver, db, "move-2023")
    assert result.documents == ("move-2023",)
    assert result.passages == 1 and result.facts == 1 and result.entities >= 1
    found = facts(driver, db)
    assert ("Ana Lima", "move to", "Lisbon") not in found
    # What the deleted fact had superseded holds again.
    assert found[("Ana Lima", "move to", "Berlin")]["invalid_at"] is None
    assert result.facts_unsuperseded == 1
    names, _, _ = driver.execute_query("MATCH (e:Entity) RETURN e.name AS n", database_=db)
    assert "Lisbon" not in {r["n"] for r in names}
    assert find_orphans(driver, db).clean

    # By source path: every document of the file goes.
    rows, _, _ = driver.execute_query(
        "MATCH (d:Document {id: 'visits'}) RETURN d.source AS source", database_=db
    )
    assert rows[0]["source"].endswith("visits.jsonl:1")
    by_path = forget_source(driver, db, rows[0]["source"].removesuffix(":1"))
    assert by_path.documents == ("visits",)
    assert find_orphans(driver, db).clean

    stages.vector_stage(driver, settings, embedder, VectorStore.open(settings.vector_dir))
    store = VectorStore.open(settings.vector_dir)
    reader = GraphReader(driver, db)
    for kind in ("passage", "entity", "fact"):
        assert set(store.collection(kind).ids()) == reader.ids(kind)
    assert reader.counts().documents == 1


def test_forget_source_keeps_facts_another_source_states(ingest: Ingestor) -> None:
    again = ("move-2021-again", "2021-06-01", "In 2021, Ana Lima moved to Berlin.")
    ingest(MOVE_2021, again)
    db = ingest.settings.neo4j_database
    store = VectorStore.open(ingest.settings.vector_dir)
    result = forget_source(ingest.driver, db, "move-2021", store=store, settings=ingest.settings)
    assert result.facts == 0 and result.entities == 0
    assert result.vectors_removed == 1  # the passage's vector
    assert facts(ingest.driver, db)[("Ana Lima", "move to", "Berlin")]["sources"] == 1
    assert find_orphans(ingest.driver, db).clean


def test_confident_synonyms_merge_keeping_aliases_and_relationships(ingest: Ingestor) -> None:
    ingest(
        ("a", "2020-01-01", "Halvard Robotics moved to Berlin in 2018."),
        ("b", "2024-01-01", "Halvard Robotics Inc moved to Copenhagen in 2023."),
    )
    db, driver = ingest.settings.neo4j_database, ingest.driver
    ids, _, _ = driver.execute_query(
        "MATCH (e:Entity) WHERE e.canonical STARTS WITH 'halvard' "
        "RETURN e.canonical AS c, e.id AS id",
        database_=db,
    )
    by_name = {r["c"]: r["id"] for r in ids}
    assert set(by_name) == {"halvard robotics", "halvard robotics inc"}
    # A confident synonym edge plus name evidence; a confident edge without it is left alone.
    driver.execute_query(
        "MATCH (a:Entity {id: $a}), (b:Entity {id: $b}) MERGE (a)-[:SYNONYM {score: 0.97}]->(b)",
        a=by_name["halvard robotics"],
        b=by_name["halvard robotics inc"],
        database_=db,
    )
    driver.execute_query(
        "MATCH (a:Entity {canonical: 'berlin'}), (b:Entity {canonical: 'copenhagen'}) "
        "MERGE (a)-[:SYNONYM {score: 0.97}]->(b)",
        database_=db,
    )
    report = consolidate(driver, ingest.settings)
    assert report.entities_merged == 1
    rows, _, _ = driver.execute_query(
        "MATCH (e:Entity) WHERE e.canonical STARTS WITH 'halvard' "
        "RETURN e.id AS id, e.aliases AS aliases, e.merged_ids AS merged, "
        "COUNT { (e)<-[:SUBJECT]-(:Fact) } AS facts, COUNT { (e)-[:RELATES]->() } AS rel, "
        "COUNT { (e)<-[:MENTIONS]-() } AS mentions",
        database_=db,
    )
    assert len(rows) == 1
    kept = rows[0]
    assert kept["id"] == by_name["halvard robotics"]  # equally connected: the shorter name
    assert {"Halvard Robotics", "Halvard Robotics Inc"} <= set(kept["aliases"])
    assert kept["merged"] == [by_name["halvard robotics inc"]]
    assert kept["facts"] == 2 and kept["rel"] == 2 and kept["mentions"] == 2
    # With one subject, the two moves now conflict and the newer wins.
    found = facts(driver, db)
    assert found[("Halvard Robotics", "move to", "Berlin")]["replaced_by_object"] == "Copenhagen"
    assert find_orphans(driver, db).clean
    assert consolidate(driver, ingest.settings).changes == 0


def test_consolidation_job_materialises_with_passing_checks(
    ingest: Ingestor, neo4j_settings: Settings
) -> None:
    ingest(ROLE_2019, ROLE_2022, MOVE_2021, MOVE_2023)
    settings = SettingsResource(data_dir=str(ingest.settings.data_dir))
    resources = {
        "neo4j": Neo4jResource(
            settings=settings,
            uri=neo4j_settings.bolt_uri,
            user=neo4j_settings.neo4j_user,
            password=resolve_password(neo4j_settings),
        ),
        "vector_store": VectorStoreResource(settings=settings),
    }
    defs = Definitions(
        assets=consolidation_assets,
        asset_checks=consolidation_checks,
        jobs=consolidation_jobs,
        schedules=consolidation_schedules,
        resources=resources,
    )
    job = defs.resolve_job_def("consolidation_job")
    with DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(instance=instance)
        assert result.success
        meta = result.asset_materializations_for_node("consolidated_graph")[0].metadata
        assert meta["facts_superseded"].value == 2
        checks = result.get_asset_check_evaluations()
        assert {c.check_name for c in checks} == {
            "one_current_value_per_single_valued_predicate",
            "no_orphans",
        }
        assert all(c.passed for c in checks)
        again = materialize(
            [*consolidation_assets, *consolidation_checks], instance=instance, resources=resources
        )
    meta = again.asset_materializations_for_node("consolidated_graph")[0].metadata
    assert meta["facts_superseded"].value == 0
    assert defs.resolve_schedule_def("nightly_consolidation_schedule").cron_schedule == "0 3 * * *"


@pytest.fixture
def cli(
    clean_graph: Driver, neo4j_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[typer.Typer]:
    """The consolidation commands (plus ingest) on a private app, pointed at the test server."""
    monkeypatch.setenv("HIPPOGRAPH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NEO4J_URI", neo4j_settings.bolt_uri)
    monkeypatch.setenv("NEO4J_PASSWORD", resolve_password(neo4j_settings))
    get_settings.cache_clear()
    app = typer.Typer()
    app.command()(ingest_cmd.ingest)
    app.command()(consolidate_cmd.consolidate)
    app.command()(consolidate_cmd.forget)
    app.command()(consolidate_cmd.restore)
    yield app
    get_settings.cache_clear()


def test_cli_consolidate_forget_and_restore(cli: typer.Typer, tmp_path: Path) -> None:
    source = tmp_path / "moves.jsonl"
    source.write_text(
        "\n".join(
            json.dumps({"id": d, "timestamp": t, "text": x}) for d, t, x in (MOVE_2021, MOVE_2023)
        )
        + "\n",
        encoding="utf-8",
    )

    def run(*args: str) -> tuple[int, Any]:
        result = CliRunner().invoke(cli, list(args))
        try:
            return result.exit_code, json.loads(result.output)
        except json.JSONDecodeError:
            return result.exit_code, result.output

    code, _ = run("ingest", str(source), "--json")
    assert code == 0
    code, dry = run("consolidate", "--dry-run", "--json")
    assert code == 0 and dry["dry_run"] and dry["facts_superseded"] == 1
    code, report = run("consolidate", "--json")
    assert code == 0 and report["facts_superseded"] == 1
    code, report = run("consolidate", "--json")
    assert code == 0 and report["changes"] == 0

    code, out = run("restore", "--id", "fact:unknown", "--json")
    assert code == 1 and out["restored"] == []
    code, out = run("forget", "--source", "no-such-source")
    assert code == 1 and "no document" in str(out)
    code, out = run("forget", "--source", str(source), "--json")
    assert code == 0, out
    assert sorted(out["documents"]) == ["move-2021", "move-2023"]
    assert out["no_orphans"] and out["facts"] == 2
    assert out["vectors_removed"] >= 4  # two passages, two facts, entities


SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


def _ingest_sample(
    driver: Driver, settings: Settings, files: list[Path], ingest_paths: IngestPaths
) -> None:
    driver.execute_query("MATCH (n) DETACH DELETE n", database_=settings.neo4j_database)
    for path in files:  # one file at a time: the arrival order is the test's
        ingest_paths(settings, [path])


def test_sample_cto_chain_ends_with_one_current_cto_in_any_arrival_order(
    clean_graph: Driver, workdir: Settings, ingest_paths: IngestPaths
) -> None:
    """Lena Marsh (the first CTO, undated) -> Priya Nandakumar (2019, also "named as its CTO")
    -> Daniel Osei (2022, "remains the CTO" in 2024): exactly one current CTO."""
    db = workdir.neo4j_database
    files = sorted(p for p in SAMPLE.iterdir() if p.is_file())
    states: list[dict[str, tuple[datetime | None, str | None]]] = []
    for order, run in ((files, "forward"), (files[::-1], "reverse")):
        settings = workdir.model_copy(update={"data_dir": workdir.data_dir / run})
        _ingest_sample(clean_graph, settings, order, ingest_paths)
        report = consolidate(clean_graph, settings, options=ConsolidationOptions(forget=False))
        assert report.facts_superseded >= 10
        rows, _, _ = clean_graph.execute_query(
            """
            MATCH (f:Fact)-[:OBJECT]->(:Entity {canonical: 'halvard robotics'})
            WHERE f.predicate IN $cto
            RETURN f.subject AS subject, f.predicate AS predicate, f.superseded_by AS newer,
                   f.invalid_at AS invalid_at
            """,
            cto=["be first cto of", "become cto of", "be cto of", "remain cto of"],
            database_=db,
        )
        current = {r["subject"] for r in rows if r["newer"] is None}
        assert current == {"Daniel Osei"}, rows
        found = facts(clean_graph, db)
        lena = found[("Lena Marsh", "be first cto of", "Halvard Robotics")]
        assert lena["replaced_by_subject"] == "Priya Nandakumar"
        assert lena["invalid_at"].to_native() == datetime(2019, 3, 5, tzinfo=UTC)
        priya = found[("Priya Nandakumar", "become cto of", "Halvard Robotics")]
        assert priya["replaced_by_subject"] == "Daniel Osei"
        assert year(priya["invalid_at"]) == 2022
        # The appointment phrasings are read as the role, and the COO chain resolves too.
        hugo = found[("Hugo Lindqvist", "become chief operating officer of", "Halvard Robotics")]
        assert hugo["replaced_by_subject"] is None
        sofia = found[("Sofia Reyes", "become chief operating officer of", "Halvard Robotics")]
        assert sofia["replaced_by_subject"] == "Hugo Lindqvist"
        # Stepping down is history at its own date and replaces nobody.
        tomas = found[("Tomas Varga", "be former ceo of", "Halvard Robotics")]
        assert tomas["invalid_at"] is not None and tomas["replaced_by_subject"] is None
        assert tomas["id"] not in {newer for _, newer in state(clean_graph, db).values()}
        cto = [c for c in single_value_conflicts(clean_graph, db) if c[0] == "be cto of"]
        assert cto == []
        states.append(_decisions(clean_graph, db))
    assert states[0] == states[1]


def _decisions(driver: Driver, db: str) -> dict[str, tuple[datetime | None, str | None]]:
    """Each fact's end (as an instant: the stored zone form may differ) and replacement."""
    rows, _, _ = driver.execute_query(
        "MATCH (f:Fact) RETURN f.id AS id, f.invalid_at AS invalid_at, f.superseded_by AS newer",
        database_=db,
    )
    return {
        r["id"]: (
            r["invalid_at"].to_native().astimezone(UTC) if r["invalid_at"] else None,
            r["newer"],
        )
        for r in rows
    }


def test_appointment_phrasings_supersede_through_their_variants(ingest: Ingestor) -> None:
    ingest(
        ("named", "2019-03-06", "Acme Robotics named Ana Lima as its CTO yesterday."),
        (
            "joined",
            "2021-02-01",
            "In January 2021, Bo Chen joined Acme Robotics as chief technology officer.",
        ),
        ("former", "2022-05-01", "Ana Lima, the former CTO of Acme Robotics, founded Beta Labs."),
        ("remains", "2024-03-12", "Bo Chen remains the CTO of Acme Robotics."),
    )
    db = ingest.settings.neo4j_database
    report = consolidate(ingest.driver, ingest.settings, options=ConsolidationOptions(forget=False))
    found = facts(ingest.driver, db)
    ana = found[("Ana Lima", "become cto of", "Acme Robotics")]
    assert ana["replaced_by_subject"] == "Bo Chen" and year(ana["invalid_at"]) == 2021
    bo = found[("Bo Chen", "become chief technology officer of", "Acme Robotics")]
    assert bo["replaced_by_subject"] is None
    was = found[("Ana Lima", "be former cto of", "Acme Robotics")]
    assert was["replaced_by_subject"] is None and year(was["invalid_at"]) == 2022
    assert report.facts_superseded == 1
    assert single_value_conflicts(ingest.driver, db) == []
