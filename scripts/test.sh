#!/usr/bin/env bash
# Runs every test of the project on a fresh Debian 12 machine of our kind: installs what is missing
# (scripts/bootstrap.sh), lints, then runs unit, property, end-to-end and real-window tests.
# A second run skips the set-up that is already done.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export PATH="$root/.tools/bin:$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step() { printf '\n==> %s\n' "$*"; }

step "set-up (Debian packages, tauri-driver, FerretDB, UI packages)"
scripts/bootstrap.sh

mkdir -p test-artifacts

step "UI: lint, type-check, unit tests, build"
(cd ui && npm run --silent lint && npm run --silent typecheck && npm run --silent test && npm run --silent build) 2>&1 | tee test-artifacts/ui-test.log
# The in-memory mock backend is for `npm run dev` only: no shipped bundle (app or portal) holds it.
if grep -l "in-memory mock backend" ui/dist/assets/* ui/dist-portal/assets/* 2>/dev/null; then
  echo "the mock backend leaked into a production bundle (ui/src/api.ts must import it only under import.meta.env.DEV)" >&2
  exit 1
fi

step "Rust: format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

step "Rust: build binaries used by the end-to-end tests"
cargo build --workspace --bins --locked

step "Rust: unit, property, end-to-end and real-window tests"
# The real-window test needs a display: Xvfb provides one. ANOLA_REQUIRE_GUI_TESTS turns a missing
# prerequisite into a failure instead of a skip.
ANOLA_REQUIRE_GUI_TESTS=1 xvfb-run -a -s "-screen 0 1400x900x24" \
  cargo test --workspace --locked -- --test-threads=2 2>&1 | tee test-artifacts/cargo-test.log

echo
echo "screenshots and logs: $root/test-artifacts/"
# One closing line over every runner: cargo's per-binary summaries plus the UI's vitest total.
read -r rust_passed rust_failed < <(grep -Eo 'test result: [a-zA-Z]+\. [0-9]+ passed; [0-9]+ failed' test-artifacts/cargo-test.log \
  | awk '{p += $4; f += $6} END {print p + 0, f + 0}')
ui_passed=$(sed 's/\x1b\[[0-9;]*m//g' test-artifacts/ui-test.log | grep -Eo 'Tests +[0-9]+ passed' | grep -Eo '[0-9]+' | tail -n 1 || true)
echo "total: $((rust_passed + ${ui_passed:-0})) passed, ${rust_failed} failed"
