# experiment-sandbox: every habit is one command. `make demo` and `make test` each set up
# everything they need on a fresh Debian machine (npm packages, Docker engine, runtime image).
SHELL := /bin/bash
CLI := node dist/cli/main.js
export TESTCONTAINERS_RYUK_DISABLED := true

.PHONY: setup deps build engine image host-python demo test test-unit lint bench security cleanup clean

setup: image host-python

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

deps: node_modules/.package-lock.json

dist/.built: node_modules/.package-lock.json tsconfig.json tsconfig.build.json $(shell find src -name '*.ts')
	npx tsc -p tsconfig.build.json
	@chmod +x dist/cli/main.js
	@touch $@

build: dist/.built

engine:
	@scripts/ensure-engine.sh

image: engine build
	$(CLI) image build

host-python:
	@scripts/ensure-host-python.sh >/dev/null

demo: image
	$(CLI) experiment --data data/penguins.csv --target species --task classification \
	  --model LogisticRegression --name penguins-logistic-regression --out out/demo \
	  --hypothesis "A linear model separates the three species on bill and flipper measurements"
	$(CLI) experiment --data data/penguins.csv --target species --task classification \
	  --model RandomForestClassifier --params '{"n_estimators": 200}' --name penguins-random-forest --out out/demo \
	  --hypothesis "A random forest matches or beats the linear baseline"

test: image host-python
	EXPERIMENT_TEST_PYTHON="$$(scripts/ensure-host-python.sh)" npx vitest run \
	  --reporter=default --reporter=json --outputFile.json=out/test-results.json
	@node -e 'const r = require("./out/test-results.json"); console.log(`$${r.numPassedTests} passed, $${r.numFailedTests} failed`)'

# The hostile-script suite alone, then its table (case, isolation, outcome, wall time, figure),
# also written to bench-results/security.md.
security: image host-python
	EXPERIMENT_TEST_PYTHON="$$(scripts/ensure-host-python.sh)" npx vitest run test/integration/hostile.test.ts \
	  --reporter=default --reporter=./test/support/security-table-reporter.ts

test-unit: deps
	npx vitest run test/unit

lint: deps
	npx tsc --noEmit -p tsconfig.json
	npx eslint --max-warnings 0 src test $(wildcard bench)

# Latency, lifecycle, throughput and peak RSS of subprocess, docker cold and docker warm-pool
# runs (about 8 minutes on 2 cores); prints tables, writes bench-results/bench.json.
bench: image host-python
	EXPERIMENT_BENCH_PYTHON="$$(scripts/ensure-host-python.sh)" npx tsx bench/run.ts

cleanup: build
	$(CLI) cleanup

clean:
	rm -rf dist out bench-results .cache/hostile-suite-dist
