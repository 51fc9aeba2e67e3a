# The two set-up commands of the README: `make demo` and `make test`.
# Each creates .venv if it is missing and installs the project into it: `make demo` only
# the agent and what it runs on (`pip install -e .`), so that it shows something as soon as
# pip allows; `make test` also the test tools (the `test` extra: pytest, hypothesis,
# kubernetes-validate, ruff, mypy).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check
RUNTIME := $(VENV)/.installed-runtime
TOOLS   := $(VENV)/.installed-test

.PHONY: demo test lint typecheck unit bench clean image

$(RUNTIME): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) -e .
	touch $(RUNTIME)

$(TOOLS): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) -e '.[test]'
	touch $(RUNTIME) $(TOOLS)

# The demo: the agent applies sample-repo as local processes (the bundle's worker, then its
# verify workflow once the worker runs, and the report writer), shows the two workers' logs,
# then a second cycle finds nothing to change and stops the processes and the supervisor.
# The report writer's database password is a demo-only value given the way the local target
# takes secrets.
demo: $(RUNTIME)
	@export GITOPS_AGENT_SECRET_REPORT_DB_PASSWORD=demo-only; \
	$(BIN)/gitops-agent run --once --keep-running sample-repo && \
	$(BIN)/gitops-agent log -t worker -n sleep-worker --tail 1 --config sample-repo/gitops-agent.yaml && \
	$(BIN)/gitops-agent log -t worker -n report-writer --tail 1 --config sample-repo/gitops-agent.yaml && \
	$(BIN)/gitops-agent run --once sample-repo

lint: $(TOOLS)
	$(BIN)/ruff check gitops_agent tests bench
	$(BIN)/ruff format --check gitops_agent tests bench

typecheck: $(TOOLS)
	$(BIN)/mypy

unit: $(TOOLS)
	$(BIN)/python -m pytest -q

test: lint typecheck unit

bench: $(TOOLS)
	for script in bench/*_bench.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info

# The container image (deploy/Dockerfile), with docker or podman: make image [IMAGE=...]
IMAGE     ?= gitops-agent:0.1.0
CONTAINER ?= docker
image:
	$(CONTAINER) build -f deploy/Dockerfile -t $(IMAGE) .
