# dhome — the two commands a user needs are `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
MATTER_VENV := .venv-matter
HA_VENV := .venv-ha
PY_SYS := $(shell scripts/find-python)

.PHONY: install compiled run test test-fast lint bench system-deps matter-server homeassistant clean schemas docs

install: $(VENV)/.installed system-deps compiled

# Re-install only when the project metadata changed (idempotent and fast otherwise).
$(VENV)/.installed: pyproject.toml
	@test -n "$(PY_SYS)" || { echo "no Python >= 3.12 found" >&2; exit 1; }
	@test -x $(BIN)/python || $(PY_SYS) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $@

# The per-message path compiled with mypyc into the venv (tools/compiled/build.py, ~1-2 min):
# rebuilt when its sources changed, a no-op otherwise; without a C compiler the install goes
# on with the pure-Python modules (it says so). DHOME_PURE_PYTHON=1 runs the pure ones anyway.
compiled: $(VENV)/.installed system-deps
	@$(BIN)/python tools/compiled/build.py

# Services the integration tests talk to for real: Mosquitto (apt) and python-matter-server (own venv).
system-deps:
	@scripts/ensure-system-deps

matter-server: $(MATTER_VENV)/.installed
$(MATTER_VENV)/.installed: scripts/ensure-matter-server
	@scripts/ensure-matter-server $(PY_SYS) $(MATTER_VENV)
	@touch $@

# Home Assistant Core for the two-way integration tests (own venv, Python >= 3.13, frozen pins).
homeassistant: $(HA_VENV)/.installed
$(HA_VENV)/.installed: scripts/ensure-homeassistant scripts/homeassistant-requirements.txt
	@scripts/ensure-homeassistant $(HA_VENV)
	@touch $@

run: install
	$(BIN)/dhome run --demo

lint: $(VENV)/.installed system-deps  # not the compiled build: linting needs no C compile
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# axe-core for the accessibility checks of the resident web app (pinned by package-lock.json)
tests/webapp/node_modules/.package-lock.json: tests/webapp/package-lock.json
	cd tests/webapp && npm ci --no-audit --no-fund --loglevel=error

# The whole suite on the compiled build, then the fast tests of the compiled modules' packages
# on the pure-Python fallback (tests/test_compiled_build.py checks which build each run loads).
# Two pytest-xdist workers: most tests wait on servers and subprocesses, so two share 2 cores
# well; a test module runs whole in one worker (tests/conftest.py says which tests go together).
PURE_TESTS := tests/test_compiled_build.py tests/hub tests/alerts tests/adapters/zigbee2mqtt tests/adapters/mqtt
XDIST := -n 2 --dist loadscope
test: install matter-server homeassistant tests/webapp/node_modules/.package-lock.json lint
	CI=$${CI:-} $(BIN)/python -m pytest -q -p no:cacheprovider $(XDIST) --durations=25
	CI=$${CI:-} DHOME_PURE_PYTHON=1 $(BIN)/python -m pytest -q -p no:cacheprovider $(XDIST) -m 'not slow' $(PURE_TESTS)

# The fast set: no real-server integration tests.
test-fast: install
	$(BIN)/python -m pytest -q -m 'not slow'

bench: install matter-server
	$(BIN)/python -m bench

schemas: install
	$(BIN)/python -m dhi.models.export spec/interface/schemas

# generated documentation (a test fails when it is stale)
docs: install
	$(BIN)/python -m dhi.ha_coverage docs/home-assistant-coverage.md

clean:
	rm -rf $(VENV) $(MATTER_VENV) $(HA_VENV) .dhome .mypy_cache .ruff_cache .pytest_cache
