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
           debootstrap systemd qemu-user-static tesseract-ocr fonts-dejavu-core s3cmd lintian chromium fonts-droid-fallback poppler-utils
# Debian's amd64 kernel for the vivid tests: fetched and unpacked, never installed.
KERNEL_DIR := $(CACHE)/kernel
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
PI_TARGETS  := linux-arm6 linux-arm7 linux-arm64
# Debian packages: dpkg architecture -> the build it packs. armhf is the
# GOARM=6 build: 32-bit Raspberry Pi OS is armhf on every Pi, Zero and Pi 1
# (ARMv6) included.
DEB_ARCHES  := amd64:linux-amd64 arm64:linux-arm64 armhf:linux-arm6
CMDS        := weighd weighctl

.PHONY: help build build-pi check check-fmt test test-unit test-386 test-arm test-bench test-kernel test-install \
        test-make tree-snapshot i386-mode qemu-i386 bench bench-weighing bench-recorder bench-mqtt bench-weighd bench-export bench-offsite bench-web deps versitygw kernel demo dist clean

# Every tier of `make test` records how long it took; `make test` prints the
# table at the end. tier-start/tier-end bracket a tier's recipe.
TIMES      := $(CACHE)/test-times
tier-start  = @mkdir -p $(CACHE); date +%s > $(CACHE)/.tier-$@
tier-end    = @if [ -f $(CACHE)/.tier-$@ ]; then printf '%-14s %5ss\n' $@ $$(( $$(date +%s) - $$(cat $(CACHE)/.tier-$@) )) >> $(TIMES); rm -f $(CACHE)/.tier-$@; fi

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

check: ## gofmt, go vet (plain and with every build tag), staticcheck, go mod tidy -diff
	$(tier-start)
	@$(MAKE) -s --no-print-directory check-fmt
	$(GO) vet ./...
	$(GO) vet -tags kernel ./drivers/camera/...
	$(GO) vet -tags vividguest ./drivers/camera/
	$(GO) vet -tags aloopguest ./drivers/audio/
	$(GO) vet -tags rootfs ./deploy/...
	$(GO) run $(STATICCHECK) ./...
	$(GO) mod tidy -diff
	$(tier-end)

# gofmt looks at every Go file git would commit: tracked ones and untracked
# ones that are not ignored, so a new unformatted file fails before it is added.
check-fmt: ## gofmt -l on every tracked or untracked, unignored Go file
	@out=$$(git ls-files --cached --others --exclude-standard '*.go' | xargs -r gofmt -l); \
	if [ -n "$$out" ]; then echo "gofmt would reformat:"; echo "$$out" | sed 's/^/  /'; exit 1; fi

deps: versitygw ## install the Debian packages the tests need, when missing (and build versitygw once)
	$(tier-start)
	@missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
	fi
	$(tier-end)

# versitygw: the real S3 server (POSIX backend) the offsite tests start on
# loopback; built once from the Go module proxy into an ignored directory and
# reused while its version stays.
VERSITYGW_VERSION := v1.8.0
VERSITYGW_DIR     := $(CACHE)/versitygw
versitygw: ## build versitygw (S3 server for the offsite tests) once into .cache/versitygw
	@if [ ! -x $(VERSITYGW_DIR)/versitygw ] || [ "$$(cat $(VERSITYGW_DIR)/.version 2>/dev/null)" != "$(VERSITYGW_VERSION)" ]; then \
	  echo "building versitygw $(VERSITYGW_VERSION) into $(VERSITYGW_DIR) (once; a few minutes)"; \
	  mkdir -p $(VERSITYGW_DIR) && GOBIN=$(VERSITYGW_DIR) GOFLAGS= $(GO) install github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW_VERSION) && \
	  echo $(VERSITYGW_VERSION) > $(VERSITYGW_DIR)/.version || exit 1; \
	fi

kernel: ## fetch and unpack Debian's amd64 kernel into .cache/kernel (for the vivid tests)
	$(tier-start)
	@if [ ! -f $(KERNEL_DIR)/.done ]; then \
	  set -e; rm -rf $(KERNEL_DIR); mkdir -p $(KERNEL_DIR)/deb; \
	  pkg=$$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $$2; exit}'); \
	  if [ -z "$$pkg" ]; then apt-get update -qq; pkg=$$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $$2; exit}'); fi; \
	  echo "kernel package: $$pkg"; \
	  (cd $(KERNEL_DIR)/deb && apt-get download -qq $$pkg); \
	  dpkg -x $(KERNEL_DIR)/deb/*.deb $(KERNEL_DIR)/root; \
	  touch $(KERNEL_DIR)/.done; \
	fi
	$(tier-end)

# `make test`: a snapshot of the work tree first, every tier, then the tree
# compared with the snapshot (a build or a test that writes into the tree
# fails here, naming the file) and each tier's time.
test: tree-snapshot deps kernel qemu-i386 check test-unit test-386 test-arm test-bench test-kernel test-install test-make ## everything CI runs: style, unit + integration (-race), 386, ARM, benchmarks once, kernel tier, install, Makefile
	@.ci/treestate compare $(CACHE)/tree-before
	@echo "time per tier:"; cat $(TIMES)

tree-snapshot:
	@mkdir -p $(CACHE); rm -f $(TIMES)
	@.ci/treestate snapshot $(CACHE)/tree-before

test-unit: ## all tests with -race
	$(tier-start)
	$(GO) test -race -count=1 -timeout 15m ./...
	$(tier-end)

# test-386: the tests again as 32-bit x86. Some machines of our kind cannot
# execute 386 binaries (a kernel without IA32 emulation: "exec format
# error"). i386-mode runs a tiny 386 program (I386_PROBE) to find out; where
# it cannot start, every test binary runs under qemu-i386 user emulation
# (go test -exec $(I386_EMULATOR)). -exec wraps only the test binary, so the
# packages whose tests build and start programs of their own are left out of
# the emulated pass (their children would be 386 binaries started natively);
# they still run natively in test-unit, and in this tier where 386 runs.
# Debian 12's own qemu-i386 (7.2) corrupts a Go program's state when it
# delivers a signal (SIGURG preemption, SIGCHLD: "bad g in signal handler",
# "exitsyscall: syscall frame is no longer valid"), so the emulator is
# qemu-user from Debian's bookworm-backports (10.x, static binaries), fetched
# with apt-get download into .cache/qemu and unpacked, never installed
# (target qemu-i386), like the kernel. The emulated pass also turns off the
# runtime's asynchronous preemption (GODEBUG=asyncpreemptoff=1): its SIGURG
# is by far the most frequent signal, and even qemu 10 has been seen to
# mishandle a signal that lands in a system call; goroutines are still
# preempted at function calls.
# Left out of the emulated pass:
#   cmd/weighctl        the demo test builds and starts weighd
#   systemd             builds weighd to check the unit against it
#   internal/offsite    re-executes its own test binary to kill it mid-upload
#   internal/pack       runs ffmpeg (stills, the chat export), ssh-keygen, sha256sum
#   internal/publish    builds and starts its helper program (pubhelper)
#   internal/registry   re-executes its own test binary to kill it mid-import
#   internal/sheet      runs poppler's pdfinfo, pdftoppm and pdftotext on the PDF
#   internal/station    builds and starts weighd and weighctl
#   internal/web        builds and starts weighd and weighctl, drives chromium
I386_PROBE      ?= $(CACHE)/probe386/probe
QEMU_DIR        := $(CACHE)/qemu
I386_EMULATOR   := $(QEMU_DIR)/root/usr/bin/qemu-i386
QEMU_APT        := -o Dir::Etc::sourcelist=$(QEMU_DIR)/sources.list -o Dir::Etc::sourceparts=- \
                   -o Dir::State::Lists=$(QEMU_DIR)/lists -o Dir::Cache=$(QEMU_DIR)/apt-cache
I386_NATIVE_ONLY := weighin/(cmd/weighctl|systemd|internal/(offsite|pack|publish|registry|sheet|station|web))$$

i386-mode: ## print how this machine runs 386 binaries: native, or qemu (qemu-i386-static)
	@if [ "$(I386_PROBE)" = "$(CACHE)/probe386/probe" ] && [ ! -x "$(I386_PROBE)" ]; then \
	  mkdir -p $(CACHE)/probe386 && printf 'package main\n\nfunc main() {}\n' > $(CACHE)/probe386/main.go && \
	  (cd $(CACHE)/probe386 && GOARCH=386 $(GO) build -o probe main.go) || exit 1; \
	fi; \
	if "$(I386_PROBE)" >/dev/null 2>&1; then echo native; else echo qemu; fi

qemu-i386: ## fetch qemu-user (qemu-i386) from Debian's bookworm-backports into .cache/qemu: apt-get download, unpacked, never installed
	@if [ ! -f $(QEMU_DIR)/.done ]; then \
	  set -e; rm -rf $(QEMU_DIR); mkdir -p $(QEMU_DIR)/lists/partial $(QEMU_DIR)/apt-cache/archives/partial $(QEMU_DIR)/deb; \
	  echo "deb http://deb.debian.org/debian bookworm-backports main" > $(QEMU_DIR)/sources.list; \
	  apt-get $(QEMU_APT) update -qq; \
	  ver=$$(apt-cache $(QEMU_APT) madison qemu-user | awk '/bookworm-backports/{print $$3; exit}'); \
	  test -n "$$ver" || { echo "qemu-i386: no qemu-user in bookworm-backports"; exit 1; }; \
	  echo "qemu-user $$ver (bookworm-backports)"; \
	  (cd $(QEMU_DIR)/deb && apt-get $(QEMU_APT) download -qq qemu-user=$$ver 2>&1 | grep -v 'unsandboxed' || true); \
	  dpkg -x $(QEMU_DIR)/deb/qemu-user_*.deb $(QEMU_DIR)/root; \
	  $(I386_EMULATOR) --version | head -n 1; \
	  touch $(QEMU_DIR)/.done; \
	fi

# test-386 also leaves out the export's encodes (ffmpeg's work, the same at
# any GOARCH; test-unit runs them); the export's own code is tested here too.
EXPORT_ENCODES := ^Test(Chat60s|SplitRotatedResumeAfterKill|PresetsSmall|DiskFull|CancelKeepsResumable|QueuePauseResume|InterruptedBundle|ExportCLI|PackMadeAndVerified)$$

test-386: deps qemu-i386 ## the tests again as a 32-bit build: natively where the kernel runs 386, else under qemu-i386 (backports)
	$(tier-start)
	@mode=$$($(MAKE) -s --no-print-directory i386-mode); \
	if [ "$$mode" = native ]; then \
	  echo "test-386: this machine runs 386 binaries natively: every package"; \
	  echo "GOARCH=386 $(GO) test -count=1 -timeout 15m ./..."; \
	  GOARCH=386 $(GO) test -count=1 -timeout 15m -skip '$(EXPORT_ENCODES)' ./...; \
	else \
	  echo "test-386: this machine cannot run 386 binaries: test binaries under $(I386_EMULATOR)"; \
	  echo "test-386: left out (they start programs of their own; run natively in test-unit): $$($(GO) list ./... | grep -E '$(I386_NATIVE_ONLY)' | tr '\n' ' ')"; \
	  pkgs=$$($(GO) list ./... | grep -v -E '$(I386_NATIVE_ONLY)'); \
	  echo "GOARCH=386 GODEBUG=asyncpreemptoff=1 $(GO) test -count=1 -timeout 20m -exec $(I386_EMULATOR) <packages>"; \
	  GOARCH=386 GODEBUG=asyncpreemptoff=1 $(GO) test -count=1 -timeout 20m -exec $(I386_EMULATOR) -skip '$(EXPORT_ENCODES)' $$pkgs; \
	fi
	$(tier-end)

# test-make: the Makefile's own logic, in a throw-away clone: i386-mode's two
# branches, and that an unformatted file or a file a test leaves in the tree
# fails with its name.
test-make: ## the Makefile's detection logic and tree/style gates (.ci/makefile_test)
	$(tier-start)
	.ci/makefile_test
	$(tier-end)

# test-arm leaves out the packages whose tests start programs they build
# (weighd, helper processes, the export's killed child): without
# binfmt_misc those ARM binaries cannot be started here. They run natively
# in test-unit and test-386.
test-arm: deps ## the drivers' and pure packages' tests as linux/arm GOARM=6 (Pi Zero) under qemu-arm
	$(tier-start)
	GOARCH=arm GOARM=6 $(GO) test -count=1 -timeout 15m -exec /usr/bin/qemu-arm-static \
	  $$($(GO) list ./drivers/... ./internal/... | grep -v -E 'internal/(offsite|publish|registry|station|export|pack|sheet|web)|kerneltest|/bench|gentraces|genlabels')
	$(tier-end)

test-bench: ## every benchmark once, so none rots
	$(tier-start)
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 15m ./...
	$(tier-end)

test-kernel: deps kernel ## the camera and audio drivers against the kernel's vivid and snd-aloop devices, in qemu
	$(tier-start)
	WEIGHIN_KERNEL_DIR=$(KERNEL_DIR)/root $(GO) test -tags kernel -count=1 -v -timeout 15m ./drivers/camera/kerneltest/
	$(tier-end)

test-install: deps ## install.sh and the .deb (dpkg -i/upgrade/-r/-P, lintian) inside a Debian bookworm root made by debootstrap
	$(tier-start)
	$(GO) test -tags rootfs -count=1 -v -timeout 15m ./deploy/
	$(tier-end)

bench: bench-weighing bench-recorder bench-mqtt bench-weighd bench-export bench-offsite bench-web ## all figures for docs/PERFORMANCE.md

bench-weighing: ## pipeline vs naive moving average: real recordings (../shared/real-traces), model A, model B, sigma-3 g cell, hold-out
	$(GO) run ./internal/weighing/benchweigh -traces testdata/traces

bench-recorder: deps ## recorder vs ffmpeg stream copy, allocations, YUYV->JPEG cost
	$(GO) run ./internal/recorder/benchrec

bench-mqtt: deps ## result latency vs bare paho publish->subscribe on Mosquitto
	$(GO) run ./internal/publish/benchmqtt

bench-weighd: ## weighd --sim at 720p30: CPU capturing/recording, RSS, start-up, arm64 size
	$(GO) run ./internal/station/benchstation

bench-export: deps ## MP4 export of a 60 s 720p30 recording, each preset vs the same bare ffmpeg command
	$(GO) run ./internal/export/benchexport

bench-offsite: deps ## upload of a 200 MB bundle to versitygw on loopback vs s3cmd put of the same files; CPU per GB
	$(GO) run ./internal/offsite/benchoffsite -versitygw $(VERSITYGW_DIR)/versitygw

bench-web: deps ## the web app while recording 720p30: 50 clients (sessions page, MP4 Range) vs a bare FileServer, 3 live viewers' CPU/RSS, dropped frames
	$(GO) run ./internal/web/benchweb

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
