#!/usr/bin/env bash
# The SAML differential harness (tests/saml_differential.rs) for a while
# instead of its bounded default: SECONDS seconds (default 600), one run per
# seed, the two cores busy. Every accepted mutant must be well-formed to
# roxmltree and verify with the same claims in libxmlsec1.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
cargo test --locked --release --test saml_differential --no-run -q
pids=()
for seed in 101 202; do
  IDBROKER_FUZZ_SEED=$seed IDBROKER_FUZZ_SECONDS=$seconds \
    cargo test --locked --release -q --test saml_differential -- --nocapture >"target/fuzz-saml-$seed.log" 2>&1 &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
grep -h "differential:" target/fuzz-saml-*.log || true
[[ $status == 0 ]] || { echo "a run failed: see target/fuzz-saml-*.log" >&2; exit 1; }
