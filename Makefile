# Gemini Gateway. `make run` and `make test` are the two commands that matter; see README.md.
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
PORT ?= 8080
export PATH := $(BIN):$(PATH)

.PHONY: run test tools lint unit terraform-check bench fuzz package key keys revoke-key deploy-gcp deploy-aws destroy-gcp destroy-aws smoke

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

## key / keys / revoke-key: manage client keys in the Secret Manager secret
## (GATEWAY_KEYS_SECRET or SECRET=projects/P/secrets/S); the new key is printed once.
KEYTOOL = $(GO) run ./scripts/keytool
KEYTOOL_FLAGS = $(if $(SECRET),--secret $(SECRET))
key:
	@test -n "$(NAME)" || { echo "usage: make key NAME=<name> [MODELS=a,b] [RPM=n] [SECRET=projects/P/secrets/S]"; exit 2; }
	@$(KEYTOOL) add "$(NAME)" $(KEYTOOL_FLAGS) $(if $(MODELS),--models "$(MODELS)") $(if $(RPM),--rpm $(RPM))
keys:
	@$(KEYTOOL) list $(KEYTOOL_FLAGS)
revoke-key:
	@test -n "$(NAME)" || { echo "usage: make revoke-key NAME=<name>"; exit 2; }
	@$(KEYTOOL) revoke "$(NAME)" $(KEYTOOL_FLAGS)
