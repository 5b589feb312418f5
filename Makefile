# diplan: the two commands a newcomer needs are `make run` and `make test`.
SWIFT ?= swift
RUN_DIR := .run
SOCKET := $(CURDIR)/$(RUN_DIR)/diplan.sock
SWIFT_FILES = $(shell git ls-files 'Sources/*.swift' 'Tests/*.swift' Package.swift | grep -v /Generated/)

.PHONY: run test build proto lint format bench clean c-example install

## run: build and start the daemon in the foreground on the embedded dataset
run:
	@scripts/deps.sh run
	$(SWIFT) build -c release --product diplan-server
	$(SWIFT) build -c release --product diplanctl
	@mkdir -p $(RUN_DIR)
	@echo
	@echo "diplan is starting on $(SOCKET). In another terminal, try:"
	@echo "  export DIPLAN_SOCKET=$(SOCKET)"
	@echo "  .build/release/diplanctl capacity --region latgale --group-by service"
	@echo
	exec .build/release/diplan-server --socket $(SOCKET) --state-dir $(CURDIR)/$(RUN_DIR)/state

## test: every test (unit, generated-code staleness, end-to-end over a real socket, the Python client) and the format check
test:
	@scripts/deps.sh test
	$(SWIFT) format lint --strict $(SWIFT_FILES)
	$(SWIFT) build --build-tests
	@# The man page generator, for the test that `make install` writes completions and man pages.
	$(SWIFT) build --product generate-manual
	$(SWIFT) test
	@# The Python client against the same daemon binary.
	scripts/python-test.sh

build:
	$(SWIFT) build

## proto: regenerate the Swift and C code and the descriptor set from proto/
proto:
	@scripts/deps.sh test
	scripts/proto-gen.sh

## bench: the echo floor, diplan and Redis in one run on this machine; writes BENCHMARKS.md
bench:
	@scripts/deps.sh bench
	scripts/bench.sh

format:
	$(SWIFT) format format -i $(SWIFT_FILES)

lint:
	$(SWIFT) format lint --strict $(SWIFT_FILES)

clean:
	rm -rf .build $(RUN_DIR)

## c-example: the C client library and its example, with a plain cc and pkg-config
C_CLIENT_DIR := Sources/CDIPlanClient
C_SOURCES = $(C_CLIENT_DIR)/diplan_client.c $(shell find $(C_CLIENT_DIR)/generated -name '*.pb-c.c' | sort)
C_FLAGS = -O2 -Wall -Wextra -I$(C_CLIENT_DIR)/include -I$(C_CLIENT_DIR)/generated $(shell pkg-config --cflags libprotobuf-c)
c-example:
	@scripts/deps.sh test
	@mkdir -p .build/c
	cc $(C_FLAGS) -o .build/c/diplan-c-example examples/c/diplan-c-example.c $(C_SOURCES) $(shell pkg-config --libs libprotobuf-c)
	@echo "built .build/c/diplan-c-example; try: .build/c/diplan-c-example $(SOCKET) ludza R-2024-0042"

## install: the binaries, the systemd units (and the metrics timer), the sysusers entry, a default configuration, completions and man pages
PREFIX ?= /usr/local
DESTDIR ?=
UNITDIR ?= /etc/systemd/system
install:
	$(SWIFT) build -c release --product diplan-server
	$(SWIFT) build -c release --product diplanctl
	$(SWIFT) build --product generate-manual
	install -D -m 0755 .build/release/diplan-server $(DESTDIR)$(PREFIX)/bin/diplan-server
	install -D -m 0755 .build/release/diplanctl $(DESTDIR)$(PREFIX)/bin/diplanctl
	install -D -m 0644 systemd/diplan.service $(DESTDIR)$(UNITDIR)/diplan.service
	install -D -m 0644 systemd/diplan.socket $(DESTDIR)$(UNITDIR)/diplan.socket
	install -D -m 0644 systemd/diplan-metrics.service $(DESTDIR)$(UNITDIR)/diplan-metrics.service
	install -D -m 0644 systemd/diplan-metrics.timer $(DESTDIR)$(UNITDIR)/diplan-metrics.timer
	install -D -m 0644 systemd/diplan.sysusers $(DESTDIR)/usr/lib/sysusers.d/diplan.conf
	install -D -m 0644 README.md $(DESTDIR)$(PREFIX)/share/doc/diplan/README.md
	install -D -m 0644 -t $(DESTDIR)$(PREFIX)/share/doc/diplan/docs docs/*.md
	scripts/install-docs.sh .build/release $(DESTDIR)$(PREFIX)
	[ -e $(DESTDIR)/etc/diplan/diplan.toml ] || install -D -m 0640 etc/diplan.toml $(DESTDIR)/etc/diplan/diplan.toml
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then \
		systemd-sysusers /usr/lib/sysusers.d/diplan.conf && chgrp diplan /etc/diplan/diplan.toml && systemctl daemon-reload && \
		echo "installed; start with: systemctl enable --now diplan.socket diplan-metrics.timer"; \
	else echo "installed under $(DESTDIR)$(PREFIX); on a systemd host run: systemd-sysusers && systemctl daemon-reload && systemctl enable --now diplan.socket diplan-metrics.timer"; fi
