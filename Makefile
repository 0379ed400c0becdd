# backrest-sidecar: common workflows (see packages/cli/README.md).
#
#   make build                         compile every workspace (tsc -b)
#   make run ARGS="reconcile --config ./config.json"
#   make dry-run CONFIG=/etc/backrest/config.json RUN_FLAGS="--docker-root /var/lib/docker"
#   make docker-build TAG=ghcr.io/you/backrest-sidecar:dev
#   make docker-run CONFIG=/etc/backrest/config.json DOCKER_ARGS="daemon --interval 30s"
#     (mounts CONFIG's directory at /etc/backrest; DOCKER_ARGS may use $(CONTAINER_CONFIG))
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
# The config's directory is mounted, not the file: the sidecar writes a temporary file next to it
# and renames it over the config (atomic), which a single-file bind mount refuses (EBUSY).
CONFIG_DIR = $(patsubst %/,%,$(dir $(abspath $(CONFIG))))
CONTAINER_CONFIG = /etc/backrest/$(notdir $(CONFIG))
DOCKER_ARGS ?= daemon --config $(CONTAINER_CONFIG) --with-events --apply
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

# The config's directory is bind-mounted read-write (the sidecar rewrites the file by rename), the
# socket and Docker's data root read-only (sources are derived from /var/lib/docker/volumes).
docker-run:
	@docker image inspect $(TAG) >/dev/null 2>&1 || bash scripts/build-image.sh $(TAG)
	docker run --rm --init $(DOCKER_RUN_FLAGS) \
	  -v $(CONFIG_DIR):/etc/backrest \
	  -v /var/run/docker.sock:/var/run/docker.sock:ro \
	  -v /var/lib/docker:/var/lib/docker:ro \
	  $(TAG) $(DOCKER_ARGS)
