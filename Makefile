# Every target bootstraps what it needs: a fresh clone runs `make demo` or `make test` directly.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DVC_ENV := .tools/dvc
S3_ENV := .tools/s3

export DAGSTER_HOME := $(CURDIR)/.dagster_home
# Cache compiled modules: Dagster and GX take seconds to import from source every time.
unexport PYTHONDONTWRITEBYTECODE
export TRAINSET_DVC := $(CURDIR)/$(DVC_ENV)/bin/dvc
export TRAINSET_TEST_S3_SERVER := $(CURDIR)/$(S3_ENV)/bin/moto_server
KEY_FILE := $(HOME)/.config/trainset/pseudonym.key
# The demo's pseudonymisation key lives outside the repository; a key already in the
# environment wins.
ifeq ($(TRAINSET_PSEUDONYM_KEY),)
export TRAINSET_PSEUDONYM_KEY_FILE ?= $(KEY_FILE)
endif

.PHONY: setup demo demo-labeling demo-partner demo-distributed deploy-local deploy-stop test lint ui check-defs schemas clean bench-pipeline bench-scale bench-scale-celery bench-redaction eval-redaction chaos chaos-distributed

# Installed with their bytecode compiled: uv does not compile it by default, and where
# PYTHONDONTWRITEBYTECODE is set (many images set it) every process, each Dagster run and each DVC
# call, would compile Dagster, GX and DVC from source again (about 14 s of imports instead of 5 s).
$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check uv==0.13.8
	$(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python -e '.[dev]'
	touch $@

$(DVC_ENV)/.installed: tools/requirements-dvc.txt | $(BIN)/.installed
	$(PYTHON) -m venv $(DVC_ENV)
	$(BIN)/uv pip install -q --compile-bytecode --python $(DVC_ENV)/bin/python -r tools/requirements-dvc.txt
	ln -sf $(CURDIR)/$(DVC_ENV)/bin/dvc $(BIN)/dvc
	touch $@

$(S3_ENV)/.installed: tools/requirements-s3.txt | $(BIN)/.installed
	$(PYTHON) -m venv $(S3_ENV)
	$(BIN)/uv pip install -q --compile-bytecode --python $(S3_ENV)/bin/python -r tools/requirements-s3.txt
	touch $@

setup: $(BIN)/.installed $(DVC_ENV)/.installed
	@mkdir -p $(DAGSTER_HOME)
	@test -f $(DAGSTER_HOME)/dagster.yaml || printf 'telemetry:\n  enabled: false\n' > $(DAGSTER_HOME)/dagster.yaml

# The demo's second dataset is drafted by `trainset init` from this one export file.
HELP_DESK_EXPORT := data/exports/help_desk.csv

## demo: generate tickets, materialize every asset of ticket_triage, release a version; then draft
## help_desk from a single help-desk export with `trainset init`, run it and release it; then
## simulate a 2-week feedback pilot of a model trained on ticket_triage, ingest it and report it
demo: setup
	$(BIN)/trainset keygen --path $(KEY_FILE)
	$(BIN)/trainset generate
	$(BIN)/trainset run ticket_triage
	$(BIN)/python -m pipelines.synthetic.help_desk --out $(HELP_DESK_EXPORT)
	$(BIN)/trainset init help_desk --from $(HELP_DESK_EXPORT) --force
	$(BIN)/trainset run help_desk
	$(BIN)/python -m pipelines.synthetic.feedback_demo ticket_triage
	$(BIN)/trainset feedback ingest ticket_triage
	$(BIN)/trainset feedback report ticket_triage
	$(BIN)/trainset versions ticket_triage
	$(BIN)/trainset versions help_desk
	@echo
	@echo "Releases are in datasets/ticket_triage/ and datasets/help_desk/ (git tags <name>@vN); the DVC remote:"
	@$(TRAINSET_DVC) remote list
	@echo "help_desk was drafted from one export: read reports/help_desk/data_brief.md and pipelines/defs/help_desk/defs.yaml"
	@echo "The 2-week feedback pilot of model v1: data/feedback/ticket_triage/report/ (report.html, postmortem.md)"
	@echo "Fetch one elsewhere:  $(BIN)/trainset pull ticket_triage@v1 -o /tmp/ticket_triage_v1"
	@echo "Open the Dagster UI:  make ui   (then http://127.0.0.1:3000)"

## demo-labeling: the labeling loop on a backlog a third uncategorised: a failing coverage gate ->
## a plan and budget -> the pilot's tasks -> two annotators' Label Studio export imported ->
## adjudicated labels -> a version whose gate passes, with label provenance and agreement per batch
demo-labeling: setup
	$(BIN)/trainset keygen --path $(KEY_FILE)
	$(BIN)/python -m pipelines.synthetic.labeling_demo prepare
	-$(BIN)/trainset run triage_backlog
	$(BIN)/trainset plan-labeling triage_backlog
	$(BIN)/python -m pipelines.synthetic.labeling_demo annotate
	for f in data/labeling/triage_backlog/exports/*.json; do $(BIN)/trainset import-labels triage_backlog $$f || exit 1; done
	$(BIN)/trainset run triage_backlog
	$(BIN)/trainset adjudicate triage_backlog
	$(BIN)/trainset versions triage_backlog
	@echo "The plan: data/labeling/triage_backlog/plans/; the card: datasets/triage_backlog/v1/DATASET_CARD.md"

## demo-partner: partner data due diligence: our tickets too few on Account -> two partners'
## deliveries assessed (one closes the gap under terms allowing training, one is denied training)
## -> the steward signs the drafts -> a version with the approved partner's rows and terms
demo-partner: setup
	$(BIN)/trainset keygen --path $(KEY_FILE)
	$(BIN)/python -m pipelines.synthetic.partner_demo prepare
	-$(BIN)/trainset run triage_partners
	$(BIN)/trainset assess-partner triage_partners --source northwind --sample data/landing/partners/northwind/northwind-delivery-1.csv --price 40
	$(BIN)/trainset assess-partner triage_partners --source globex --sample data/landing/partners/globex/globex-sample.jsonl
	$(BIN)/python -m pipelines.synthetic.partner_demo sign
	$(BIN)/trainset run triage_partners
	$(BIN)/trainset versions triage_partners
	@echo "The assessments: reports/triage_partners/partners/; the decisions: decisions/triage_partners/; the card: datasets/triage_partners/v1/DATASET_CARD.md"

## deploy-local: the production-shaped deployment on this machine: Dagster on PostgreSQL (runs,
## event log, schedules), the run queue with a pool per dataset, its daemon and webserver
## (http://127.0.0.1:3070), and two Celery workers on the RabbitMQ broker
deploy-local: setup
	$(BIN)/trainset deploy start

## deploy-stop: stop every process deploy-local started
deploy-stop: setup
	$(BIN)/trainset deploy stop

## demo-distributed: the demo's tickets backfilled through the deployment: ingest once, redaction
## in batches of days spread over the two workers, then the gates and the release; stops the
## deployment afterwards
demo-distributed: setup
	$(BIN)/trainset keygen --path $(KEY_FILE)
	$(BIN)/trainset generate
	$(BIN)/trainset deploy start
	$(BIN)/trainset backfill ticket_triage; status=$$?; $(BIN)/trainset deploy stop; exit $$status

## test: the whole suite
test: setup $(S3_ENV)/.installed
	$(BIN)/pytest -n 2 --dist loadfile

lint: setup
	$(BIN)/ruff check pipelines tests tools benchmarks
	$(BIN)/ruff format --check pipelines tests tools benchmarks
	$(BIN)/mypy pipelines tools benchmarks

check-defs: setup
	cd $(CURDIR) && $(BIN)/dg check defs

## schemas: regenerate the committed JSON Schema of manifest.json from its model (a test fails when it is stale)
schemas: setup
	$(BIN)/python -m pipelines.lib.reports > schemas/manifest.schema.json

ui: setup
	$(BIN)/dg dev --host 127.0.0.1 --port 3000

# reports/ holds the latest release's committed gate reports; a run's own are under data/
clean:
	rm -rf data .dagster_home .deploy

## bench-pipeline: 1M generated tickets through the whole graph; prints time and peak memory
bench-pipeline: setup
	$(BIN)/python benchmarks/bench_pipeline.py --rows $(or $(ROWS),1000000)

## bench-scale: 1M, 3M and 10M generated tickets end to end, then one new day on top of each: wall time and
## peak RSS per stage, and a linear fit against rows (SCALES="1000000 3000000" to choose; MAX_RSS_MB to cap)
bench-scale: setup
	$(BIN)/python benchmarks/bench_scale.py --scales $(or $(SCALES),1000000 3000000 10000000) $(if $(MAX_RSS_MB),--max-rss-mb $(MAX_RSS_MB))

## bench-scale-celery: the same 18 months and one new day (ROWS tickets, default 1M) backfilled through a
## deployment of its own (a PostgreSQL database and a RabbitMQ virtual host, two Celery workers, a free
## port): wall and CPU seconds per stage and per step, the runs, the steps per worker and the peak RSS
## of the deployment's processes; stops it and drops its database and virtual host afterwards
bench-scale-celery: setup
	$(BIN)/python benchmarks/bench_scale_celery.py --rows $(or $(ROWS),1000000)

## eval-redaction: precision, recall and look-alikes kept per PII type on the project's own set, a set
## Faker wrote and the field cases, beside the targets; exits 1 when one is not met
eval-redaction: setup
	$(BIN)/python benchmarks/eval_redaction.py

$(BIN)/.bench-installed: pyproject.toml | $(BIN)/.installed
	$(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python -e '.[dev,bench]'
	touch $@

## bench-redaction: MB/s, texts/s and recall of trainset vs Presidio vs a Python re loop
bench-redaction: setup $(BIN)/.bench-installed
	$(BIN)/python benchmarks/bench_redaction.py

## chaos: the pipeline under every fault (bad rows, bad files, SIGKILL during the release, two
## runs at once); prints fault, outcome and rows lost; exits 1 if a row is lost or a fault is mishandled
## Then a run on the deployment under a killed Celery worker, a restarted broker and a restarted
## PostgreSQL (this restarts the machine's RabbitMQ and PostgreSQL: not while tests run);
## `make chaos-distributed` runs those alone
chaos: setup
	$(BIN)/python tools/chaos.py $(if $(ROWS),--rows $(ROWS))
	$(BIN)/python tools/chaos_distributed.py

chaos-distributed: setup
	$(BIN)/python tools/chaos_distributed.py
