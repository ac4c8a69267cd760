# weighin — `make help` lists the targets. `make test` is what CI runs.
SHELL   := /bin/bash
GO      ?= go
# The version, one rule for the packages, `weighd --version` and
# `weighctl version`; dpkg orders every result correctly:
#   HEAD tagged vX.Y.Z            -> X.Y.Z
#   N commits after tag vX.Y.Z    -> X.Y.Z+git<YYYYMMDD>.<short hash>
#   no tag                        -> 0.0~git<YYYYMMDD>.<short hash>
#   not a git checkout            -> 0.0~dev
# YYYYMMDD is the commit's date (UTC), so a rebuild gives the same version.
ifndef VERSION
VERSION := $(shell \
  h=$$(git rev-parse --short=7 HEAD 2>/dev/null) || { echo 0.0~dev; exit 0; }; \
  d=$$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y%m%d); \
  t=$$(git describe --tags --abbrev=0 --match 'v[0-9]*' 2>/dev/null); \
  if [ -z "$$t" ]; then echo "0.0~git$$d.$$h"; \
  elif [ "$$(git rev-list -n1 "$$t")" = "$$(git rev-parse HEAD)" ]; then echo "$${t#v}"; \
  else echo "$${t#v}+git$$d.$$h"; fi)
endif
LDFLAGS := -X weighin/internal/station.Version=$(VERSION) -X main.version=$(VERSION)
BIN     := bin
CACHE   := $(CURDIR)/.cache
# Debian packages the tests use; `make deps` installs the missing ones.
DEBS    := mosquitto mosquitto-clients ffmpeg mkvtoolnix zbar-tools \
           qemu-system-x86 busybox-static cpio openssh-client openssl \
           debootstrap systemd qemu-user-static lintian
# Debian's amd64 kernel for the vivid tests: fetched and unpacked, never installed.
KERNEL_DIR := $(CACHE)/kernel
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
PI_TARGETS  := linux-arm6 linux-arm7 linux-arm64
# Debian packages: dpkg architecture -> the build it packs. armhf is the
# GOARM=6 build: 32-bit Raspberry Pi OS is armhf on every Pi, Zero and Pi 1
# (ARMv6) included.
DEB_ARCHES  := amd64:linux-amd64 arm64:linux-arm64 armhf:linux-arm6
CMDS        := weighd weighctl

.PHONY: help build build-pi check test test-unit test-386 test-arm test-bench test-kernel test-install \
        bench bench-weighing bench-recorder bench-mqtt bench-weighd deps kernel demo dist clean

help: ## list the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | \
	  awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

build: ## build weighd and weighctl for this machine into bin/
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='$(LDFLAGS)' -o $(BIN)/ ./cmd/...

build-pi: ## cross-build for Raspberry Pi: bin/linux-arm6, linux-arm7, linux-arm64
	@for t in $(PI_TARGETS); do \
	  case $$t in linux-arm6) a=arm; v=6;; linux-arm7) a=arm; v=7;; linux-arm64) a=arm64; v=;; esac; \
	  mkdir -p $(BIN)/$$t; \
	  echo "build $$t"; \
	  CGO_ENABLED=0 GOOS=linux GOARCH=$$a GOARM=$$v $(GO) build -trimpath -ldflags='-s -w $(LDFLAGS)' -o $(BIN)/$$t/ ./cmd/... || exit 1; \
	done
	@ls -l $(BIN)/linux-*/*

check: ## gofmt, go vet, staticcheck, go mod tidy -diff
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt: $$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags kernel ./drivers/camera/...
	$(GO) run $(STATICCHECK) ./...
	$(GO) mod tidy -diff

deps: ## install the Debian packages the tests need, when missing
	@missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
	fi

kernel: ## fetch and unpack Debian's amd64 kernel into .cache/kernel (for the vivid tests)
	@if [ ! -f $(KERNEL_DIR)/.done ]; then \
	  set -e; rm -rf $(KERNEL_DIR); mkdir -p $(KERNEL_DIR)/deb; \
	  pkg=$$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $$2; exit}'); \
	  if [ -z "$$pkg" ]; then apt-get update -qq; pkg=$$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $$2; exit}'); fi; \
	  echo "kernel package: $$pkg"; \
	  (cd $(KERNEL_DIR)/deb && apt-get download -qq $$pkg); \
	  dpkg -x $(KERNEL_DIR)/deb/*.deb $(KERNEL_DIR)/root; \
	  touch $(KERNEL_DIR)/.done; \
	fi

test: deps kernel test-unit test-386 test-arm test-bench test-kernel test-install ## everything CI runs: unit + integration (-race), 386, benchmarks once, kernel tier

test-unit: ## all tests with -race
	$(GO) test -race -count=1 -timeout 15m ./...

test-386: ## the tests again as a 32-bit build
	GOARCH=386 $(GO) test -count=1 -timeout 15m ./...

# test-arm leaves out the packages whose tests start programs they build
# (weighd, helper processes): without binfmt_misc those ARM binaries
# cannot be started here. They run natively in test-unit and test-386.
test-arm: deps ## the drivers' and pure packages' tests as linux/arm GOARM=6 (Pi Zero) under qemu-arm
	GOARCH=arm GOARM=6 $(GO) test -count=1 -timeout 15m -exec /usr/bin/qemu-arm-static \
	  $$($(GO) list ./drivers/... ./internal/... | grep -v -E 'internal/(publish|registry|station)|kerneltest|/bench|gentraces|genlabels')

test-bench: ## every benchmark once, so none rots
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 15m ./...

test-kernel: deps kernel ## the camera driver against the kernel's vivid device, in qemu
	WEIGHIN_KERNEL_DIR=$(KERNEL_DIR)/root $(GO) test -tags kernel -count=1 -v -timeout 15m ./drivers/camera/kerneltest/

test-install: deps ## install.sh and the .deb (dpkg -i/upgrade/-r/-P, lintian) inside a Debian bookworm root made by debootstrap
	$(GO) test -tags rootfs -count=1 -v -timeout 15m ./deploy/

bench: bench-weighing bench-recorder bench-mqtt bench-weighd ## all figures for docs/PERFORMANCE.md

bench-weighing: ## our pipeline vs a naive moving average over the trace set
	$(GO) run ./internal/weighing/benchweigh -traces testdata/traces

bench-recorder: deps ## recorder vs ffmpeg stream copy, allocations, YUYV->JPEG cost
	$(GO) run ./internal/recorder/benchrec

bench-mqtt: deps ## result latency vs bare paho publish->subscribe on Mosquitto
	$(GO) run ./internal/publish/benchmqtt

bench-weighd: ## weighd --sim at 720p30: CPU capturing/recording, RSS, start-up, arm64 size
	$(GO) run ./internal/station/benchstation

demo: ## the whole flow on simulated hardware (needs only Go): builds bin/weighd and bin/weighctl, runs weighctl demo
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='$(LDFLAGS)' -o $(BIN)/ ./cmd/weighd ./cmd/weighctl
	$(BIN)/weighctl demo --weighd $(BIN)/weighd

dist: build-pi ## bin/dist/weighin_<version>_{amd64,arm64,armhf}.deb (nfpm), and tarballs for other distributions
	@mkdir -p $(BIN)/linux-amd64 $(BIN)/dist
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags='-s -w $(LDFLAGS)' -o $(BIN)/linux-amd64/ ./cmd/...
	@for m in $(DEB_ARCHES); do \
	  a=$${m%%:*}; t=$${m#*:}; \
	  deploy/packaging/mkdeb.sh $$a $(BIN)/$$t '$(VERSION)' '$(BIN)/dist/weighin_$(VERSION)_'$$a.deb || exit 1; \
	done
	@for t in $(PI_TARGETS); do \
	  d=$(BIN)/dist/weighin-$$t; rm -rf $$d; mkdir -p $$d; \
	  cp $(BIN)/$$t/* $$d/; cp systemd/weighd.service deploy/weighd.yaml README.md docs/NOTICE.md $$d/; \
	  cp -r deploy/install.sh deploy/udev deploy/homeassistant $$d/ 2>/dev/null || true; \
	  tar -C $(BIN)/dist -czf $(BIN)/dist/weighin-$$t.tar.gz weighin-$$t; \
	  echo "$(BIN)/dist/weighin-$$t.tar.gz"; \
	done

clean: ## remove build outputs and caches
	rm -rf $(BIN) $(CACHE)
