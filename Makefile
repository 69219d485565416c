# Picket — build, test, benchmark and lint.
#
#   make demo    install what is needed, build, scan a real image
#   make test    install what is needed, run every test (integration included)
#
# Integration tests use the machine's Docker Engine and Debian's
# debootstrap/busybox-static; `deps` installs the Debian packages when run as
# root and skips them otherwise (the tests then skip with a reason).

GO        ?= go
BIN       := bin/picket
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
DEB_PKGS  := debootstrap busybox-static docker-registry time jq gcc libc6-dev libyara-dev libfuzzy-dev
SHARED    ?= ../shared
DEMO_IMAGE ?= docker-archive:$(SHARED)/images/alpine-3.10-docker-save.tar.gz
STATICCHECK_VERSION := v0.8.2

.PHONY: all build build-nocgo demo test test-short deps bench lint fuzz clean

all: build

# The full build links libyara and libfuzzy (YARA and ssdeep analysis);
# build-nocgo is for hosts without cgo: YARA and ssdeep then report that
# they are unavailable.
build: deps
	CGO_ENABLED=1 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/picket

build-nocgo:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/picket

deps:
	@missing=""; for p in $(DEB_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null) \
	      || echo "warning: could not install$$missing; tests that need them will skip"; \
	  else echo "warning: not root, not installing$$missing; tests that need them will skip"; fi; \
	fi

# The quick start's first command: load the shared feeds offline, then a
# real scan of a real image.
DEMO_DB := .demo-db
demo: deps build
	./$(BIN) db import --db-dir $(DEMO_DB) $(SHARED)/data/osv/Go $(SHARED)/data/osv/PyPI \
	  $(SHARED)/data/osv/crates.io $(SHARED)/data/secdb/alpine/v3.10 $(SHARED)/data/kev
	./$(BIN) scan image --db-dir $(DEMO_DB) $(DEMO_IMAGE)

# The quick start's second command, and exactly what .ci/run calls.
test: deps
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 30m ./...
	@echo "== the runtime agent survives a dockerd restart (restarts this machine's dockerd, so it runs alone, last)"
	PICKET_TEST_DOCKERD_RESTART=1 PICKET_TEST_DOCKERD_RESTART_CMD=$(CURDIR)/internal/runtime/agent/testdata/restart-dockerd.sh \
	  $(GO) test -count=1 -timeout 5m -run '^TestSurvivesDockerdRestart$$' -v ./internal/runtime/agent

test-short:
	$(GO) test -short ./...

bench: deps build
	$(GO) test -run '^$$' -bench . -benchmem ./internal/...
	bench/sbom-vs-syft.sh
	bench/million-files.sh
	bench/vulns-vs-osv-scanner.sh
	bench/secrets-vs-gitleaks.sh
	bench/deep-vs-inventory.sh
	bench/guard-docker.sh
	bench/guard-registry.sh
	bench/agent-storm.sh
	bench/agent-overhead.sh
	bench/cis-compare.sh

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...
	GOBIN=$(CURDIR)/.bin $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	.bin/staticcheck ./...

# Longer fuzzing of every parser of untrusted input (FUZZTIME each).
FUZZTIME ?= 30s
fuzz:
	@for t in $$($(GO) test -list '^Fuzz' ./... | awk '/^Fuzz/{f[n++]=$$1} /^ok/{for(i=0;i<n;i++)print $$2":"f[i]; n=0}'); do \
	  echo "== $${t%%:*} $${t#*:}"; \
	  $(GO) test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) $${t%%:*} || exit 1; \
	done

clean:
	rm -rf bin .bin .bench .demo-db
