//! Runs the benchmark's policy decision N times (default 100 000), for counting
//! instructions with `valgrind --tool=callgrind`: on a shared machine the count
//! is repeatable where wall-clock time is not.
#[path = "../benches/policy_fixture.rs"]
mod policy_fixture;

use idbroker::iam::policy::{evaluate, NamedPolicy, PolicySet};

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let policies = policy_fixture::policies();
    let set = PolicySet {
        identity: policies.iter().map(|p| NamedPolicy { id: "p", policy: p }).collect(),
        ..Default::default()
    };
    let ctx = policy_fixture::context();
    let mut allowed = 0;
    for _ in 0..n {
        allowed += usize::from(evaluate(std::hint::black_box(&set), std::hint::black_box(&ctx)).allowed());
    }
    assert_eq!(allowed, n);
}
