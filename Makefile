# backrest-sidecar: common workflows (see packages/cli/README.md).
#
#   make build                         compile every workspace (tsc -b)
#   make run ARGS="reconcile --config ./config.json"
#   make dry-run CONFIG=/etc/backrest/config.json RUN_FLAGS="--docker-root /var/lib/docker"
#   make docker-build TAG=ghcr.io/you/backrest-sidecar:dev
#   make docker-run CONFIG=/etc/backrest/config.json DOCKER_ARGS="daemon --interval 30s"
#
# `dry-run` treats exit code 2 ("nothing written", the dry-run's normal answer) as success;
# 3 (some plans skipped) and 1 (fatal) still fail the target.

SHELL := /bin/bash
NODE ?= node
BIN := $(NODE) packages/cli/bin/backrest-sidecar.js
CLI_DIST := packages/cli/dist/main.js
CONFIG ?= testdata/example-sidecar.config.json
RUN_FLAGS ?=
ARGS ?=
TAG ?= dockop/backrest-sidecar:local
DOCKER_ARGS ?= daemon --config /etc/backrest/config.json --with-events --apply
DOCKER_RUN_FLAGS ?=

.PHONY: build run dry-run docker-build docker-run

build:
	npx tsc -b

# Build only when the CLI was never compiled (`make build` always recompiles incrementally).
$(CLI_DIST):
	npx tsc -b

run: $(CLI_DIST)
	$(BIN) $(ARGS)

dry-run: $(CLI_DIST)
	$(BIN) reconcile --dry-run --config $(CONFIG) $(RUN_FLAGS) || [ $$? -eq 2 ]

docker-build:
	bash scripts/build-image.sh $(TAG)

# The config file is bind-mounted read-write (the sidecar rewrites it), the socket and Docker's
# data root read-only (sources are derived from /var/lib/docker/volumes).
docker-run:
	@docker image inspect $(TAG) >/dev/null 2>&1 || bash scripts/build-image.sh $(TAG)
	docker run --rm $(DOCKER_RUN_FLAGS) \
	  -v $(abspath $(CONFIG)):/etc/backrest/config.json \
	  -v /var/run/docker.sock:/var/run/docker.sock:ro \
	  -v /var/lib/docker:/var/lib/docker:ro \
	  $(TAG) $(DOCKER_ARGS)
