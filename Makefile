# Build, package, install and check cmk.
#
#   make dist                   dist/cmk-<version>-linux-<arch>.tar.gz: runs without a Swift toolchain
#   make dist-check             unpacks that tarball and runs it with the toolchain hidden (CI runs it)
#   make install PREFIX=/opt/cmk   the release layout, through the tarball's own install.sh
#   make uninstall PREFIX=/opt/cmk removes exactly what `make install` installed
#
# The release is built in its own scratch path (.build/dist), so `swift build -c release` and
# .build/release stay as the README says. Its binaries find the Swift runtime shipped beside them
# through relative RUNPATHs: cmk (bin/) $ORIGIN/../lib/cmk/swift, the providers (lib/cmk/plugins/)
# $ORIGIN/../swift, libcmk-https.so (lib/cmk/) $ORIGIN/swift; no toolchain path
# (-no-toolchain-stdlib-rpath) and no bare $ORIGIN (--disable-local-rpath). Each product is linked
# by its own `swift build --product` with its own -Xlinker flags; the compile flags are the same
# for all, so the modules they share are compiled once.
PREFIX ?= /usr/local
CONFIG ?= release
BIN ?= .build/$(CONFIG)

DIST_SCRATCH := .build/dist
DIST_BIN := $(DIST_SCRATCH)/release
DIST_FLAGS := -c release --scratch-path $(DIST_SCRATCH) --disable-local-rpath -Xswiftc -no-toolchain-stdlib-rpath
ARCH := $(shell uname -m)
VERSION = $(shell sed -n 's/^ *static let version = "\(.*\)"/\1/p' Sources/cmk/CMK.swift)
RELEASE = cmk-$(VERSION)-linux-$(ARCH)
STAGE = $(DIST_SCRATCH)/stage/$(RELEASE)
# Reproducible: the tarball's dates are the last commit's.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || date +%s)

.PHONY: build install uninstall install-files test bench dist dist-build dist-stage dist-check

build:
	swift build -c $(CONFIG)

dist-build:
	swift build $(DIST_FLAGS) --product cmk -Xlinker -rpath -Xlinker '$$ORIGIN/../lib/cmk/swift'
	swift build $(DIST_FLAGS) --product cmk-provider-aws -Xlinker -rpath -Xlinker '$$ORIGIN/../swift'
	swift build $(DIST_FLAGS) --product cmk-provider-azure -Xlinker -rpath -Xlinker '$$ORIGIN/../swift'
	swift build $(DIST_FLAGS) --product cmk-https -Xlinker -rpath -Xlinker '$$ORIGIN/swift'

dist-stage: dist-build
	packaging/stage.sh $(DIST_BIN) $(STAGE) --runtime

dist: dist-stage
	mkdir -p dist
	rm -f dist/$(RELEASE).tar.gz
	tar -C $(dir $(STAGE)) --sort=name --owner=0 --group=0 --numeric-owner --mtime=@$(SOURCE_DATE_EPOCH) \
		-cf - $(RELEASE) | gzip -n -9 > dist/$(RELEASE).tar.gz
	@ls -l dist/$(RELEASE).tar.gz

# The emulator is not shipped: built in the same scratch path (same compile flags, nothing
# recompiled), it runs with the toolchain's runtime and outside the check's hidden-toolchain namespace.
dist-check: dist
	swift build $(DIST_FLAGS) --product cmk-azure-emulator
	packaging/dist-check.sh dist/$(RELEASE).tar.gz $(DIST_BIN)/cmk-azure-emulator

# The release layout, by the release's own install script (which writes the uninstall manifest).
install: dist-stage
	$(STAGE)/install.sh $(PREFIX)

uninstall:
	sh packaging/install.sh --uninstall $(PREFIX)

# What is already built in $(BIN), in the same layout by the same script, without the Swift
# runtime (those binaries find the toolchain's): for trying a development build.
install-files:
	stage=$$(mktemp -d) && trap 'rm -rf "$$stage"' EXIT && packaging/stage.sh $(BIN) "$$stage/cmk" && \
		"$$stage/cmk/install.sh" $(PREFIX)

test:
	swift test

bench:
	python3 bench/bench.py
