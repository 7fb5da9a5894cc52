# Gemini Gateway. `make run` and `make test` are the two commands that matter; see README.md.
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
PORT ?= 8080
export PATH := $(BIN):$(PATH)

.PHONY: run test tools lint unit terraform-check bench fuzz package key deploy-gcp deploy-aws destroy-gcp destroy-aws

## run: start the gateway locally through functions-framework on $PORT (the offline emulator
## when no Google credentials are configured; a local key is printed when none is set).
run:
	GATEWAY_LOCAL=1 PORT=$(PORT) $(GO) run ./functions/local

## test: everything CI runs: tools, format, vet, staticcheck, unit and integration tests, Terraform checks.
test: tools lint unit terraform-check

tools:
	bash scripts/install-tools.sh

lint:
	@bad=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './bin/*')); \
	if [ -n "$$bad" ]; then echo "gofmt needed:"; echo "$$bad"; exit 1; fi
	$(GO) vet ./...
	$(BIN)/staticcheck ./...

unit:
	$(GO) test -race -count=1 -timeout 15m ./...

terraform-check:
	bash scripts/check-terraform.sh

## bench: Go benchmarks of translation, and the loopback overhead benchmark.
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./shared/...
	$(GO) run ./scripts/loopbench -n 2000

## fuzz: each fuzz target for a bounded time (not part of make test).
FUZZTIME ?= 30s
fuzz:
	$(GO) test ./shared/openai -run '^$$' -fuzz FuzzDecodeRequest -fuzztime $(FUZZTIME)
	$(GO) test ./shared/gemini -run '^$$' -fuzz FuzzEventReader -fuzztime $(FUZZTIME)
	$(GO) test ./shared/translate -run '^$$' -fuzz FuzzStream -fuzztime $(FUZZTIME)

## key: add a client key to the Secret Manager secret (GATEWAY_KEYS_SECRET or SECRET=projects/P/secrets/S).
key:
	@test -n "$(NAME)" || { echo "usage: make key NAME=<name> [SECRET=projects/P/secrets/S]"; exit 2; }
	$(GO) run ./scripts/keytool add $(NAME) $(if $(SECRET),--secret $(SECRET))
