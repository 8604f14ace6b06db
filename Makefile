# Two commands on a fresh machine with Python ≥ 3.10 and git:
#   make book   build the rendered book into _build/html (creates .venv and installs everything)
#   make test   run every test: unit, conventions, student versions, wheel, nbval, book build
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: book test unit nbval lint notebooks student clean browser browser-deps

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build . -W -n --keep-going

test: $(STAMP)
	$(BIN)/pytest tests -n 2 --durations=10
	$(BIN)/pytest --nbval notebooks --nbval-sanitize-with nbval_sanitize.cfg -n 2 --dist loadfile --durations=30

# The built book in headless Chromium, offline (tests/test_browser.py). Needs browser-deps first
# (as root: Debian's chromium and chromium-driver, axe-core from npm); reuses BOOK_HTML if given.
browser-deps:
	bash tests/browser/install_deps.sh

browser: $(STAMP)
	GENAI_COURSE_REQUIRE_BROWSER=1 $(if $(BOOK_HTML),GENAI_COURSE_BOOK_HTML=$(BOOK_HTML)) $(BIN)/pytest tests/test_browser.py -v
	@echo "screenshots, page weights, axe results: $(CURDIR)/_build/browser"

unit: $(STAMP)
	$(BIN)/pytest tests -n 2 -m "not slow"

# ruff (settings in pyproject.toml): the linter, and the formatter in check mode
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

nbval: $(STAMP)
	$(BIN)/pytest --nbval notebooks --nbval-sanitize-with nbval_sanitize.cfg -n 2 --dist loadfile

# Authors: re-execute notebooks and store their outputs (NB=path/to/one.ipynb for one), then
# refresh the committed student versions. Commit src/ first: Colab installs the commit the
# notebooks were executed with.
NB ?= notebooks
notebooks: $(STAMP)
	$(BIN)/genai-course sync-setup $(NB)
	$(BIN)/genai-course execute $(NB)
	$(MAKE) student

# The student versions the book links to (committed; tests/test_conventions.py keeps them in sync).
student: $(STAMP)
	$(BIN)/genai-course student notebooks student

clean:
	rm -rf _build dist build
