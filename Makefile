# Ferry: the two quick-start commands are `make demo` and `make test` (see README.md).
SHELL := /bin/bash
DOTNET ?= dotnet
CONFIG ?= Release
ARTIFACTS := artifacts
AGENT := $(ARTIFACTS)/agent/agent
FERRY := $(ARTIFACTS)/ferry/ferry
RESULTS := tests/results

export DOTNET_CLI_TELEMETRY_OPTOUT := 1
export DOTNET_NOLOGO := 1
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE := 1

.PHONY: all deps build publish package test bench fuzz format format-check demo clean

all: build

## deps: install the Debian packages the tests and the demo use (only those missing)
deps:
	@scripts/install-deps.sh

## build: compile every project (warnings are errors)
build:
	$(DOTNET) build Agent.sln -c $(CONFIG)

## publish: the native-AOT agent (one file) and the ferry operator executable
publish:
	$(DOTNET) publish src/Agent/Agent.csproj -c $(CONFIG) -o $(ARTIFACTS)/obj/agent-publish
	install -D -m 0755 $(ARTIFACTS)/obj/agent-publish/agent $(AGENT)
	$(DOTNET) publish src/Ferry/Ferry.csproj -c $(CONFIG) -o $(ARTIFACTS)/ferry

## package: agent-linux-x64.tar.gz (agent, excludes, config template, README, systemd unit), also served by ferry serve
package: publish
	@packaging/make-package.sh

## format-check: the code style in .editorconfig, as CI checks it
format-check:
	$(DOTNET) format Agent.sln --verify-no-changes

format:
	$(DOTNET) format Agent.sln

## test: everything, with TRX results in tests/results/ (needs root: loop devices, mount), then the style check
test: deps build package
	@rm -rf $(RESULTS); status=0; \
	for project in Unit Integration; do \
	  $(DOTNET) test tests/$$project/$$project.csproj -c $(CONFIG) --no-build \
	    --logger "trx;LogFileName=$$project.trx" --logger "console;verbosity=normal" \
	    --results-directory $(RESULTS) || status=1; \
	done; \
	$(DOTNET) format Agent.sln --verify-no-changes || { echo "code style: run 'make format'" >&2; status=1; }; \
	exit $$status

## bench: Ferry against dd|lz4|nc (and, as they land, rsync) on the same data; writes bench/results/latest.json
bench: deps publish
	@bench/run.sh

## fuzz: the receiver's frame and file-entry fuzzers, longer than in make test and with a fresh seed
## (FUZZ_FRAMES=20000000 and FUZZ_ENTRIES=1000000 by default; the entry fuzzer needs root)
fuzz: build
	seed=$${FUZZ_SEED:-$$(date +%s)}; echo "fuzz seed $$seed"; \
	FERRY_FUZZ_FRAMES=$${FUZZ_FRAMES:-20000000} FERRY_FUZZ_SEED=$$seed \
	  $(DOTNET) test tests/Unit/Unit.csproj -c $(CONFIG) --no-build --filter "FullyQualifiedName~FrameFuzzTests" --logger "console;verbosity=detailed" && \
	FERRY_FUZZ_ENTRIES=$${FUZZ_ENTRIES:-1000000} FERRY_FUZZ_SEED=$$seed \
	  $(DOTNET) test tests/Integration/Integration.csproj -c $(CONFIG) --no-build --filter "FullyQualifiedName~EntryFuzzTests" --logger "console;verbosity=detailed"

## demo: build, make a sample source disk, migrate it with the native agent, verify, show the image
demo: deps publish
	@scripts/demo.sh

clean:
	rm -rf $(ARTIFACTS) $(RESULTS) .demo
	$(DOTNET) clean Agent.sln -c $(CONFIG) >/dev/null
