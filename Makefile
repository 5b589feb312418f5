# diplan: the two commands a newcomer needs are `make run` and `make test`.
SWIFT ?= swift
RUN_DIR := .run
SOCKET := $(CURDIR)/$(RUN_DIR)/diplan.sock
SWIFT_FILES = $(shell git ls-files 'Sources/*.swift' 'Tests/*.swift' Package.swift | grep -v /Generated/)

.PHONY: run test build proto lint format bench clean c-example

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

## test: every test (unit, generated-code staleness, end-to-end over a real socket) and the format check
test:
	@scripts/deps.sh test
	$(SWIFT) format lint --strict $(SWIFT_FILES)
	$(SWIFT) build --build-tests
	$(SWIFT) test

build:
	$(SWIFT) build

## proto: regenerate the Swift and C code and the descriptor set from proto/
proto:
	@scripts/deps.sh test
	scripts/proto-gen.sh

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
