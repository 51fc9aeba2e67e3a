# The two set-up commands of the README: `make demo` and `make test`.
# Each creates .venv if it is missing and installs the project into it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck unit bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# The demo: the agent applies sample-repo as local processes (the bundle's worker, then its
# verify workflow once the worker runs), shows the worker's log, then a second cycle finds
# nothing to change and stops the processes. The report writer's database password is a
# demo-only value given the way the local target takes secrets.
demo: $(STAMP)
	@export GITOPS_AGENT_SECRET_REPORT_DB_PASSWORD=demo-only; \
	$(BIN)/gitops-agent run --once --keep-running sample-repo && \
	$(BIN)/gitops-agent log -t worker -n sleep-worker --tail 3 --config sample-repo/gitops-agent.yaml && \
	$(BIN)/gitops-agent run --once sample-repo


lint: $(STAMP)
	$(BIN)/ruff check gitops_agent tests bench
	$(BIN)/ruff format --check gitops_agent tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest -q

test: lint typecheck unit

bench: $(STAMP)
	for script in bench/*_bench.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info
