# Two entry points (see README): `make demo` and `make test`. Both install what they need first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install test-deps test demo demo-ui benchmark clean

$(STAMP): setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installing Apache Airflow, the provider and the test tools into $(VENV)."
	@echo "The first time this downloads about 200 packages and takes a few minutes;"
	@echo "pip's output goes to $(VENV)/install.log (tail -f it to watch)."
	$(PY) -m pip install --upgrade pip > $(VENV)/install.log 2>&1 || (tail -20 $(VENV)/install.log; exit 1)
	$(PY) -m pip install -e ".[test]" >> $(VENV)/install.log 2>&1 || (tail -20 $(VENV)/install.log; exit 1)
	@echo "Installed (see $(VENV)/install.log)."
	touch $(STAMP)

install: $(STAMP)

# The real servers and tools the tests use: slapd, the ODBC driver, docker-compose, chromium (Debian),
# and the PostgreSQL and Redis servers on 127.0.0.1.
test-deps:
	bash scripts/install-test-deps.sh
	bash scripts/start-services.sh

test: install test-deps
	$(PY) -m pytest -q $(PYTEST_ARGS)

demo: install
	@echo "Running the demo: Airflow on SQLite, the sample CSV files, the local Oomnitza sandbox ..."
	$(PY) scripts/demo.py

benchmark: install
	$(PY) benchmarks/mapping_throughput.py
	$(PY) benchmarks/parse_time.py
	$(PY) benchmarks/push_throughput.py
	$(PY) benchmarks/sync_stages.py --records 10000,100000 --delta
	$(PY) benchmarks/versus_original.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache demo

demo-ui: install
	@echo "Starting the Oomnitza sandbox and airflow standalone (Ctrl-C stops both) ..."
	$(PY) scripts/demo.py --ui
