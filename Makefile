# Two entry points (see README): `make demo` and `make test`. Both install what they need first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install test demo demo-ui benchmark clean

$(STAMP): setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

test: install
	$(PY) -m pytest -q $(PYTEST_ARGS)

demo: install
	$(PY) scripts/demo.py

benchmark: install
	$(PY) benchmarks/mapping_throughput.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache demo

demo-ui: install
	$(PY) scripts/demo.py --ui
