//! Well-formedness: every case the validation-core issue lists, plus the
//! shapes real identity providers send, which must parse.
use super::*;

const LIMITS: Limits = Limits { max_depth: 8, max_elements: 64, max_attributes: 4 };

fn refused(xml: &str) -> XmlError {
    match parse(xml, LIMITS) {
        Ok(_) => panic!("accepted: {xml:?}"),
        Err(e) => e,
    }
}

#[test]
fn documents_that_are_not_well_formed_are_refused() {
    for bad in [
        "<a>\u{1}</a>",
        "<a>\u{8}</a>",
        "<a>\u{b}</a>",
        "<a>\u{fffe}</a>",
        "<a>\u{ffff}</a>",
        "<a b=\"\u{1}\"/>",
        "<a>&#x1;</a>",
        "<a>&#0;</a>",
        "<a>&#xFFFE;</a>",
        "<a>&#xD800;</a>",
        "<a>&#X41;</a>",
        "<a>&#x;</a>",
        "<a>]]></a>",
        "<a b=\"<\"/>",
        "<a b=\"1\"c=\"2\"/>",
        "<a b='1'c='2'/>",
        "<a p:b=\"1\"/>",
        "<p:a/>",
        "<a:b:c xmlns:a=\"urn:a\"/>",
        "<1a/>",
        "<::foo/>",
        "<a xmlns:p=\"\"/>",
        "<a xmlns:p=\"urn:x\" xmlns:q=\"urn:x\" p:b=\"1\" q:b=\"2\"/>",
        "<a b=\"1\" b=\"2\"/>",
        "<a xmlns:xmlns=\"urn:x\"/>",
        "<a xmlns:xml=\"urn:x\"/>",
        "<a xmlns:p=\"http://www.w3.org/XML/1998/namespace\"/>",
        "<a xmlns=\"http://www.w3.org/2000/xmlns/\"/>",
        "<a xmlns:p=\"relative\"/>",
        "<a xmlns:p=\"urn:a>b\"/>",
        "<a xmlns:p=\"http://x/a b\"/>",
        "<a xmlns=\"1urn:x\"/>",
        "<a xmlns:p=\"urn:%zz\"/>",
        "<a xmlns:p=\"http://wwa:b:cw.w3.org/2001/XMLSchema\"/>",
        "<a xmlns:p=\"http://[::1]/x\"/>",
        "<a xmlns:p=\"http://www.w3.org:/2001/XMLSchema\"/>",
        "<a xmlns:p=\"http://www.w3.org:123456/x\"/>",
        "<a xmlns:p=\"urn:a#b#c\"/>",
        "<a>& b</a>",
        "<a b=c/>",
        "<a b/>",
        "<a></b>",
        "<a>",
        "<a/><b/>",
        "<a/>text",
        "text<a/>",
        "<a><!-- c --></a>",
        "<a><![CDATA[x]]></a>",
        "<a><?pi x?></a>",
        "<?xml version=\"1.1\"?><a/>",
        "<?xml version=\"1.0\" encoding=\"UTF-16\"?><a/>",
        "<?xml encoding=\"UTF-8\" version=\"1.0\"?><a/>",
        " <?xml version=\"1.0\"?><a/>",
        "\u{feff}<a/>",
        "<a xmlns:p=\"urn:p\"><p:b></p:c></a>",
        "<a:/>",
        "<a :b=\"1\"/>",
        "<a\u{0}/>",
    ] {
        assert!(matches!(refused(bad), XmlError::Malformed { .. }), "{bad:?}");
    }
}

#[test]
fn doctype_and_entities_are_refused() {
    for bad in [
        "<!DOCTYPE a [<!ENTITY e \"x\">]><a>&e;</a>",
        "<a>&e;</a>",
        "<a>&nbsp;</a>",
        "<a b=\"&e;\"/>",
        "<a><!DOCTYPE a></a>",
    ] {
        assert!(matches!(refused(bad), XmlError::Doctype { .. }), "{bad:?}");
    }
}

#[test]
fn limits_hold() {
    assert_eq!(refused("<a><a><a><a><a><a><a><a><a/></a></a></a></a></a></a></a></a>"), XmlError::TooComplex);
    assert_eq!(refused("<a b='1' c='2' d='3' e='4' f='5'/>"), XmlError::TooComplex);
    let wide = format!("<a>{}</a>", "<b/>".repeat(64));
    assert_eq!(refused(&wide), XmlError::TooComplex);
}

#[test]
fn well_formed_documents_parse_with_namespaces_resolved() {
    for uri in [
        "urn:oasis:names:tc:SAML:2.0:assertion",
        "http://www.w3.org/2001/10/xml-exc-c14n#",
        "https://user:pw@idp.example:8443/a/b;c?d=e&amp;f#g",
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims",
    ] {
        assert!(parse(&format!("<p:a xmlns:p=\"{uri}\"/>"), LIMITS).is_ok(), "{uri}");
    }
    let xml = "<?xml version='1.0' encoding='utf-8' standalone=\"no\" ?>\r\n<p:a xmlns:p=\"urn:p\" xmlns=\"urn:d\" xml:lang=\"en\"\n   b = 'x&#9;y\r\nz&amp;' >\r\n <c p:d=\"1\" e=\"&quot;&apos;\">t&lt;&#x10000;\r</c><f xmlns=\"\"/></p:a>\n";
    let doc = parse(xml, LIMITS).unwrap();
    let root = doc.element(0);
    assert_eq!((root.prefix, root.local, doc.uri(root.ns)), ("p", "a", "urn:p"));
    assert_eq!(doc.attribute(0, "b"), Some("x\ty z&"));
    assert_eq!(doc.attribute_ns(0, XML_NS, "lang"), Some("en"));
    let c = doc.child_elements(0).next().unwrap();
    assert!(doc.is(c, "urn:d", "c"));
    assert_eq!(doc.attribute_ns(c, "urn:p", "d"), Some("1"));
    assert_eq!(doc.attribute(c, "e"), Some("\"'"));
    assert_eq!(doc.text(c).unwrap(), "t<\u{10000}\n");
    let f = doc.child_elements(0).nth(1).unwrap();
    assert_eq!(doc.uri(doc.element(f).ns), "");
    assert_eq!(doc.text(0), None);
}
