//! AWS's published SigV4 test suite (aws-sig-v4-test-suite, 2015-08-30), and the
//! checks around it.
use super::*;
use chrono::TimeZone;

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const DATE: &str = "20150830T123600Z";

fn headers(extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut h: Vec<(String, String)> = extra.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    h.push(("host".into(), "example.amazonaws.com".into()));
    h.push(("x-amz-date".into(), DATE.into()));
    h
}

fn auth(signed: &str, signature: &str) -> Authorization {
    parse_authorization(&format!(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders={signed}, Signature={signature}"
    ))
    .unwrap()
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2015, 8, 30, 12, 36, 0).unwrap()
}

fn verify_vector(
    method: &str,
    path: &str,
    query: &str,
    extra: &[(&str, &str)],
    body: &[u8],
    signed: &str,
    sig: &str,
) {
    let h = headers(extra);
    let req = RequestParts { method, path, query, headers: &h, body };
    let a = auth(signed, sig);
    let date = check_request(&req, &a, now(), "us-east-1", "service").unwrap();
    verify_signature(&req, &a, &date, SECRET).unwrap();
}

#[test]
fn get_vanilla() {
    verify_vector(
        "GET",
        "/",
        "",
        &[],
        b"",
        "host;x-amz-date",
        "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
    );
}

#[test]
fn get_vanilla_query_order_key_case() {
    verify_vector(
        "GET",
        "/",
        "Param2=value2&Param1=value1",
        &[],
        b"",
        "host;x-amz-date",
        "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
    );
}

#[test]
fn post_x_www_form_urlencoded() {
    verify_vector(
        "POST",
        "/",
        "",
        &[("content-type", "application/x-www-form-urlencoded")],
        b"Param1=value1",
        "content-type;host;x-amz-date",
        "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
    );
}

#[test]
fn canonical_request_of_the_form_example() {
    let h = headers(&[("content-type", "application/x-www-form-urlencoded")]);
    let req = RequestParts { method: "POST", path: "/", query: "", headers: &h, body: b"Param1=value1" };
    let signed: Vec<String> = ["content-type", "host", "x-amz-date"].iter().map(|s| s.to_string()).collect();
    let c = canonical_request(&req, &signed, &sha256_hex(b"Param1=value1"));
    assert_eq!(
        c,
        "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"
    );
    assert_eq!(
        sha256_hex(string_to_sign(DATE, "20150830/us-east-1/service/aws4_request", &c).as_bytes()).len(),
        64
    );
    assert!(string_to_sign(DATE, "20150830/us-east-1/service/aws4_request", &c)
        .ends_with("42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281"));
}

#[test]
fn header_values_are_trimmed_and_repeats_joined() {
    let h = vec![
        ("host".to_string(), "example.amazonaws.com".to_string()),
        ("my-header1".to_string(), "  value2   with  spaces ".to_string()),
        ("my-header1".to_string(), "value1".to_string()),
    ];
    let req = RequestParts { method: "GET", path: "/", query: "", headers: &h, body: b"" };
    let c = canonical_request(&req, &["host".into(), "my-header1".into()], "x");
    assert!(c.contains("my-header1:value2 with spaces,value1\n"), "{c}");
    assert_eq!(canonical_uri("/ሴ"), "/%E1%88%B4");
}

fn post_request_check(
    mutate: impl FnOnce(&mut Vec<(String, String)>, &mut Vec<u8>, &mut String),
) -> Result<(), SigV4Error> {
    let mut h = headers(&[("content-type", "application/x-www-form-urlencoded")]);
    let mut body = b"Param1=value1".to_vec();
    let mut signed = "content-type;host;x-amz-date".to_string();
    mutate(&mut h, &mut body, &mut signed);
    let req = RequestParts { method: "POST", path: "/", query: "", headers: &h, body: &body };
    let a = auth(&signed, "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a");
    let date = check_request(&req, &a, now(), "us-east-1", "service")?;
    verify_signature(&req, &a, &date, SECRET)
}

#[test]
fn any_change_to_a_signed_part_is_refused() {
    assert!(post_request_check(|_, _, _| {}).is_ok());
    let mismatch = |r: Result<(), SigV4Error>| matches!(r, Err(SigV4Error::Mismatch(_)));
    assert!(mismatch(post_request_check(|_, b, _| b.extend_from_slice(b"&x=1"))));
    assert!(mismatch(post_request_check(|h, _, _| h[0].1 = "text/plain".into())));
    assert!(mismatch(post_request_check(|h, _, _| h[1].1 = "evil.example.com".into())));
    assert!(mismatch(post_request_check(
        |h, _, _| h.push(("x-amz-content-sha256".into(), sha256_hex(b"other")))
    )));
}

#[test]
fn host_and_date_must_be_signed() {
    let r = post_request_check(|_, _, s| *s = "content-type;x-amz-date".into());
    assert!(matches!(r, Err(SigV4Error::Incomplete(m)) if m.contains("'host'")));
    let r = post_request_check(|_, _, s| *s = "content-type;host".into());
    assert!(matches!(r, Err(SigV4Error::Incomplete(m)) if m.contains("'x-amz-date'")));
    let r = post_request_check(|h, _, _| {
        h.remove(0);
    });
    assert!(matches!(r, Err(SigV4Error::Incomplete(m)) if m.contains("content-type")));
}

#[test]
fn the_date_window_is_fifteen_minutes_either_way() {
    let h = headers(&[]);
    let req = RequestParts { method: "GET", path: "/", query: "", headers: &h, body: b"" };
    let a = auth("host;x-amz-date", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    for (offset, ok) in
        [(0, true), (15 * 60, true), (-15 * 60, true), (15 * 60 + 1, false), (-15 * 60 - 1, false)]
    {
        let at = now() + chrono::Duration::seconds(offset);
        let r = check_request(&req, &a, at, "us-east-1", "service");
        assert_eq!(r.is_ok(), ok, "offset {offset}");
        if !ok {
            assert!(matches!(r, Err(SigV4Error::Expired(_))));
        }
    }
}

#[test]
fn scope_must_name_our_region_and_service() {
    let h = headers(&[]);
    let req = RequestParts { method: "GET", path: "/", query: "", headers: &h, body: b"" };
    let a = auth("host;x-amz-date", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    assert!(matches!(check_request(&req, &a, now(), "eu-west-1", "service"), Err(SigV4Error::Mismatch(_))));
    assert!(matches!(check_request(&req, &a, now(), "us-east-1", "iam"), Err(SigV4Error::Mismatch(_))));
}

#[test]
fn malformed_headers_are_incomplete() {
    for bad in [
        "AWS4-HMAC-SHA1 Credential=a/20150830/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=00",
        "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        "AWS4-HMAC-SHA256 Credential=a/2015/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        "AWS4-HMAC-SHA256 Credential=a/20150830/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=zz",
        "AWS4-HMAC-SHA256 Credential=a/20150830/us-east-1/iam/aws4_request, SignedHeaders=Host, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        "AWS4-HMAC-SHA256Credential=a/20150830/us-east-1/iam/aws4_request",
    ] {
        assert!(matches!(parse_authorization(bad), Err(SigV4Error::Incomplete(_))), "{bad}");
    }
}
