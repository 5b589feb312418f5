# diplan: the two commands a newcomer needs are `make run` and `make test`.
SWIFT ?= swift
RUN_DIR := .run
SOCKET := $(CURDIR)/$(RUN_DIR)/diplan.sock
SWIFT_FILES = $(shell git ls-files 'Sources/*.swift' 'Tests/*.swift' Package.swift | grep -v /Generated/)

.PHONY: run test build proto lint format bench clean

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
