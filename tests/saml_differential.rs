//! Differential testing of the SAML validation core. Genuine signed responses
//! (libxmlsec1's signer, with and without an InclusiveNamespaces PrefixList,
//! Response- or Assertion-signed) are mutated at random: byte flips, inserted
//! control characters and noncharacters, prefix and namespace rewrites,
//! duplicated, moved and dropped elements and attributes, moved signatures.
//! Whenever idbroker accepts a mutant, an independent strict parser
//! (roxmltree) must find it well-formed, and libxmlsec1 (through samael) must
//! verify it and read the same claims that idbroker read.
//!
//! Bounded by default (`IDBROKER_FUZZ_CASES`, default 1500 mutants); the seed
//! is fixed unless `IDBROKER_FUZZ_SEED` is set; `IDBROKER_FUZZ_SECONDS` runs
//! for a time instead (scripts/fuzz-saml.sh runs ten minutes).
#[path = "support/test_idp.rs"]
#[allow(dead_code)]
mod test_idp;

use chrono::{DateTime, Duration, Utc};
use idbroker::saml::{signing_key, verify_response, ServiceEndpoint, TrustedIdp, VerifiedAssertion};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use samael::crypto::{CertificateDer, Crypto, CryptoProvider, ReduceMode};
use samael::schema::{Assertion, Response};
use test_idp::{offline_now as now, TestIdp, OFFLINE as TO};

fn env<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// The claims both implementations must agree on.
#[derive(Debug, PartialEq)]
struct Claims {
    issuer: String,
    name_id: String,
    roles: Vec<String>,
    session_name: Vec<String>,
    recipient: String,
    not_on_or_after: DateTime<Utc>,
}

fn ours(v: &VerifiedAssertion) -> Claims {
    let attr = |n: &str| v.attribute(&format!("{}{n}", test_idp::ATTR)).unwrap_or_default().to_vec();
    Claims {
        issuer: v.issuer().to_owned(),
        name_id: v.name_id().to_owned(),
        roles: attr("Role"),
        session_name: attr("RoleSessionName"),
        recipient: v.recipient().to_owned(),
        not_on_or_after: v.not_on_or_after(),
    }
}

/// What libxmlsec1 verifies, read by samael from the signed part only.
fn oracle(xml: &str, cert: &CertificateDer) -> Result<Claims, String> {
    let reduced =
        Crypto::reduce_xml_to_signed(xml, std::slice::from_ref(cert), ReduceMode::ValidateAndMarkNoAncestors)
            .map_err(|e| format!("xmlsec refused: {e}"))?;
    let root = roxmltree::Document::parse(&reduced).map_err(|e| format!("signed part unreadable: {e}"))?;
    let assertion = if root.root_element().tag_name().name() == "Assertion" {
        reduced.parse::<Assertion>().map_err(|e| format!("signed assertion unreadable: {e}"))?
    } else {
        let response = reduced.parse::<Response>().map_err(|e| format!("signed response unreadable: {e}"))?;
        response.assertion.ok_or("no assertion in the signed part")?
    };
    let subject = assertion.subject.ok_or("no subject")?;
    let data = subject
        .subject_confirmations
        .unwrap_or_default()
        .into_iter()
        .find_map(|c| c.subject_confirmation_data);
    let data = data.ok_or("no confirmation data")?;
    let conditions = assertion.conditions.ok_or("no conditions")?;
    let attr = |n: &str| -> Vec<String> {
        let name = format!("{}{n}", test_idp::ATTR);
        let statements = assertion.attribute_statements.clone().unwrap_or_default();
        let attribute =
            statements.into_iter().flat_map(|s| s.attributes).find(|a| a.name.as_deref() == Some(&name));
        attribute.map(|a| a.values.into_iter().filter_map(|v| v.value).collect()).unwrap_or_default()
    };
    Ok(Claims {
        issuer: assertion.issuer.value.clone().unwrap_or_default(),
        name_id: subject.name_id.map(|n| n.value).unwrap_or_default(),
        roles: attr("Role"),
        session_name: attr("RoleSessionName"),
        recipient: data.recipient.unwrap_or_default(),
        not_on_or_after: conditions
            .not_on_or_after
            .unwrap_or(now())
            .min(data.not_on_or_after.unwrap_or(now())),
    })
}

/// Genuine signed responses in the shapes the mutations start from.
fn seeds(idp: &TestIdp) -> Vec<String> {
    let plain = idp.response(&TO, now(), |_| {});
    let exc = r#"<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>"#;
    let listed = r#"<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"><ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" PrefixList="xs xsd"/></ds:Transform>"#;
    let prefix_list = idp.resign(&plain, |t| t.replacen(exc, listed, 1));
    let assertion_signed = idp.response(&TO, now(), |r| {
        r.signature = None;
        let a = r.assertion.as_mut().unwrap();
        a.signature = Some(samael::signature::Signature::template(&a.id, &idp.cert()));
    });
    vec![plain, prefix_list, assertion_signed]
}

const INSERTS: &[&str] = &[
    "\u{1}",
    "\u{8}",
    "\u{b}",
    "\u{fffe}",
    "\u{ffff}",
    "&#x1;",
    "&#0;",
    "]]>",
    "<",
    ">",
    "&",
    "\"",
    "'",
    "=",
    " ",
    "\r",
    "&amp;",
    "&#x41;",
    "a:b:c",
    ":",
    "x",
    "<!---->",
    "<?p?>",
    "<![CDATA[x]]>",
    "&e;",
    "\u{feff}",
];

/// Element spans `[start, end)` found by matching tag names (good enough to cut and paste).
fn element_spans(xml: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (start, _) in xml.match_indices('<') {
        let rest = &xml[start + 1..];
        if rest.starts_with('/') || rest.starts_with('!') || rest.starts_with('?') {
            continue;
        }
        let name_len = rest.find([' ', '>', '/']).unwrap_or(0);
        let name = &rest[..name_len];
        let self_closing = rest.find('>').is_some_and(|g| rest[..g].ends_with('/'));
        let end = if self_closing {
            rest.find('>').map(|g| start + 1 + g + 1)
        } else {
            let close = format!("</{name}>");
            xml[start..].find(&close).map(|c| start + c + close.len())
        };
        if let Some(end) = end {
            out.push((start, end));
        }
    }
    out
}

fn boundary(xml: &str, rng: &mut StdRng) -> usize {
    let mut at = rng.gen_range(0..=xml.len());
    while !xml.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn mutate(xml: &str, rng: &mut StdRng) -> String {
    let spans = element_spans(xml);
    if spans.is_empty() {
        return format!("{xml}x");
    }
    let pick = |rng: &mut StdRng| spans[rng.gen_range(0..spans.len())];
    match rng.gen_range(0..9) {
        0 => {
            // Flip one byte to another ASCII byte.
            let mut bytes = xml.as_bytes().to_vec();
            let at = rng.gen_range(0..bytes.len());
            if bytes[at] < 0x80 {
                bytes[at] = rng.gen_range(0..0x80u8);
            }
            String::from_utf8(bytes).unwrap_or_else(|_| xml.to_owned())
        }
        1 | 2 => {
            let at = boundary(xml, rng);
            format!("{}{}{}", &xml[..at], INSERTS[rng.gen_range(0..INSERTS.len())], &xml[at..])
        }
        3 => {
            // Rewrite one prefix use, or rebind a declaration.
            let rewrites = [
                ("saml2:", "x:"),
                ("saml2p:", "saml2:"),
                ("ds:", "saml2:"),
                ("xmlns:saml2=", "xmlns:x="),
                ("urn:oasis:names:tc:SAML:2.0:assertion\"", "urn:evil\""),
                ("xmlns:xs=", "xmlns:xsd="),
                ("xs:string", "xsd:string"),
                (" ID=", " x:ID="),
            ];
            let (from, to) = rewrites[rng.gen_range(0..rewrites.len())];
            let hits: Vec<usize> = xml.match_indices(from).map(|(i, _)| i).collect();
            if hits.is_empty() {
                return xml.to_owned();
            }
            let at = hits[rng.gen_range(0..hits.len())];
            format!("{}{to}{}", &xml[..at], &xml[at + from.len()..])
        }
        4 => {
            // Duplicate an element next to itself or somewhere else.
            let (s, e) = pick(rng);
            let at = if rng.gen_bool(0.5) { e } else { pick(rng).0 };
            format!("{}{}{}", &xml[..at], &xml[s..e], &xml[at..])
        }
        5 | 6 => {
            // Move an element (signatures included) elsewhere.
            let (s, e) = if rng.gen_bool(0.5) {
                let s = xml.find("<ds:Signature").unwrap_or(0);
                (s, xml[s..].find("</ds:Signature>").map_or(s, |x| s + x + 15))
            } else {
                pick(rng)
            };
            let cut = format!("{}{}", &xml[..s], &xml[e..]);
            let spans = element_spans(&cut);
            if spans.is_empty() {
                return cut;
            }
            let (ts, te) = spans[rng.gen_range(0..spans.len())];
            let inner = cut[ts..te].find('>').map_or(ts, |g| ts + g + 1);
            let at = [ts, inner, te][rng.gen_range(0..3)];
            format!("{}{}{}", &cut[..at], &xml[s..e], &cut[at..])
        }
        7 => {
            // Drop an element.
            let (s, e) = pick(rng);
            format!("{}{}", &xml[..s], &xml[e..])
        }
        _ => {
            // Duplicate or add an attribute on one start tag.
            let (s, _) = pick(rng);
            let name_end = s + xml[s..].find([' ', '>', '/']).unwrap_or(1);
            let attribute = [
                " ID=\"_x\"",
                " xmlns:saml2=\"urn:evil\"",
                " Format=\"f\"",
                " xml:lang=\"en\"",
                " a=\"1\" a=\"2\"",
            ];
            format!(
                "{}{}{}",
                &xml[..name_end],
                attribute[rng.gen_range(0..attribute.len())],
                &xml[name_end..]
            )
        }
    }
}

#[test]
fn accepted_mutants_are_well_formed_and_verify_alike_in_libxmlsec1() {
    let seed: u64 = env("IDBROKER_FUZZ_SEED").unwrap_or(0x1d_b10c3);
    let cases: usize = env("IDBROKER_FUZZ_CASES").unwrap_or(1500);
    let deadline = env::<u64>("IDBROKER_FUZZ_SECONDS")
        .map(|s| std::time::Instant::now() + std::time::Duration::from_secs(s));
    let mut rng = StdRng::seed_from_u64(seed);
    let idp = TestIdp::new("https://idp.test/saml");
    let trusted = TrustedIdp {
        entity_id: idp.entity_id.clone(),
        signing_keys: vec![signing_key(idp.cert().der_data()).unwrap()],
        allows_sha1: false,
        decryption: Default::default(),
    };
    let sp = ServiceEndpoint {
        audiences: vec![TO.sp_entity.into()],
        recipients: vec![TO.acs.into()],
        max_bytes: 100_000,
        clock_skew: Duration::seconds(120),
    };
    let seeds = seeds(&idp);
    for s in &seeds {
        let v = verify_response(s, &trusted, &sp, now()).expect("every seed is accepted");
        assert_eq!(Ok(ours(&v)), oracle(s, &idp.cert()), "seeds agree");
    }
    let (mut tried, mut accepted) = (0usize, 0usize);
    loop {
        let done = match deadline {
            Some(d) => std::time::Instant::now() >= d,
            None => tried >= cases,
        };
        if done {
            break;
        }
        let mut mutant = seeds[rng.gen_range(0..seeds.len())].clone();
        for _ in 0..rng.gen_range(1..=2) {
            mutant = mutate(&mutant, &mut rng);
        }
        tried += 1;
        let Ok(verified) = verify_response(&mutant, &trusted, &sp, now()) else { continue };
        accepted += 1;
        if let Err(e) = roxmltree::Document::parse(&mutant) {
            panic!("accepted a document roxmltree finds not well-formed ({e}), seed {seed}:\n{mutant}");
        }
        match oracle(&mutant, &idp.cert()) {
            Ok(claims) => assert_eq!(ours(&verified), claims, "claims differ, seed {seed}:\n{mutant}"),
            Err(e) => panic!("accepted what libxmlsec1 does not ({e}), seed {seed}:\n{mutant}"),
        }
    }
    println!("differential: seed {seed}, {tried} mutants, {accepted} accepted, all agreed");
    // Mutations outside the signed content (KeyInfo, white space between
    // unsigned elements) are accepted: the harness compares something.
    assert!(accepted > 0 || tried < 100);
}
