# Build, install and check cmk. `make install PREFIX=/opt/cmk` puts cmk in PREFIX/bin and the
# providers in PREFIX/lib/cmk/plugins, where cmk's discovery finds them.
PREFIX ?= /usr/local
CONFIG ?= release
BIN ?= .build/$(CONFIG)

.PHONY: build install install-files test bench

build:
	swift build -c $(CONFIG)

install: build install-files

# Copies what is already built in $(BIN); `make install` builds first.
install-files:
	install -d $(PREFIX)/bin $(PREFIX)/lib/cmk/plugins
	install -m 0755 $(BIN)/cmk $(PREFIX)/bin/cmk
	install -m 0755 $(BIN)/libcmk-https.so $(PREFIX)/lib/cmk/libcmk-https.so
	install -m 0755 $(BIN)/libcmk-provider-*.so $(PREFIX)/lib/cmk/plugins/

test:
	swift test

bench:
	python3 bench/bench.py
