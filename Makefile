# `make run` and `make test` need only python3: each (re)creates .venv when it is missing or
# when a requirements file changed since it was built.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements-installed
PORT ?= 8000
export PORT

.PHONY: run test test-fast bench clean token package browser-deps

$(STAMP): requirements.txt requirements-dev.txt
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)
	$(PY) tools/run_local.py

# The browser tests (tests/browser) drive Debian's Chromium, scan each page with axe-core and run the
# SMART team's browser client (fhirclient's prebuilt bundle), pinned in package.json/package-lock.json
# (installed into node_modules/, never committed; .npmrc omits optional dependencies). Installed
# here when missing, so that `make test` works on a fresh machine (CI runs it as root).
CHROMIUM := /usr/bin/chromium
AXE := node_modules/axe-core/axe.min.js
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
APT_INSTALL := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	$(APT_INSTALL) chromium

$(AXE): package.json package-lock.json
	command -v npm >/dev/null || { $(SUDO) apt-get update -qq && $(APT_INSTALL) --no-install-recommends npm; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $(AXE)

browser-deps: $(CHROMIUM) $(AXE)

# The suite runs on TEST_WORKERS processes (pytest-xdist), a module's tests on one worker, so that
# each e2e or browser module starts its server (and browser) once, and tests/infra's modules on one
# worker, which builds the package once (tests/conftest.py, tests/infra/conftest.py). TEST_WORKERS=0
# runs it in one process. (Not `loadgroup`: with pytest 9, pytest-xdist 3.8 cannot tag a test's
# group, and groups were silently ignored.)
TEST_WORKERS ?= 2

test: $(STAMP) browser-deps
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile

test-fast: $(STAMP)
	$(PY) -m pytest -m "not e2e"

bench: package
	$(PY) bench/catalog.py
	$(PY) bench/oauth.py
	$(PY) bench/quotas.py
	$(PY) bench/fhir.py
	$(PY) bench/conflicts.py
	$(PY) bench/export.py
	$(PY) bench/subscriptions.py
	$(PY) bench/package.py $(PACKAGE_DIR)

# `make package [STAGE=dev|prod]`: in build/package/<stage>/, the SAM template (sam.yaml: what
# `chalice package` generates, merged with infra/template.yaml), the function zip (app code and
# data) and the layer zip (pinned dependencies), then cfn-lint on the template. Needs PyPI and no
# AWS account: the dummy settings in NO_AWS keep a developer's own profile out, and nothing here
# calls AWS. Why each step: infra/README.md; how to deploy the result: docs/deploy.md.
#  - The app is packaged from a staging copy, so the working tree is never modified: catalog/ goes
#    to chalicelib/catalog_data (where chalicelib/config.py looks when catalog/ is absent, as in
#    the Lambda). Chalice itself is a dev requirement: its runtime part (chalice/app.py) is
#    added to every package by Chalice on its own.
#  - Chalice caches the layer it built by hash of the requirements (.chalice/deployments, linked to
#    CHALICE_CACHE); the app code is zipped afresh each time. A cached layer that is not a sound
#    zip (a build cut short) is dropped first, since Chalice would reuse it as it is.
#  - Then both zips get bytecode, since Lambda's read-only /var/task and /opt would otherwise make
#    every cold start compile every module, and the layer keeps only the botocore service models
#    of SDK_SERVICES: the services the function's IAM role allows (tests/infra checks they agree).
# Only the command line sets the stage: STAGE in the environment is the app's setting (local, test).
PACKAGE_STAGE := $(if $(filter command line,$(origin STAGE)),$(STAGE),dev)
PACKAGE_DIR ?= build/package/$(PACKAGE_STAGE)
PACKAGE_SRC ?= build/package-src/$(PACKAGE_STAGE)
CHALICE_CACHE := build/chalice-deployments
SDK_SERVICES := dynamodb kms lambda s3 secretsmanager ses sqs
CFN_LINT ?= $(VENV)/bin/cfn-lint
NO_AWS := env -u AWS_PROFILE AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
	AWS_DEFAULT_REGION=eu-west-3 AWS_ACCESS_KEY_ID=packaging-needs-no-aws \
	AWS_SECRET_ACCESS_KEY=packaging-needs-no-aws
# Bytecode naming the paths Lambda unpacks to. The function's is checked against its source's
# hash, so that an edit in the Lambda console is never shadowed by stale bytecode; the layer's,
# which nothing edits, is trusted unchecked (about 5% less import time).
COMPILE := $(PY) -m compileall -q -j 0 --invalidation-mode
ZIP_TREE := $(PY) -c 'import shutil, sys; shutil.make_archive(sys.argv[1], "zip", sys.argv[2])'

package: $(STAMP)
	@case "$(PACKAGE_STAGE)" in dev|prod) ;; *) echo "make package STAGE=dev|prod" >&2; exit 2;; esac
	rm -rf $(PACKAGE_SRC) $(PACKAGE_DIR)
	mkdir -p $(PACKAGE_SRC)/app/.chalice $(CHALICE_CACHE)
	cp app.py $(PACKAGE_SRC)/app/
	cp -R chalicelib $(PACKAGE_SRC)/app/chalicelib
	rm -rf $(PACKAGE_SRC)/app/chalicelib/catalog_data
	cp -R catalog $(PACKAGE_SRC)/app/chalicelib/catalog_data
	find $(PACKAGE_SRC) -name __pycache__ -prune -exec rm -rf {} +
	cp .chalice/config.json $(PACKAGE_SRC)/app/.chalice/
	rm -f $(CHALICE_CACHE)/appcode-*.zip
	for cached in $(CHALICE_CACHE)/managed-layer-*.zip; do [ ! -e "$$cached" ] || \
		$(PY) -m zipfile -t "$$cached" >/dev/null 2>&1 || rm -f "$$cached"; done
	ln -s $(abspath $(CHALICE_CACHE)) $(PACKAGE_SRC)/app/.chalice/deployments
	cp requirements.txt $(PACKAGE_SRC)/app/requirements.txt
	$(NO_AWS) $(abspath $(VENV))/bin/chalice --project-dir $(PACKAGE_SRC)/app package \
		--stage $(PACKAGE_STAGE) --merge-template $(abspath infra/template.yaml) $(abspath $(PACKAGE_DIR))
	$(PY) -m zipfile -e $(PACKAGE_DIR)/deployment.zip $(PACKAGE_SRC)/task
	$(PY) -m zipfile -e $(PACKAGE_DIR)/layer-deployment.zip $(PACKAGE_SRC)/layer
	find $(PACKAGE_SRC)/layer/python/lib/python3.*/site-packages/botocore/data -mindepth 1 -maxdepth 1 \
		-type d $(foreach service,$(SDK_SERVICES),! -name $(service)) -exec rm -rf {} +
	$(COMPILE) checked-hash -s $(abspath $(PACKAGE_SRC))/task -p /var/task $(abspath $(PACKAGE_SRC))/task
	$(COMPILE) unchecked-hash -s $(abspath $(PACKAGE_SRC))/layer -p /opt $(abspath $(PACKAGE_SRC))/layer
	chmod -R a+rX $(PACKAGE_SRC)/task $(PACKAGE_SRC)/layer
	$(ZIP_TREE) $(PACKAGE_DIR)/deployment $(PACKAGE_SRC)/task
	$(ZIP_TREE) $(PACKAGE_DIR)/layer-deployment $(PACKAGE_SRC)/layer
	rm -rf $(PACKAGE_SRC)
	$(CFN_LINT) --include-checks I -- $(PACKAGE_DIR)/sam.yaml infra/account.yaml
	@ls -l $(PACKAGE_DIR)

# A bearer token from the local demo issuer: make token ROLE=publisher|reviewer [WHO=id] [PORT=8000]
token: $(STAMP)
	@$(PY) tools/demo_token.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .run build node_modules
