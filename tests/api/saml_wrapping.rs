//! Signature wrapping and borrowed signatures (S04 XSW1/2/5-8, S05, S12) and
//! envelope checks (P02) over HTTP: each attack is built from a genuine signed
//! response, and none buys credentials.
use crate::helpers::*;
use crate::saml::{exchange, refused, setup, sign_assertion_instead, TO};

/// `[start, end)` of the first element that starts with `open` and ends with `close`.
fn span(xml: &str, open: &str, close: &str) -> (usize, usize) {
    let start = xml.find(open).unwrap_or_else(|| panic!("no {open} in {xml}"));
    let end = start + xml[start..].find(close).unwrap() + close.len();
    (start, end)
}

fn cut(xml: &str, (start, end): (usize, usize)) -> String {
    format!("{}{}", &xml[..start], &xml[end..])
}

fn id_of(element: &str) -> String {
    let at = element.find("ID=\"").unwrap() + 4;
    element[at..at + element[at..].find('"').unwrap()].to_owned()
}

const SIG: (&str, &str) = ("<ds:Signature", "</ds:Signature>");
const ASSERTION: (&str, &str) = ("<saml2:Assertion", "</saml2:Assertion>");

#[tokio::test]
async fn s04_xsw1_xsw2_evil_root_around_the_signed_response() {
    let (app, idp) = setup().await;
    let signed = idp.response(&TO, epoch(), |_| {});
    exchange(&app, &signed).await.ok();
    let signed = idp.response(&TO, epoch(), |_| {});
    let sig_at = span(&signed, SIG.0, SIG.1);
    let signature = &signed[sig_at.0..sig_at.1];
    let original = cut(&signed, sig_at);
    let root_id = id_of(&signed);
    let evil =
        original.replacen(&format!("ID=\"{root_id}\""), "ID=\"_evil\"", 1).replace(">alice<", ">admin<");
    let at = sig_at.0;
    // XSW1: the original (unsigned) Response inside the Signature of an evil root.
    let inside = signature.replace("</ds:Signature>", &format!("{original}</ds:Signature>"));
    let xsw1 = format!("{}{inside}{}", &evil[..at], &evil[at..]);
    refused(&exchange(&app, &xsw1).await, 400, "InvalidIdentityToken");
    // XSW2: the original as a sibling before the Signature.
    let xsw2 = format!("{}{original}{signature}{}", &evil[..at], &evil[at..]);
    refused(&exchange(&app, &xsw2).await, 400, "InvalidIdentityToken");
}

#[tokio::test]
async fn s04_xsw5_to_xsw8_evil_assertion_next_to_the_signed_one() {
    let (app, idp) = setup().await;
    let signed = idp.response(&TO, epoch(), |r| sign_assertion_instead(r, &idp));
    let a_at = span(&signed, ASSERTION.0, ASSERTION.1);
    let assertion = &signed[a_at.0..a_at.1];
    let id = id_of(assertion);
    // The signed assertion edited in place: new ID, admin, its Signature kept.
    let edited = assertion.replacen(&format!("ID=\"{id}\""), "ID=\"_evil\"", 1).replace(">alice<", ">admin<");
    // An unsigned clone that keeps the original ID.
    let clone = cut(assertion, span(assertion, SIG.0, SIG.1));
    let with = |middle: String| format!("{}{middle}{}", &signed[..a_at.0], &signed[a_at.1..]);
    // XSW5: the clone appended after the edited assertion.
    refused(&exchange(&app, &with(format!("{edited}{clone}"))).await, 400, "InvalidIdentityToken");
    // XSW6: the clone inside the edited assertion's Signature.
    let xsw6 = edited.replacen("</ds:Signature>", &format!("{clone}</ds:Signature>"), 1);
    refused(&exchange(&app, &with(xsw6)).await, 400, "InvalidIdentityToken");
    // XSW7: Extensions before the assertion hold the signed original; the assertion read is evil and unsigned.
    let evil_unsigned = cut(&edited, span(&edited, SIG.0, SIG.1));
    let xsw7 = format!("<saml2p:Extensions>{assertion}</saml2p:Extensions>{evil_unsigned}");
    refused(&exchange(&app, &with(xsw7)).await, 400, "InvalidIdentityToken");
    // XSW8: edited in place, the original (no Signature) in a ds:Object of its Signature.
    let xsw8 =
        edited.replacen("</ds:Signature>", &format!("<ds:Object>{clone}</ds:Object></ds:Signature>"), 1);
    refused(&exchange(&app, &with(xsw8)).await, 400, "InvalidIdentityToken");
    // The untouched baseline still works: nothing above was refused for another reason.
    exchange(&app, &signed).await.ok();
}

#[tokio::test]
async fn s05_a_signature_over_some_other_element_is_not_borrowed() {
    let (app, idp) = setup().await;
    let genuine = idp.response(&TO, epoch(), |_| {});
    // An unsigned Response and Assertion for admin, carrying the genuine
    // signed Response (a different element) as an extra child.
    let evil = cut(&genuine, span(&genuine, SIG.0, SIG.1))
        .replacen(&format!("ID=\"{}\"", id_of(&genuine)), "ID=\"_evil\"", 1)
        .replace(">alice<", ">admin<");
    let close = evil.rfind("</saml2p:Response>").unwrap();
    let borrowed = format!("{}{genuine}{}", &evil[..close], &evil[close..]);
    refused(&exchange(&app, &borrowed).await, 400, "InvalidIdentityToken");
    // The same with the genuine signed Assertion in Extensions.
    let signed_assertion = idp.response(&TO, epoch(), |r| sign_assertion_instead(r, &idp));
    let a_at = span(&signed_assertion, ASSERTION.0, ASSERTION.1);
    let at = evil.find(ASSERTION.0).unwrap();
    let extension = format!("<saml2p:Extensions>{}</saml2p:Extensions>", &signed_assertion[a_at.0..a_at.1]);
    let borrowed = format!("{}{extension}{}", &evil[..at], &evil[at..]);
    refused(&exchange(&app, &borrowed).await, 400, "InvalidIdentityToken");
}

#[tokio::test]
async fn s12_digest_value_tricks() {
    let (app, idp) = setup().await;
    // (a) a comment inside DigestValue.
    let signed = idp.response(&TO, epoch(), |_| {});
    let commented = signed.replacen("<ds:DigestValue>", "<ds:DigestValue><!-- x -->", 1);
    refused(&exchange(&app, &commented).await, 400, "InvalidIdentityToken");
    // (b) a stray Reference with a forged digest in unsigned content, NameID changed.
    let signed = idp.response(&TO, epoch(), |r| sign_assertion_instead(r, &idp));
    let stray = r##"<saml2p:Extensions><ds:Reference xmlns:ds="http://www.w3.org/2000/09/xmldsig#" URI="#_x"><ds:DigestValue>AAAA</ds:DigestValue></ds:Reference></saml2p:Extensions>"##;
    let at = signed.find(ASSERTION.0).unwrap();
    let forged = format!("{}{stray}{}", &signed[..at], &signed[at..]).replace(">alice<", ">admin<");
    refused(&exchange(&app, &forged).await, 400, "InvalidIdentityToken");
    // (c) base64 with line breaks inside the signature is fine: xmlsec wraps
    // SignatureValue, and such a response is accepted. (Breaks added to a
    // DigestValue after signing change SignedInfo, so only an IdP can add them.)
    let signed = idp.response(&TO, epoch(), |_| {});
    let (s, e) = span(&signed, "<ds:SignatureValue>", "</ds:SignatureValue>");
    assert!(signed[s..e].contains('\n'), "the baseline wraps its SignatureValue");
    exchange(&app, &signed).await.ok();
}

#[tokio::test]
async fn p02_the_envelope_must_be_a_saml_2_response() {
    let (app, idp) = setup().await;
    // Version 1.1 on the Response, and on the Assertion, each signed by the genuine key.
    let v11 = idp.response(&TO, epoch(), |r| r.version = "1.1".into());
    refused(&exchange(&app, &v11).await, 400, "InvalidIdentityToken");
    let v3 = idp.response(&TO, epoch(), |r| r.assertion.as_mut().unwrap().version = "3.0".into());
    refused(&exchange(&app, &v3).await, 400, "InvalidIdentityToken");
    // A signed element that is not a Response at the root: the signed Assertion alone.
    let signed = idp.response(&TO, epoch(), |r| sign_assertion_instead(r, &idp));
    let a_at = span(&signed, ASSERTION.0, ASSERTION.1);
    refused(&exchange(&app, &signed[a_at.0..a_at.1]).await, 400, "InvalidIdentityToken");
    // A corrupt IssueInstant (the signature still covers the rest).
    let signed = idp.response(&TO, epoch(), |_| {});
    let at = signed.find("IssueInstant=\"").unwrap() + "IssueInstant=\"".len();
    let corrupt = format!("{}yesterday{}", &signed[..at], &signed[at + signed[at..].find('"').unwrap()..]);
    refused(&exchange(&app, &corrupt).await, 400, "InvalidIdentityToken");
}

#[tokio::test]
async fn p11_cardinality_and_content() {
    let (app, idp) = setup().await;
    let now = epoch();
    // Re-signing alone changes nothing (a fresh response each time: each is used once).
    let fresh = || idp.response(&TO, now, |_| {});
    exchange(&app, &idp.resign(&fresh(), |x| x.to_owned())).await.ok();
    let cases: Vec<(&str, String)> = vec![
        ("no Conditions", idp.response(&TO, now, |r| r.assertion.as_mut().unwrap().conditions = None)),
        (
            "two AuthnStatements",
            idp.response(&TO, now, |r| {
                let a = r.assertion.as_mut().unwrap();
                let s = a.authn_statements.as_ref().unwrap()[0].clone();
                a.authn_statements.as_mut().unwrap().push(s);
            }),
        ),
        (
            "duplicate attribute",
            idp.response(&TO, now, |r| {
                let a = r.assertion.as_mut().unwrap();
                let attrs = &mut a.attribute_statements.as_mut().unwrap()[0].attributes;
                attrs.push(attrs[0].clone());
            }),
        ),
        (
            "no NameID",
            idp.response(&TO, now, |r| {
                r.assertion.as_mut().unwrap().subject.as_mut().unwrap().name_id = None
            }),
        ),
        (
            "two Conditions",
            idp.resign(&fresh(), |x| {
                let (s, e) = span(x, "<saml2:Conditions", "</saml2:Conditions>");
                format!("{}{}{}", &x[..e], &x[s..e], &x[e..])
            }),
        ),
        (
            "SPNameQualifier of another SP",
            idp.resign(&fresh(), |x| {
                x.replacen("<saml2:NameID ", "<saml2:NameID SPNameQualifier=\"https://other-sp.test\" ", 1)
            }),
        ),
    ];
    for (what, xml) in cases {
        let r = exchange(&app, &xml).await;
        assert!(!r.body.contains("already used"), "{what} must fail on its own check");
        assert_eq!(
            (r.status, r.code().as_deref()),
            (400, Some("InvalidIdentityToken")),
            "{what}: {}",
            r.body
        );
    }
}
