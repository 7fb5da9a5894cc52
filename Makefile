# Gemini Gateway. `make run` and `make test` are the two commands that matter; see README.md.
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
PORT ?= 8080
export PATH := $(BIN):$(PATH)

.PHONY: help run test tools tidy lint unit terraform-check bench fuzz package key keys revoke-key deploy-gcp deploy-aws destroy-gcp destroy-aws smoke

## help: list the targets with what they do.
help:
	@awk '/^## [a-z][a-z \/-]*: / { sub(/^## /, ""); n = index($$0, ": "); printf "  %-26s %s\n", substr($$0, 1, n - 1), substr($$0, n + 2); next } \
	      /^## / { sub(/^## /, ""); printf "  %-26s %s\n", "", $$0 }' $(MAKEFILE_LIST)

## run: build the local server (bin/gateway-local) and run it on 127.0.0.1:$PORT (default 8080);
## the offline emulator when no Google credentials are set, with a key printed for the run.
## Ctrl-C, or SIGTERM to make's PID, stops it.
run:
	@$(GO) build -o $(BIN)/gateway-local ./functions/local
	@PORT=$(PORT) exec $(BIN)/gateway-local

## test: everything CI runs: tools, go.mod tidiness, format, vet, staticcheck, unit and integration
## tests, Terraform checks.
test: tools tidy lint unit terraform-check

## tools: terraform and tflint into ./bin. staticcheck is a `tool` directive in go.mod, run with `go tool`.
tools:
	bash scripts/install-tools.sh

## tidy: fail when go.mod or go.sum is not what `go mod tidy` would write (the diff is printed).
tidy:
	$(GO) mod tidy -diff

lint:
	@bad=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './bin/*')); \
	if [ -n "$$bad" ]; then echo "gofmt needed:"; echo "$$bad"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

unit:
	$(GO) test -race -count=1 -timeout 15m ./...

terraform-check:
	bash scripts/check-terraform.sh

## bench: Go benchmarks (translation; the 8 MiB image request's time and allocations), loopback
## latency vs a bare ReverseProxy, then in separate processes: latency (time to first byte and
## end of stream, bursty and spaced upstream) and load (req/s, p50/p99, peak RSS at 32 and 256
## connections, unary and streamed) repeated BENCHRUNS times with issue 16's gateway/proxy
## ratios as medians, the large image and 1,000 slow streams; cold starts, and the hostile
## requests of issue 12 (status, wall time, peak RSS, CPU after the client left). On a shared
## machine compare ratios.
BENCHTIME ?= 4s
BENCHRUNS ?= 3
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./shared/...
	$(GO) run ./scripts/loopbench -n 2000
	$(GO) run ./scripts/loadbench -duration $(BENCHTIME) -runs $(BENCHRUNS)
	$(GO) run ./scripts/coldstart -n 10
	$(GO) run ./scripts/hostilebench

## fuzz: each fuzz target for a bounded time (not part of make test).
FUZZTIME ?= 60s
FUZZ = $(GO) test -run '^$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s
fuzz:
	$(FUZZ) ./shared/openai -fuzz '^FuzzDecodeRequest$$'
	$(FUZZ) ./shared/gemini -fuzz '^FuzzEventReader$$'
	$(FUZZ) ./shared/translate -fuzz '^FuzzStream$$'
	$(FUZZ) ./shared/gateway -fuzz '^FuzzLift$$'
	$(FUZZ) ./shared/jsonscan -fuzz '^FuzzScan$$'
	$(FUZZ) ./shared/media -fuzz '^FuzzParseDataURI$$'
	$(FUZZ) ./shared/jsonschema -fuzz '^FuzzClean$$'
	$(FUZZ) ./shared/jsonschema -fuzz '^FuzzSafeToolResult$$'
	$(FUZZ) ./shared/batch -fuzz '^FuzzRunFile$$'
	$(FUZZ) ./shared/openai -fuzz '^FuzzDecodeEmbeddingRequest$$'
	$(FUZZ) ./shared/gemini -fuzz '^FuzzScanDeveloperEmbeddings$$'
	$(FUZZ) ./shared/gemini -fuzz '^FuzzScanPredictions$$'
	$(FUZZ) ./shared/gemini -fuzz '^FuzzEmbedBodyJSON$$'
	$(FUZZ) ./shared/translate -fuzz '^FuzzVectorEncoding$$'
	$(FUZZ) ./shared/translate -fuzz '^FuzzParseFloat32$$'
	$(FUZZ) ./shared/translate -fuzz '^FuzzEarlyVectors$$'
	$(FUZZ) ./shared/gemini -fuzz '^FuzzJSONNumber$$'
	$(FUZZ) ./shared/translate -fuzz '^FuzzVectorLanes$$'
	$(FUZZ) ./shared/translate -fuzz '^FuzzRequestMatchesReference$$'
	$(FUZZ) ./shared/translate -fuzz '^FuzzMessagesMatchReference$$'
	$(FUZZ) ./shared/translate -fuzz '^FuzzResolveMatchesReference$$'
	$(FUZZ) ./shared/translate -fuzz '^FuzzResponseMatchesReference$$'
	$(FUZZ) ./shared/translate -fuzz '^FuzzJoined$$'
	$(FUZZ) ./shared/gemini -fuzz '^FuzzFastResponse$$'
	$(FUZZ) ./shared/gemini -fuzz '^FuzzEndpointURL$$'
	$(FUZZ) ./shared/jsonscan -fuzz '^FuzzValid$$'
	$(FUZZ) ./shared/jsonscan -fuzz '^FuzzUnquote$$'
	$(FUZZ) ./shared/openai -fuzz '^FuzzDecodeTopLevel$$'
	$(FUZZ) ./shared/jsonscan -fuzz '^FuzzValidAt$$'
	$(FUZZ) ./shared/openai -fuzz '^FuzzDecodeInTheWalk$$'
	$(FUZZ) ./shared/gateway -fuzz '^FuzzRequestLine$$'

## package: build the deployment artifacts: dist/gcf-source.zip (Cloud Functions source archive)
## and dist/lambda.zip (Lambda bootstrap, linux/arm64). Reproducible: same code, same bytes.
package:
	bash scripts/package.sh

## deploy-gcp / deploy-aws: build the artifact, then terraform init + apply in terraform/examples/<cloud>
## with its terraform.tfvars (copy terraform.tfvars.example first). TF_ARGS=-auto-approve skips the prompt.
deploy-gcp:
	bash scripts/deploy.sh gcp apply $(TF_ARGS)

deploy-aws:
	bash scripts/deploy.sh aws apply $(TF_ARGS)

## destroy-gcp / destroy-aws: terraform destroy in terraform/examples/<cloud>.
destroy-gcp:
	bash scripts/deploy.sh gcp destroy $(TF_ARGS)

destroy-aws:
	bash scripts/deploy.sh aws destroy $(TF_ARGS)

## smoke: check a deployed (or `make run`) gateway with curl: make smoke URL=https://… KEY=gk-…
smoke:
	@[ -n "$(URL)" ] && [ -n "$(KEY)" ] || { echo "usage: make smoke URL=<gateway url> KEY=<client key>"; exit 2; }
	bash scripts/smoke.sh "$(URL)" "$(KEY)"

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
