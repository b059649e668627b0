//! Exclusive XML Canonicalization 1.0 (W3C REC xml-exc-c14n, 2002) of one
//! element subtree of a parsed document, the only canonical form idbroker's
//! signatures use. Comments, processing instructions and CDATA never reach
//! here (the parser refuses them), so the with- and without-comments forms
//! are the same.
//!
//! A namespace declaration is written where an element visibly uses its
//! prefix (its own name, or an attribute's), or where the prefix is on the
//! InclusiveNamespaces PrefixList, and only when the nearest output ancestor
//! did not already write the same binding.
use super::xml::{Document, Node, UriId};

/// The canonical form of the subtree at `apex`, without the subtree at `omit`
/// (the enveloped signature), with the PrefixList `inclusive` ("#default"
/// names the default namespace), appended to `out`.
pub fn exclusive(doc: &Document, apex: usize, omit: Option<usize>, inclusive: &[&str], out: &mut Vec<u8>) {
    let inclusive: Vec<&str> = inclusive.iter().map(|p| if *p == "#default" { "" } else { p }).collect();
    let mut writer = Writer { doc, omit, inclusive, rendered: Vec::new(), out };
    writer.element(apex);
}

struct Writer<'d, 'a, 'o> {
    doc: &'d Document<'a>,
    omit: Option<usize>,
    inclusive: Vec<&'d str>,
    /// Bindings written by output ancestors, innermost last.
    rendered: Vec<(&'d str, UriId)>,
    out: &'o mut Vec<u8>,
}

impl<'d, 'a, 'o> Writer<'d, 'a, 'o> {
    fn rendered(&self, prefix: &str) -> UriId {
        self.rendered.iter().rev().find(|(p, _)| *p == prefix).map_or(0, |(_, u)| *u)
    }

    fn element(&mut self, id: usize) {
        let doc = self.doc;
        let e = doc.element(id);
        // Prefixes this element must declare: visibly used, or inclusive and in scope.
        let mut wanted: Vec<&'d str> = Vec::with_capacity(4);
        let mut want = |p: &'d str| {
            if p != "xml" && !wanted.contains(&p) {
                wanted.push(p);
            }
        };
        want(e.prefix);
        for a in &e.attributes {
            if !a.prefix.is_empty() {
                want(a.prefix);
            }
        }
        for p in &self.inclusive {
            want(p);
        }
        let mut declarations: Vec<(&'d str, UriId)> = Vec::with_capacity(wanted.len());
        for p in wanted {
            let uri = doc.lookup(id, p);
            // A non-default prefix with no binding in scope has no namespace node.
            if !p.is_empty() && uri == 0 {
                continue;
            }
            if self.rendered(p) != uri {
                declarations.push((p, uri));
            }
        }
        declarations.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mark = self.rendered.len();
        self.rendered.extend(declarations.iter().copied());

        self.out.push(b'<');
        self.out.extend_from_slice(e.qname.as_bytes());
        for (prefix, uri) in &declarations {
            if prefix.is_empty() {
                self.out.extend_from_slice(b" xmlns=\"");
            } else {
                self.out.extend_from_slice(b" xmlns:");
                self.out.extend_from_slice(prefix.as_bytes());
                self.out.extend_from_slice(b"=\"");
            }
            escape_attribute(doc.uri(*uri), self.out);
            self.out.push(b'"');
        }
        let mut attributes: Vec<_> = e.attributes.iter().collect();
        if attributes.len() > 1 {
            attributes.sort_by(|a, b| doc.uri(a.ns).cmp(doc.uri(b.ns)).then_with(|| a.local.cmp(b.local)));
        }
        for a in attributes {
            self.out.push(b' ');
            self.out.extend_from_slice(a.qname.as_bytes());
            self.out.extend_from_slice(b"=\"");
            escape_attribute(&a.value, self.out);
            self.out.push(b'"');
        }
        self.out.push(b'>');
        for child in &e.children {
            match *child {
                Node::Element(c) if Some(c) == self.omit => {}
                Node::Element(c) => self.element(c),
                Node::Text(t) => escape_text(&doc.texts[t], self.out),
            }
        }
        self.out.extend_from_slice(b"</");
        self.out.extend_from_slice(e.qname.as_bytes());
        self.out.push(b'>');
        self.rendered.truncate(mark);
    }
}

fn escape_text(text: &str, out: &mut Vec<u8>) {
    escape(text, out, |c| match c {
        b'&' => Some(&b"&amp;"[..]),
        b'<' => Some(&b"&lt;"[..]),
        b'>' => Some(&b"&gt;"[..]),
        b'\r' => Some(&b"&#xD;"[..]),
        _ => None,
    })
}

fn escape_attribute(value: &str, out: &mut Vec<u8>) {
    escape(value, out, |c| match c {
        b'&' => Some(&b"&amp;"[..]),
        b'<' => Some(&b"&lt;"[..]),
        b'"' => Some(&b"&quot;"[..]),
        b'\t' => Some(&b"&#x9;"[..]),
        b'\n' => Some(&b"&#xA;"[..]),
        b'\r' => Some(&b"&#xD;"[..]),
        _ => None,
    })
}

/// Copies `text`, replacing the bytes `replace` names (all ASCII, so UTF-8 stays intact).
fn escape(text: &str, out: &mut Vec<u8>, replace: impl Fn(u8) -> Option<&'static [u8]>) {
    let bytes = text.as_bytes();
    let mut start = 0;
    for (i, &c) in bytes.iter().enumerate() {
        if let Some(r) = replace(c) {
            out.extend_from_slice(&bytes[start..i]);
            out.extend_from_slice(r);
            start = i + 1;
        }
    }
    out.extend_from_slice(&bytes[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::saml::xml::{parse, Limits};

    const LIMITS: Limits = Limits { max_depth: 48, max_elements: 4096, max_attributes: 32 };

    fn c14n(xml: &str, apex_local: &str, inclusive: &[&str]) -> String {
        let doc = parse(xml, LIMITS).unwrap();
        let apex = (0..doc.elements.len()).find(|i| doc.element(*i).local == apex_local).unwrap();
        let mut out = Vec::new();
        exclusive(&doc, apex, None, inclusive, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn only_visibly_used_namespaces_are_written() {
        let xml = r#"<a:Root xmlns:a="urn:a" xmlns:b="urn:b" xmlns:c="urn:c"><b:Child c:x="1" y="2"><b:Leaf>t</b:Leaf></b:Child></a:Root>"#;
        assert_eq!(
            c14n(xml, "Child", &[]),
            r#"<b:Child xmlns:b="urn:b" xmlns:c="urn:c" y="2" c:x="1"><b:Leaf>t</b:Leaf></b:Child>"#
        );
    }

    #[test]
    fn the_prefix_list_adds_bindings_used_only_in_values() {
        // Okta and Shibboleth IdP: xsi:type="xs:string" uses xs only inside a value.
        let xml = r#"<p:R xmlns:p="urn:p" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><p:V xsi:type="xs:string">v</p:V></p:R>"#;
        assert_eq!(
            c14n(xml, "V", &[]),
            r#"<p:V xmlns:p="urn:p" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">v</p:V>"#
        );
        assert_eq!(
            c14n(xml, "V", &["xs"]),
            r#"<p:V xmlns:p="urn:p" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">v</p:V>"#
        );
    }

    #[test]
    fn default_namespace_and_its_undeclaration() {
        let xml = r#"<R xmlns="urn:d"><S><T xmlns=""><U/></T></S></R>"#;
        assert_eq!(c14n(xml, "S", &[]), r#"<S xmlns="urn:d"><T xmlns=""><U></U></T></S>"#);
        // A prefixed apex does not use the default namespace: not written.
        let prefixed = r#"<R xmlns="urn:d" xmlns:p="urn:p"><p:S><T/></p:S></R>"#;
        assert_eq!(c14n(prefixed, "S", &[]), r#"<p:S xmlns:p="urn:p"><T xmlns="urn:d"></T></p:S>"#);
        assert_eq!(c14n(prefixed, "S", &["#default"]), r#"<p:S xmlns="urn:d" xmlns:p="urn:p"><T></T></p:S>"#);
    }

    #[test]
    fn attributes_sort_by_namespace_then_name_and_values_are_escaped() {
        let xml = "<r xmlns:z=\"urn:a\" xmlns:a=\"urn:z\" b=\"&lt;&amp;&quot;&#9;&#10;&#13;\" z:k=\"1\" a:k=\"2\" a=\"x\">a&gt;b&#13;c&amp;\r\nd</r>";
        assert_eq!(
            c14n(xml, "r", &[]),
            "<r xmlns:a=\"urn:z\" xmlns:z=\"urn:a\" a=\"x\" b=\"&lt;&amp;&quot;&#x9;&#xA;&#xD;\" z:k=\"1\" a:k=\"2\">a&gt;b&#xD;c&amp;\nd</r>"
        );
    }

    #[test]
    fn a_redeclared_prefix_is_written_again() {
        let xml = r#"<p:a xmlns:p="urn:1"><b xmlns:p="urn:2"><p:c/></b><p:d/></p:a>"#;
        assert_eq!(
            c14n(xml, "a", &[]),
            r#"<p:a xmlns:p="urn:1"><b><p:c xmlns:p="urn:2"></p:c></b><p:d></p:d></p:a>"#
        );
    }
}
