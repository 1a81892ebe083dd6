"""A person's view, in headless Chromium: the Neo4j Browser shows a saved query's graph in the
project's style, and the Dagster UI shows hippograph's asset graph.

The Browser is used as the README says: log in with user ``neo4j`` and the password, run
``:style`` with the contents of ``graph/browser/hippograph.grass`` pasted after it, then run
what ``hippograph explore NAME --param ... --cypher`` prints: its ``:params`` line, then the query.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import TimeoutError as PlaywrightTimeout

from graph.saved_queries import browser_style, load_query

ENTITY = "Halvard Robotics"
ENTITY_COLOUR = "#4C8EDA"  # node.Entity in hippograph.grass
ASSETS = ("documents", "extracted_facts", "faiss_index", "entity_synonyms")

EDITOR = "#monaco-main-editor"
RUN = '[data-testid="editor-Run"]'
FRAME = '[data-testid="frame"]'


def _paste_and_run(page: Any, text: str) -> None:
    """Put ``text`` into the main editor through the clipboard (as a person pastes) and run it."""
    frames_before = page.locator(FRAME).count()
    page.click(EDITOR)
    page.keyboard.press("Control+A")
    page.keyboard.press("Backspace")
    page.evaluate("text => navigator.clipboard.writeText(text)", text)
    page.keyboard.press("Control+V")
    page.click(RUN)
    page.wait_for_function(
        "([sel, n]) => document.querySelectorAll(sel).length > n", arg=[FRAME, frames_before]
    )


def test_neo4j_browser_shows_an_entity_neighbourhood_in_the_project_style(
    sample_graph: Any, browser_page: Any, artifacts: Path
) -> None:
    page = browser_page
    settings = sample_graph.settings
    t0 = time.monotonic()
    page.goto(settings.browser_url)

    # Log in: the connect URL comes pre-filled from the server; user and password as documented.
    page.wait_for_selector('input[data-testid="boltaddress"]')
    assert page.input_value('input[data-testid="boltaddress"]').endswith(
        f":{settings.neo4j_bolt_port}"
    )
    page.fill('input[data-testid="username"]', settings.neo4j_user)
    page.fill('input[data-testid="password"]', sample_graph.password)
    page.click('button[data-testid="connect"]')
    page.get_by_text("You are connected as user").first.wait_for()
    login_s = time.monotonic() - t0

    # The documented style step: `:style ` followed by the file's contents.
    _paste_and_run(page, ":style " + browser_style())
    page.locator(FRAME).first.locator("pre", has_text="node.Entity").wait_for()

    # One saved query, pasted as `hippograph explore ... --cypher` prints it.
    query = load_query("entity_neighbourhood")
    for command in query.browser_commands({"name": ENTITY, "limit": 20}):
        _paste_and_run(page, command)
    frame = page.locator(FRAME).first
    frame.locator("svg g.node").nth(5).wait_for()
    # The force layout settles, then the graph is fitted to the frame.
    page.wait_for_timeout(2500)

    captions = frame.locator("svg g.node").all_text_contents()
    assert any(ENTITY.split()[0] in c for c in captions), captions
    assert len(captions) >= 6, captions
    fills = {
        (page.evaluate("el => el.getAttribute('fill')", circle) or "").upper()
        for circle in frame.locator("svg g.node circle.b-outline").element_handles()
    }
    assert ENTITY_COLOUR in fills, f"the style was not applied: node fills {fills}"
    rel_captions = " ".join(frame.locator("svg g.relationship").all_text_contents())
    assert "SYNONYM" in rel_captions or len(rel_captions) > 0

    shot = artifacts / "neo4j-browser-entity-neighbourhood.png"
    frame.screenshot(path=str(shot))
    assert shot.stat().st_size > 20_000
    print(f"neo4j browser: login {login_s:.1f} s, total {time.monotonic() - t0:.1f} s -> {shot}")


def test_dagster_ui_lists_hippograph_assets(
    dagster_ui: Any, browser_page: Any, artifacts: Path
) -> None:
    page = browser_page
    t0 = time.monotonic()
    # The ingestion group of the code location that `-m dagster_project` loads as.
    page.goto(f"{dagster_ui.url}/locations/dagster_project/asset-groups/ingestion")
    # A first visit may greet with a community dialog; dismiss it as a person would.
    skip = page.get_by_role("button", name="Skip")
    with contextlib.suppress(PlaywrightTimeout):  # no dialog this time
        skip.wait_for(timeout=5_000)
        skip.click()
    for name in ASSETS:
        page.get_by_text(name, exact=True).last.wait_for()
    page.get_by_text("Materialize", exact=False).first.wait_for()
    # Let the nodes' partition and check rows finish loading before the picture.
    page.wait_for_function("() => !document.body.innerText.includes('Loading')", timeout=15_000)
    page.wait_for_timeout(500)

    shot = artifacts / "dagster-asset-graph.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 20_000
    body = page.inner_text("body")
    missing = [a for a in ASSETS if a not in body]
    assert not missing, f"asset graph lacks {missing}"
    print(
        f"dagster ui: webserver up in {dagster_ui.start_s:.1f} s, "
        f"page {time.monotonic() - t0:.1f} s -> {shot}"
    )
