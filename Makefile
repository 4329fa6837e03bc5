# Graft's build. The README's two commands are `make run` and `make test`.

GO      ?= go
GOOS    := $(shell $(GO) env GOOS)
GOARCH  := $(shell $(GO) env GOARCH)
MAGE    := $(GO) run mage.go -v
CONFIG  ?= provisioning/graft.yml
DATA    ?= data
# Go packages of the project (./... would wander into node_modules).
GO_PKGS := . ./bench/... ./pkg/... ./test/... ./examples/...
PLUGIN_BINARY := dist/gpx_graft_$(GOOS)_$(GOARCH)$(if $(filter windows,$(GOOS)),.exe,)

.PHONY: run build frontend backend dist test test-deps test-go test-fuzz test-frontend lint fmt clean

## run: build the plugin into dist/ and start the core on the default config.
run: build
	@echo
	@echo "Graft plugin built into $(CURDIR)/dist"
	@echo "  Grafana: copy or link it into your plugins folder as graftlabs-graft-datasource,"
	@echo "           allow_loading_unsigned_plugins = graftlabs-graft-datasource, and"
	@echo "           provisioning = $(CURDIR)/provisioning (see README.md)."
	@echo "Starting the core: Prometheus API on http://127.0.0.1:9091 (Ctrl-C stops it)"
	@echo
	$(GO) run ./pkg/cmd/graft --config.file=$(CONFIG) --storage.tsdb.path=$(DATA)

## build: frontend and backend (this platform) into dist/.
build: frontend backend

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

frontend: node_modules/.package-lock.json
	npm run build

backend:
	$(MAGE) build:backend

## dist: the backend for every platform Grafana supports.
dist: frontend
	$(MAGE) dist

## test: everything: Go (unit, end-to-end over the plugin protocol, promtool) and frontend.
test: test-deps build test-go test-fuzz test-frontend

test-deps:
	./scripts/install-test-deps.sh

test-go:
	$(GO) vet $(GO_PKGS)
	GRAFT_PLUGIN_BINARY=$(CURDIR)/$(PLUGIN_BINARY) GRAFT_REQUIRE_PROMTOOL=1 \
		$(GO) test -race -count=1 -timeout 20m $(GO_PKGS)

# Storage fuzz targets, FUZZ_TIME each (the seed corpora run in test-go too).
FUZZ_TIME ?= 10s
FUZZ_TARGETS := chunkenc:FuzzFloatDecode chunkenc:FuzzHistogramDecode chunkenc:FuzzFloatRoundTrip \
	wal:FuzzReader record:FuzzDecode index:FuzzBlockReader

## test-fuzz: a short fuzzing run of the storage decoders.
test-fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz $$pkg $$fn ($(FUZZ_TIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZ_TIME) ./pkg/storage/tsdb/$$pkg || exit 1; \
	done

test-frontend: node_modules/.package-lock.json
	npm run typecheck
	npm run lint
	npm run test:ci

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf dist coverage .eslintcache
