//! Writes a test IdP's metadata and N unique signed AssumeRoleWithSAML form
//! bodies (one per line), for the load test in `scripts/load_saml.sh`.
//! Usage: saml_responses OUT_DIR COUNT
#[path = "../tests/support/test_idp.rs"]
#[allow(dead_code)]
mod test_idp;

use test_idp::{Addressing, TestIdp};

const TO: Addressing<'static> = Addressing {
    acs: "http://127.0.0.1:8080/saml/acs",
    sp_entity: "http://127.0.0.1:8080/saml/metadata",
    role: "arn:aws:iam::111122223333:role/SamlLoad",
    provider: "arn:aws:iam::111122223333:saml-provider/LoadIdp",
};

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().unwrap_or_else(|| ".".into()));
    let count: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(1000);
    let idp = TestIdp::new("https://idp.load.test/saml");
    let padding = " ".repeat(1000);
    let metadata =
        idp.metadata().replacen("><md:IDPSSODescriptor", &format!("{padding}><md:IDPSSODescriptor"), 1);
    std::fs::write(dir.join("metadata.xml"), metadata)?;
    let now = idbroker::clock::Clock::now(&idbroker::clock::SystemClock);
    let mut out = String::new();
    for _ in 0..count {
        let xml = idp.response(&TO, now, |_| {});
        let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, xml);
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("Version", "2011-06-15"),
                ("Action", "AssumeRoleWithSAML"),
                ("RoleArn", TO.role),
                ("PrincipalArn", TO.provider),
                ("SAMLAssertion", &b64),
            ])
            .finish();
        out.push_str(&body);
        out.push('\n');
    }
    std::fs::write(dir.join("bodies.txt"), out)
}
