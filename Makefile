# Ringbox: the two commands are `make run` and `make test`.
SHELL := /bin/bash
GO ?= go
export GOFLAGS ?= -mod=mod
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
BIN := bin/ringbox
RUN_DATA ?= run-data
SIP ?= :5060
HTTP ?= :8080
# More serve flags for `make run`, e.g. make run FLAGS='--sip-digest sha256,md5'
# (bin/ringbox serve --help lists them).
FLAGS ?=

.PHONY: all build run test qemu-test deps lint unit e2e bench firmware image image-test fuzz clean bundle update-test fuzz-short soak

all: build

build:
	@scripts/ensure-go.sh
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./firmware/cmd/ringbox

# The demo appliance: simulated board, demo site, SIP on 5060, web on 8080.
run: build
	@mkdir -p $(RUN_DATA)
	@echo "Demo softphone accounts (from docs/examples/demo.yaml; change them for a real site):"
	@sed -n 's/.*number: "\([0-9]*\)".*secret: "\([^"]*\)".*/  extension \1  password \2/p' docs/examples/demo.yaml
	$(BIN) serve --data $(RUN_DATA) --site docs/examples/demo.yaml --board sim --sip $(SIP) --http $(HTTP) $(FLAGS)

# Installs what the tests need when it is missing, then runs every test:
# the Go tests, then the image's tests in qemu (qemu-test: the image built
# and booted, then an update, a rollback and a power cut; docs/firmware.md).
# One after the other: side by side (make -j2) the qemu boots' load made
# the Go tests' timing-sensitive end-to-end tests fail here.
test: deps lint unit fuzz-short qemu-test
	@echo "make test: all checks passed"

# The image's tests in qemu, one after the other (each boots its own box).
qemu-test:
	@$(MAKE) --no-print-directory image-test
	@$(MAKE) --no-print-directory update-test

deps:
	@scripts/ensure-go.sh
	@scripts/test-deps.sh

lint:
	@echo "== gofmt"; out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@echo "== go vet"; $(GO) vet ./...
	@echo "== CGO_ENABLED=0 build"; CGO_ENABLED=0 $(GO) build -o /dev/null ./...
	@echo "== buildroot tree"; scripts/lint-buildroot.sh

# Unit and end-to-end tests (the e2e tests start the real binary with SIPp,
# baresip and Chromium), with the race detector.
# Test artifacts (the console's screenshots at 1280 and 375 px) are kept
# under test-output/_artifacts/.
# TEST_PARALLEL: how many t.Parallel tests of one package run at once. The
# end-to-end tests mostly wait on real-time audio, timers and peers, so
# more than the two cores' default (GOMAXPROCS) shortens them (docs/testing.md).
TEST_PARALLEL ?= 6
unit:
	@mkdir -p test-output
	@echo "== go test -race"; $(GO) test -race -count=1 -parallel $(TEST_PARALLEL) -timeout 20m -artifacts -outputdir $(CURDIR)/test-output ./...

bench:
	@scripts/ensure-go.sh
	$(GO) test -run '^$$' -bench . -benchmem ./audio/... ./firmware/...
	scripts/bench-sip.sh
	scripts/bench-rtp.sh

fuzz:
	scripts/fuzz.sh 30s

# Proof under hostile input and long running (docs/testing.md): the fuzz
# targets of untrusted input for about 2 s each (make test), and the soak test
# for an hour (make test runs it for 2 min inside go test ./...).
fuzz-short:
	@scripts/fuzz-short.sh

SOAK ?= 1h
soak:
	@mkdir -p test-output
	RINGBOX_SOAK=$(SOAK) RINGBOX_SOAK_REPORT=$(CURDIR)/test-output/soak.txt $(GO) test -count=1 -timeout 0 -run '^TestSoak$$' -v ./firmware/cmd/ringbox/soak/

# Cross-builds the appliance binaries (cgo through Debian's cross gcc).
firmware:
	@scripts/ensure-go.sh
	scripts/firmware.sh $(VERSION)

# The qemu (arm64 virt) disk image from Debian's arm64 packages, and its boot
# test (docs/firmware.md). Downloads are cached under .cache/image/.
image:
	@scripts/ensure-go.sh
	nice scripts/image.sh $(VERSION)

image-test: image
	@echo "== boot test (qemu)"; time scripts/image/boot-test.sh

# A signed update bundle of the image's rootfs (make bundle VERSION=v1.2.3),
# and the update test in qemu: A to B, a refused bundle, a broken one that
# rolls back, a power cut during an install (docs/firmware.md "Updates").
bundle:
	@scripts/ensure-go.sh
	nice scripts/bundle.sh $(VERSION)

update-test:
	@scripts/ensure-go.sh
	@echo "== update test (qemu)"; time scripts/image/update-test.sh

clean:
	rm -rf bin dist
