# Plenum — the two commands: `make run` and `make test`. `make bench` runs the benchmarks, `make fuzz` the fuzzers, `make soak` the soak test.
SHELL := /bin/bash
SWIFT ?= swift
CONFIG ?= hub.yaml
# Debian packages the build needs (C libraries behind CLua, CYAML, CModbus, CSQLite and CMosquitto),
# and Chart.js, which the hub serves to the dashboard's charts (docs/dashboard.md).
BUILD_DEBS := liblua5.4-dev libyaml-dev libmodbus-dev libsqlite3-dev libmosquitto-dev pkg-config libjs-chart.js
# Extra Debian packages the tests need (Python venv for the independent WebSocket client, the
# Modbus peers and the bacpypes3 BACnet peer; socat for the pty pairs of the Modbus RTU tests; curl
# for the REST write tests; the mosquitto broker and openssl for the MQTT bridge tests, with
# paho-mqtt as their subscriber; python3-seccomp for /usr/bin/python3, which applies the systemd
# unit's system call filter; systemd for systemd-analyze, which checks the unit; chromium for the
# dashboard's browser tests, driven by Playwright — which never downloads a browser).
TEST_DEBS := python3-venv socat curl mosquitto openssl python3-seccomp systemd chromium
# Extra Debian packages `make bench` needs: gcc builds the floor (../shared/bench/floor.c) that the
# floor-* scenarios run beside the hub; linux-perf gives their `PERF_STAT=1` counts (optional).
BENCH_DEBS := gcc linux-perf
VENV := .venv
PYTHON_PACKAGES := websockets==17.4 pymodbus==3.16.1 pyserial==3.5 bacpypes3==0.0.110 paho-mqtt==2.1.0 playwright==1.65.2

.PHONY: run test test-plaintext build lint deps test-deps apt-test-debs venv bench bench-deps bench-floor fuzz soak clean

## Install missing Debian packages: as root directly, otherwise via sudo, otherwise say what to run.
define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing) || exit 1; \
	  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
	    (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing) || exit 1; \
	  else \
	    echo "Plenum needs these Debian packages:$$missing"; \
	    echo "Install them with:  sudo apt-get install$$missing"; exit 1; \
	  fi; \
	fi
endef

deps:
	$(call apt_install,$(BUILD_DEBS))

test-deps: deps
	@python3 -m venv --help >/dev/null 2>&1 && command -v socat >/dev/null 2>&1 && command -v curl >/dev/null 2>&1 \
	  && test -x /usr/sbin/mosquitto && command -v openssl >/dev/null 2>&1 \
	  && /usr/bin/python3 -c "import seccomp" >/dev/null 2>&1 && command -v systemd-analyze >/dev/null 2>&1 \
	  && command -v chromium >/dev/null 2>&1 || $(MAKE) --no-print-directory apt-test-debs
	@$(MAKE) --no-print-directory venv

apt-test-debs:
	$(call apt_install,$(TEST_DEBS))

venv:
	@if ! $(VENV)/bin/python -c "import websockets, pymodbus, serial, bacpypes3, paho.mqtt, playwright, sys, importlib.metadata as m; sys.exit(websockets.__version__ != \"17.4\" or pymodbus.__version__ != \"3.16.1\" or serial.__version__ != \"3.5\" or bacpypes3.__version__ != \"0.0.110\" or paho.mqtt.__version__ != \"2.1.0\" or m.version(\"playwright\") != \"1.65.2\")" >/dev/null 2>&1; then \
	  echo "Creating $(VENV) with $(PYTHON_PACKAGES)"; \
	  rm -rf $(VENV); python3 -m venv $(VENV) && $(VENV)/bin/pip install -q $(PYTHON_PACKAGES); \
	fi

build: deps
	$(SWIFT) build -c release --product plenum

run: build
	.build/release/plenum run --config $(CONFIG)

lint:
	$(SWIFT) format lint --strict -r Sources Tests Package.swift

# Swift Testing prints its own summary; the last line restates it as "N passed, N failed".
# Tests run one at a time: many start the hub, peers or brokers and wait on them, and run side by
# side on a 2-core machine they starve each other's threads (Swift's pool has one per core).
test: test-deps lint
	$(SWIFT) build --build-tests
	@set -o pipefail; PLENUM_PYTHON=$(CURDIR)/$(VENV)/bin/python $(SWIFT) test --no-parallel 2>&1 | tee .build/test.log; \
	status=$$?; \
	summary=$$(grep -E "Test run with [0-9]+ tests?" .build/test.log | tail -1); \
	total=$$(echo "$$summary" | sed -E 's/.*Test run with ([0-9]+) tests?.*/\1/'); \
	failed_tests=$$(grep -E "^✘ Test [^ ]+ failed" .build/test.log | wc -l); \
	if [ -z "$$total" ] || [ "$$total" = 0 ]; then echo "no tests ran"; exit 1; fi; \
	echo "$$((total - failed_tests)) passed, $$failed_tests failed"; \
	exit $$status
	@$(MAKE) --no-print-directory test-plaintext

# The plaintext-only build (package trait TLS off, docs/security.md): it builds, and it refuses a
# server.tls section with the located error instead of serving plaintext where TLS was asked for.
test-plaintext:
	$(SWIFT) build --disable-default-traits --scratch-path .build/plaintext --product plenum
	@dir=$$(mktemp -d); trap 'rm -rf "$$dir"' EXIT; \
	printf 'server:\n  tls: {cert: %s/hub.crt, key: %s/hub.key}\ndevices: []\n' "$$dir" "$$dir" > "$$dir/hub.yaml"; \
	if .build/plaintext/debug/plenum check --config "$$dir/hub.yaml" > "$$dir/out" 2>&1; then \
	  echo "test-plaintext: plenum check accepted server.tls in a build without TLS"; exit 1; fi; \
	grep -q "built without TLS" "$$dir/out" || { echo "test-plaintext: no 'built without TLS' in:"; cat "$$dir/out"; exit 1; }; \
	echo "test-plaintext: the plaintext-only build refuses server.tls as documented"

# Release build of the hub and the load generator, then every scenario (3 runs each);
# results go to bench/results/. `make bench SCENARIOS="seed-10hz-tick10 batch" RUNS=1` for a subset.
# `make bench-floor`: only the floor side by side (floor-ceiling, floor-batch, floor-slow; ~3 min).
RUNS ?= 3
SCENARIOS ?=
bench-deps:
	$(call apt_install,$(BENCH_DEBS))

bench-floor:
	$(MAKE) --no-print-directory bench SCENARIOS="floor-ceiling floor-batch floor-slow"

bench: deps bench-deps
	$(SWIFT) build -c release --product plenum
	$(SWIFT) build -c release --product plenum-loadgen
	$(SWIFT) build -c release --product plenum-bacnet-bench
	$(SWIFT) build -c release --product plenum-trendbench
	python3 bench/run.py --runs $(RUNS) $(SCENARIOS)

# Fuzzing, never part of `make test`: builds the libFuzzer + AddressSanitizer targets in .build-fuzz
# and runs each (one at a time, nice 10) for FUZZ_SECONDS under -rss_limit_mb=FUZZ_RSS_MB; fails on
# a crash, a hang or memory growth. `make fuzz FUZZ_TARGETS=config FUZZ_SECONDS=60` for one, briefly.
# docs/reliability.md, "Fuzzing".
FUZZ_SECONDS ?= 600
FUZZ_RSS_MB ?= 2048
FUZZ_TARGETS ?=
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_RSS_MB=$(FUZZ_RSS_MB) SWIFT=$(SWIFT) Tests/Fuzz/fuzz.sh $(FUZZ_TARGETS)

# Soak test, never part of `make test`: the shipped plant (release build) for SOAK_SECONDS under 2,000
# churning clients, a never-reading client, a pipelining HTTP client, SIGHUP every 30 s and a script
# edit every 20 s; exits 1 on a crash, RSS or fd growth, or a client not holding the latest versions.
# docs/reliability.md, "Soak".
SOAK_SECONDS ?= 600
soak: deps
	$(SWIFT) build -c release --product plenum
	$(SWIFT) build -c release --product plenum-loadgen
	SOAK_SECONDS=$(SOAK_SECONDS) nice -n 10 python3 Tests/Soak/soak.py

clean:
	rm -rf .build .build-fuzz $(VENV)
