# berth: one static multicall binary. `make build`, `make test`, `make bench`, `make demo`.
TARGET  := x86_64-unknown-linux-gnu
RELEASE := target/$(TARGET)/release/berth
COMMIT  := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
export BERTH_COMMIT := $(COMMIT)

.PHONY: build test unit integration bench demo clean size

# Static glibc: the explicit --target keeps +crt-static away from proc-macro crates.
build:
	RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --locked --target $(TARGET)
	cp $(RELEASE) target/berth
	@file -L target/berth
	@echo "target/berth: $$(stat -c %s target/berth) bytes"

# THE test command (README.md and .ci/run): unit tests, then integration tests that run target/berth.
test: build
	cargo test --locked --lib
	cargo test --locked --no-fail-fast --test "*" -- --test-threads=$${TEST_THREADS:-4}

bench: build
	@command -v runc >/dev/null || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends runc)
	cargo bench --locked --bench side_by_side

demo: build
	sh scripts/demo.sh

size: build
	@stat -c '%s bytes' target/berth

clean:
	cargo clean
