//! Hot paths measured on one core: a policy decision for a realistic request
//! (3 policies, 10 statements, conditions), and SigV4 verification of an IAM call.
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use idbroker::crypto::sha256_hex;
use idbroker::iam::policy::{evaluate, NamedPolicy, PolicySet};
use idbroker::sigv4::{self, Authorization, RequestParts};

#[path = "policy_fixture.rs"]
mod policy_fixture;
use policy_fixture::{context, policies};

fn policy_evaluation(c: &mut Criterion) {
    let policies = policies();
    let statements: usize = policies.iter().map(|p| p.statements.len()).sum();
    assert_eq!(statements, 10);
    let set = PolicySet {
        identity: policies
            .iter()
            .enumerate()
            .map(|(i, p)| NamedPolicy { id: ["a", "b", "c"][i], policy: p })
            .collect(),
        ..Default::default()
    };
    let ctx = context();
    assert!(evaluate(&set, &ctx).allowed());
    let mut denied = ctx.clone();
    denied.set("aws:SourceIp", "203.0.113.9");
    let mut g = c.benchmark_group("policy");
    g.throughput(Throughput::Elements(1));
    g.bench_function("evaluate_allow_3_policies_10_statements", |b| {
        b.iter(|| evaluate(black_box(&set), black_box(&ctx)))
    });
    g.bench_function("evaluate_deny_3_policies_10_statements", |b| {
        b.iter(|| evaluate(black_box(&set), black_box(&denied)))
    });
    g.finish();
}

fn sigv4_verification(c: &mut Criterion) {
    let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    let body = b"Action=GetUser&Version=2010-05-08&UserName=alice";
    let amz_date = "20261127T120000Z";
    let headers = vec![
        ("host".to_string(), "127.0.0.1:8080".to_string()),
        ("content-type".to_string(), "application/x-www-form-urlencoded; charset=utf-8".to_string()),
        (
            "user-agent".to_string(),
            "Boto3/1.44.8 md/Botocore#1.44.8 ua/2.1 os/linux lang/python#3.11.7".to_string(),
        ),
        ("x-amz-date".to_string(), amz_date.to_string()),
        ("content-length".to_string(), body.len().to_string()),
    ];
    let unsigned = Authorization {
        access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
        date: "20261127".into(),
        region: "us-east-1".into(),
        service: "iam".into(),
        signed_headers: vec!["content-type".into(), "host".into(), "x-amz-date".into()],
        signature: String::new(),
    };
    let parts = RequestParts { method: "POST", path: "/", query: "", headers: &headers, body };
    let signature = sigv4::sign(&parts, &unsigned, amz_date, secret, &sha256_hex(body));
    let header = format!(
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261127/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature={signature}"
    );
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-27T12:01:00Z").unwrap().to_utc();
    let verify = || {
        let auth = sigv4::parse_authorization(black_box(&header)).unwrap();
        let date = sigv4::check_request(&parts, &auth, now, "us-east-1", "iam").unwrap();
        sigv4::verify_signature(&parts, &auth, &date, secret).unwrap();
    };
    verify();
    let mut g = c.benchmark_group("sigv4");
    g.throughput(Throughput::Elements(1));
    g.bench_function("verify_iam_request", |b| b.iter(verify));
    g.finish();
}

criterion_group!(benches, policy_evaluation, sigv4_verification);
criterion_main!(benches);
