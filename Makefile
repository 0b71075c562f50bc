# berth: one static multicall binary. `make build`, `make test`, `make bench`, `make demo`.
TARGET  := x86_64-unknown-linux-gnu
RELEASE := target/$(TARGET)/release/berth
COMMIT  := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
export BERTH_COMMIT := $(COMMIT)

.PHONY: build test unit integration bench demo clean size

# Static glibc: the explicit --target keeps +crt-static away from proc-macro crates.
# Not position-independent (as runc, containerd and the Docker CLI ship): a static-pie binary
# relocates ~10,000 pointers at every start, which makes 190 KB of private copies in every
# process (each shim) and 270 KB of relocation records in the file. The price: the binary's own
# image is not randomised (heap, stack and mappings still are).
build:
	RUSTFLAGS="-C target-feature=+crt-static -C relocation-model=static" cargo build --release --locked --target $(TARGET)
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
