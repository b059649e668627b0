//! The one XML reader of the SAML path: strict XML 1.0 (fifth edition) with
//! Namespaces 1.0, never recovering. It refuses what the SAML path has no use
//! for (DOCTYPE and entities, comments, processing instructions, CDATA) and
//! everything that is not well-formed, so the tree it returns is the only
//! reading of the message: the signature is checked over this tree's
//! canonical form and the claims are read from these same nodes.
//!
//! Values are borrowed from the input where nothing had to be replaced
//! (references, line ends, attribute white space), which keeps a parse at a
//! few microseconds for a typical Response.
use std::borrow::Cow;

pub const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";
const XMLNS_NS: &str = "http://www.w3.org/2000/xmlns/";

/// Bounds on a document's shape, checked while it is read.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_depth: usize,
    pub max_elements: usize,
    pub max_attributes: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("not well-formed at byte {at}: {what}")]
    Malformed { at: usize, what: &'static str },
    #[error("DOCTYPE or entity reference at byte {at}")]
    Doctype { at: usize },
    #[error("document too deep or too wide")]
    TooComplex,
}

/// Index of a namespace URI in `Document::uris`: 0 is "no namespace", 1 is `XML_NS`.
pub type UriId = u32;
const NO_NS: UriId = 0;
const XML_URI: UriId = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Node {
    Element(usize),
    Text(usize),
}

#[derive(Debug)]
pub struct Element<'a> {
    /// The qualified name as written (`saml:Assertion`).
    pub qname: &'a str,
    pub prefix: &'a str,
    pub local: &'a str,
    pub ns: UriId,
    pub parent: Option<usize>,
    pub children: Vec<Node>,
    /// Namespace declarations made on this element: (prefix, "" for the default; URI).
    pub declarations: Vec<(&'a str, UriId)>,
    pub attributes: Vec<Attribute<'a>>,
}

#[derive(Debug)]
pub struct Attribute<'a> {
    pub qname: &'a str,
    pub prefix: &'a str,
    pub local: &'a str,
    pub ns: UriId,
    /// The normalised value (XML 1.0 §3.3.3).
    pub value: Cow<'a, str>,
}

/// A well-formed, namespace-well-formed document. Element 0 is the root.
#[derive(Debug)]
pub struct Document<'a> {
    pub elements: Vec<Element<'a>>,
    pub texts: Vec<Cow<'a, str>>,
    uris: Vec<Cow<'a, str>>,
}

impl<'a> Document<'a> {
    pub fn uri(&self, id: UriId) -> &str {
        &self.uris[id as usize]
    }

    pub fn element(&self, id: usize) -> &Element<'a> {
        &self.elements[id]
    }

    /// Whether element `id` is `{ns}local`.
    pub fn is(&self, id: usize, ns: &str, local: &str) -> bool {
        let e = &self.elements[id];
        e.local == local && self.uri(e.ns) == ns
    }

    /// The element children of `id`, in order.
    pub fn child_elements(&self, id: usize) -> impl Iterator<Item = usize> + '_ {
        self.elements[id].children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(*e),
            Node::Text(_) => None,
        })
    }

    /// The value of the unqualified attribute `name` of element `id`.
    pub fn attribute(&self, id: usize, name: &str) -> Option<&str> {
        self.elements[id].attributes.iter().find(|a| a.ns == NO_NS && a.local == name).map(|a| &*a.value)
    }

    /// The value of the attribute `{ns}local` of element `id`.
    pub fn attribute_ns(&self, id: usize, ns: &str, local: &str) -> Option<&str> {
        self.elements[id]
            .attributes
            .iter()
            .find(|a| a.local == local && a.ns != NO_NS && self.uri(a.ns) == ns)
            .map(|a| &*a.value)
    }

    /// The text of element `id` if it has no element children (None if it has).
    pub fn text(&self, id: usize) -> Option<Cow<'_, str>> {
        let children = &self.elements[id].children;
        match children.as_slice() {
            [] => Some(Cow::Borrowed("")),
            [Node::Text(t)] => Some(Cow::Borrowed(&self.texts[*t])),
            _ => {
                let mut out = String::new();
                for c in children {
                    match c {
                        Node::Text(t) => out.push_str(&self.texts[*t]),
                        Node::Element(_) => return None,
                    }
                }
                Some(Cow::Owned(out))
            }
        }
    }

    /// The namespace bound to `prefix` ("" for the default) at element `id`.
    pub fn lookup(&self, id: usize, prefix: &str) -> UriId {
        if prefix == "xml" {
            return XML_URI;
        }
        let mut at = Some(id);
        while let Some(e) = at {
            let element = &self.elements[e];
            if let Some((_, uri)) = element.declarations.iter().find(|(p, _)| *p == prefix) {
                return *uri;
            }
            at = element.parent;
        }
        NO_NS
    }
}

/// Parses `text` as one XML document, or says where it is not well-formed.
pub fn parse(text: &str, limits: Limits) -> Result<Document<'_>, XmlError> {
    Parser { s: text, b: text.as_bytes(), pos: 0, limits, scope: Vec::new() }.document()
}

struct Parser<'a> {
    s: &'a str,
    b: &'a [u8],
    pos: usize,
    limits: Limits,
    /// Declarations in scope, innermost last: (prefix, URI id).
    scope: Vec<(&'a str, UriId)>,
}

/// An attribute as written, before namespaces are resolved.
struct RawAttribute<'a> {
    qname: &'a str,
    prefix: &'a str,
    local: &'a str,
    value: Cow<'a, str>,
}

impl<'a> Parser<'a> {
    fn err(&self, what: &'static str) -> XmlError {
        XmlError::Malformed { at: self.pos, what }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn starts(&self, s: &str) -> bool {
        self.b[self.pos..].starts_with(s.as_bytes())
    }

    fn expect(&mut self, s: &str, what: &'static str) -> Result<(), XmlError> {
        if !self.starts(s) {
            return Err(self.err(what));
        }
        self.pos += s.len();
        Ok(())
    }

    fn skip_space(&mut self) -> bool {
        let start = self.pos;
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
        self.pos > start
    }

    fn document(mut self) -> Result<Document<'a>, XmlError> {
        if self.starts("\u{feff}") {
            return Err(self.err("byte-order mark"));
        }
        if self.starts("<?xml") && matches!(self.b.get(5), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.declaration()?;
        }
        self.misc()?;
        if self.peek() != Some(b'<') {
            return Err(self.err("no root element"));
        }
        let mut doc = Document {
            elements: Vec::with_capacity(64),
            texts: Vec::with_capacity(64),
            uris: vec![Cow::Borrowed(""), Cow::Borrowed(XML_NS)],
        };
        self.root(&mut doc)?;
        self.misc()?;
        if self.pos != self.b.len() {
            return Err(self.err("content after the root element"));
        }
        Ok(doc)
    }

    /// `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`, at byte 0 only.
    fn declaration(&mut self) -> Result<(), XmlError> {
        self.pos += 5;
        let mut seen = 0;
        loop {
            let spaced = self.skip_space();
            if self.starts("?>") {
                self.pos += 2;
                return if seen == 0 { Err(self.err("XML declaration without version")) } else { Ok(()) };
            }
            if !spaced {
                return Err(self.err("XML declaration"));
            }
            let (name, _, _) = self.qname()?;
            self.skip_space();
            self.expect("=", "XML declaration")?;
            self.skip_space();
            let value = self.quoted_plain()?;
            let ok = match (seen, name) {
                (0, "version") => value == "1.0",
                (1, "encoding") => value.eq_ignore_ascii_case("utf-8"),
                (1 | 2, "standalone") => matches!(value, "yes" | "no"),
                _ => false,
            };
            if !ok {
                return Err(self.err("XML declaration: only version 1.0, UTF-8"));
            }
            seen = match name {
                "version" => 1,
                "encoding" => 2,
                _ => 3,
            };
        }
    }

    /// A quoted value without references (for the XML declaration).
    fn quoted_plain(&mut self) -> Result<&'a str, XmlError> {
        let quote = self.peek().filter(|q| *q == b'"' || *q == b'\'').ok_or_else(|| self.err("quote"))?;
        let start = self.pos + 1;
        let len = self.b[start..].iter().position(|c| *c == quote).ok_or_else(|| self.err("quote"))?;
        self.pos = start + len + 1;
        Ok(&self.s[start..start + len])
    }

    /// White space only, outside the root; comments, PIs and DOCTYPE are refused.
    fn misc(&mut self) -> Result<(), XmlError> {
        self.skip_space();
        if self.starts("<!DOCTYPE") {
            return Err(XmlError::Doctype { at: self.pos });
        }
        if self.starts("<!--") {
            return Err(self.err("comment"));
        }
        if self.starts("<?") {
            return Err(self.err("processing instruction"));
        }
        Ok(())
    }

    fn root(&mut self, doc: &mut Document<'a>) -> Result<(), XmlError> {
        // Open elements; the scope length when each was opened.
        let mut open: Vec<(usize, usize)> = Vec::new();
        loop {
            match self.peek() {
                None => return Err(self.err("unexpected end of document")),
                Some(b'<') => match self.b.get(self.pos + 1) {
                    Some(b'/') => {
                        let Some((id, scope_len)) = open.pop() else {
                            return Err(self.err("end tag without start tag"));
                        };
                        self.end_tag(doc.elements[id].qname)?;
                        self.scope.truncate(scope_len);
                        if open.is_empty() {
                            return Ok(());
                        }
                    }
                    Some(b'!') => {
                        return Err(if self.starts("<!--") {
                            self.err("comment")
                        } else if self.starts("<![CDATA[") {
                            self.err("CDATA section")
                        } else {
                            XmlError::Doctype { at: self.pos }
                        })
                    }
                    Some(b'?') => return Err(self.err("processing instruction")),
                    _ => {
                        if open.len() >= self.limits.max_depth {
                            return Err(XmlError::TooComplex);
                        }
                        let parent = open.last().map(|(id, _)| *id);
                        let scope_len = self.scope.len();
                        let (id, empty) = self.start_tag(doc, parent)?;
                        if let Some(p) = parent {
                            doc.elements[p].children.push(Node::Element(id));
                        }
                        if empty {
                            self.scope.truncate(scope_len);
                            if open.is_empty() {
                                return Ok(());
                            }
                        } else {
                            open.push((id, scope_len));
                        }
                    }
                },
                Some(_) => {
                    let text = self.char_data()?;
                    let Some((parent, _)) = open.last() else {
                        return Err(self.err("text outside the root"));
                    };
                    doc.texts.push(text);
                    doc.elements[*parent].children.push(Node::Text(doc.texts.len() - 1));
                }
            }
        }
    }

    /// A Name per XML 1.0, split as a QName per Namespaces 1.0: (qname, prefix, local).
    fn qname(&mut self) -> Result<(&'a str, &'a str, &'a str), XmlError> {
        let start = self.pos;
        let mut colon = None;
        let mut segment_start = true;
        for c in self.s[start..].chars() {
            if c == ':' {
                if colon.is_some() || segment_start {
                    return Err(self.err("name with a misplaced colon"));
                }
                colon = Some(self.pos);
                segment_start = true;
            } else if segment_start {
                if !is_name_start(c) {
                    if self.pos == start {
                        return Err(self.err("invalid name"));
                    }
                    return Err(self.err("name with a misplaced colon"));
                }
                segment_start = false;
            } else if !is_name_char(c) {
                break;
            }
            self.pos += c.len_utf8();
        }
        if segment_start {
            return Err(self.err(if self.pos == start { "invalid name" } else { "name ends with a colon" }));
        }
        let qname = &self.s[start..self.pos];
        Ok(match colon {
            Some(at) => (qname, &self.s[start..at], &self.s[at + 1..self.pos]),
            None => (qname, "", qname),
        })
    }

    fn end_tag(&mut self, expected: &str) -> Result<(), XmlError> {
        self.pos += 2;
        let (qname, _, _) = self.qname()?;
        if qname != expected {
            return Err(self.err("end tag does not match"));
        }
        self.skip_space();
        self.expect(">", "end tag")
    }

    /// Reads a start tag; returns the new element and whether it was empty (`/>`).
    fn start_tag(
        &mut self,
        doc: &mut Document<'a>,
        parent: Option<usize>,
    ) -> Result<(usize, bool), XmlError> {
        if doc.elements.len() >= self.limits.max_elements {
            return Err(XmlError::TooComplex);
        }
        self.pos += 1;
        let (qname, prefix, local) = self.qname()?;
        let mut raw: Vec<RawAttribute<'a>> = Vec::new();
        let empty = loop {
            let spaced = self.skip_space();
            match self.peek() {
                Some(b'>') => {
                    self.pos += 1;
                    break false;
                }
                Some(b'/') => {
                    self.pos += 1;
                    self.expect(">", "start tag")?;
                    break true;
                }
                None => return Err(self.err("unexpected end of document")),
                _ if !spaced => return Err(self.err("attributes must be separated by white space")),
                _ => {}
            }
            if raw.len() >= self.limits.max_attributes {
                return Err(XmlError::TooComplex);
            }
            let (aq, ap, al) = self.qname()?;
            self.skip_space();
            self.expect("=", "attribute without a value")?;
            self.skip_space();
            let value = self.attribute_value()?;
            if raw.iter().any(|a| a.qname == aq) {
                return Err(self.err("duplicate attribute"));
            }
            raw.push(RawAttribute { qname: aq, prefix: ap, local: al, value });
        };

        // Namespace declarations first: they apply to this element's own names.
        let mut declarations = Vec::new();
        for a in &raw {
            let declared = match (a.prefix, a.local) {
                ("", "xmlns") => "",
                ("xmlns", p) => p,
                _ => continue,
            };
            let uri = &*a.value;
            let ok = match declared {
                "xmlns" => false,
                "xml" => uri == XML_NS,
                "" => uri != XML_NS && uri != XMLNS_NS,
                _ => !uri.is_empty() && uri != XML_NS && uri != XMLNS_NS,
            };
            if !ok {
                return Err(self.err("reserved or empty namespace declaration"));
            }
            // Canonical XML is undefined for relative namespace URIs, and a
            // namespace name is a URI (RFC 3986): anything else is refused.
            if !uri.is_empty() && !is_absolute_uri(uri) {
                return Err(self.err("namespace name is not an absolute URI"));
            }
            if declared == "xml" {
                continue;
            }
            let id = intern(&mut doc.uris, a.value.clone());
            declarations.push((declared, id));
            self.scope.push((declared, id));
        }
        let ns = self.resolve(prefix, true)?;
        let mut attributes: Vec<Attribute<'a>> = Vec::with_capacity(raw.len());
        for a in raw {
            if (a.prefix.is_empty() && a.local == "xmlns") || a.prefix == "xmlns" {
                continue;
            }
            let attr_ns = if a.prefix.is_empty() { NO_NS } else { self.resolve(a.prefix, false)? };
            if attr_ns != NO_NS && attributes.iter().any(|b| b.ns == attr_ns && b.local == a.local) {
                return Err(self.err("the same attribute twice through two prefixes"));
            }
            attributes.push(Attribute {
                qname: a.qname,
                prefix: a.prefix,
                local: a.local,
                ns: attr_ns,
                value: a.value,
            });
        }
        doc.elements.push(Element {
            qname,
            prefix,
            local,
            ns,
            parent,
            children: Vec::new(),
            declarations,
            attributes,
        });
        Ok((doc.elements.len() - 1, empty))
    }

    /// The namespace of `prefix` in the current scope; undeclared prefixes are errors.
    fn resolve(&self, prefix: &str, element: bool) -> Result<UriId, XmlError> {
        if prefix == "xml" {
            return Ok(XML_URI);
        }
        if prefix.is_empty() && !element {
            return Ok(NO_NS);
        }
        match self.scope.iter().rev().find(|(p, _)| *p == prefix) {
            Some((_, uri)) if prefix.is_empty() || *uri != NO_NS => Ok(*uri),
            None if prefix.is_empty() => Ok(NO_NS),
            _ => Err(self.err("undeclared namespace prefix")),
        }
    }

    /// A quoted attribute value, normalised (references replaced, white space to spaces).
    fn attribute_value(&mut self) -> Result<Cow<'a, str>, XmlError> {
        let quote = self
            .peek()
            .filter(|q| *q == b'"' || *q == b'\'')
            .ok_or_else(|| self.err("attribute value must be quoted"))?;
        self.pos += 1;
        let start = self.pos;
        let mut owned: Option<String> = None;
        loop {
            let Some(c) = self.peek() else { return Err(self.err("unterminated attribute value")) };
            match c {
                _ if c == quote => {
                    let value = match owned {
                        Some(s) => Cow::Owned(s),
                        None => Cow::Borrowed(&self.s[start..self.pos]),
                    };
                    self.pos += 1;
                    return Ok(value);
                }
                b'<' => return Err(self.err("'<' in an attribute value")),
                b'&' => {
                    let buf = owned.get_or_insert_with(|| self.s[start..self.pos].to_owned());
                    let ch = self.reference()?;
                    buf.push(ch);
                }
                b'\t' | b'\n' | b'\r' => {
                    let buf = owned.get_or_insert_with(|| self.s[start..self.pos].to_owned());
                    // A CR LF pair is one line end, so one space.
                    if c == b'\r' && self.b.get(self.pos + 1) == Some(&b'\n') {
                        self.pos += 1;
                    }
                    self.pos += 1;
                    buf.push(' ');
                }
                _ => {
                    let len = self.checked_char()?;
                    if let Some(buf) = owned.as_mut() {
                        buf.push_str(&self.s[self.pos..self.pos + len]);
                    }
                    self.pos += len;
                }
            }
        }
    }

    /// Character data up to the next `<`, with references replaced and line ends normalised.
    fn char_data(&mut self) -> Result<Cow<'a, str>, XmlError> {
        let start = self.pos;
        let mut owned: Option<String> = None;
        while let Some(c) = self.peek() {
            match c {
                b'<' => break,
                b'&' => {
                    let buf = owned.get_or_insert_with(|| self.s[start..self.pos].to_owned());
                    let ch = self.reference()?;
                    buf.push(ch);
                }
                b'\r' => {
                    let buf = owned.get_or_insert_with(|| self.s[start..self.pos].to_owned());
                    if self.b.get(self.pos + 1) == Some(&b'\n') {
                        self.pos += 1;
                    }
                    self.pos += 1;
                    buf.push('\n');
                }
                b']' if self.starts("]]>") => return Err(self.err("']]>' in text")),
                _ => {
                    let len = self.checked_char()?;
                    if let Some(buf) = owned.as_mut() {
                        buf.push_str(&self.s[self.pos..self.pos + len]);
                    }
                    self.pos += len;
                }
            }
        }
        Ok(match owned {
            Some(s) => Cow::Owned(s),
            None => Cow::Borrowed(&self.s[start..self.pos]),
        })
    }

    /// The length of the character at `pos` if XML 1.0 allows it.
    fn checked_char(&self) -> Result<usize, XmlError> {
        let c = self.b[self.pos];
        if c < 0x80 {
            return if c >= 0x20 || matches!(c, b'\t' | b'\n' | b'\r') {
                Ok(1)
            } else {
                Err(self.err("control character"))
            };
        }
        // U+FFFE and U+FFFF (EF BF BE, EF BF BF) are not characters.
        if c == 0xEF
            && self.b.get(self.pos + 1) == Some(&0xBF)
            && matches!(self.b.get(self.pos + 2), Some(0xBE | 0xBF))
        {
            return Err(self.err("noncharacter U+FFFE or U+FFFF"));
        }
        Ok(match c {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            _ => 4,
        })
    }

    /// `&lt;` `&gt;` `&amp;` `&apos;` `&quot;` or a character reference to a legal character.
    fn reference(&mut self) -> Result<char, XmlError> {
        let at = self.pos;
        let rest = &self.b[at + 1..];
        let end = rest
            .iter()
            .take(12)
            .position(|c| *c == b';')
            .ok_or_else(|| self.err("'&' not starting a reference"))?;
        let name = &self.s[at + 1..at + 1 + end];
        let ch = match name {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "apos" => '\'',
            "quot" => '"',
            _ if name.starts_with("#x") => {
                char_ref(&name[2..], 16).ok_or_else(|| self.err("invalid character reference"))?
            }
            _ if name.starts_with('#') => {
                char_ref(&name[1..], 10).ok_or_else(|| self.err("invalid character reference"))?
            }
            _ => return Err(XmlError::Doctype { at }),
        };
        self.pos = at + end + 2;
        Ok(ch)
    }
}

fn char_ref(digits: &str, radix: u32) -> Option<char> {
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let c = char::from_u32(u32::from_str_radix(digits, radix).ok()?)?;
    is_xml_char(c).then_some(c)
}

/// An absolute URI per RFC 3986 (`scheme ":" hier-part [ "?" query ] [ "#"
/// fragment ]`), without IP literals: what a namespace name must be, and what
/// libxml2 checks before xmlsec will touch a document.
fn is_absolute_uri(uri: &str) -> bool {
    let pct_ok = |s: &str| {
        let b = s.as_bytes();
        b.iter().enumerate().all(|(i, c)| {
            *c != b'%' || b.get(i + 1..i + 3).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
        })
    };
    let chars_ok = |s: &str, extra: &[u8]| {
        pct_ok(s)
            && s.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=".contains(&c) || extra.contains(&c))
    };
    let Some((scheme, rest)) = uri.split_once(':') else { return false };
    if !scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        || !scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    {
        return false;
    }
    let (rest, fragment) = rest.split_once('#').unwrap_or((rest, ""));
    let (hier, query) = rest.split_once('?').unwrap_or((rest, ""));
    if !chars_ok(fragment, b":@/?") || !chars_ok(query, b":@/?") {
        return false;
    }
    let path = match hier.strip_prefix("//") {
        Some(after) => {
            let (authority, path) = after.find('/').map_or((after, ""), |i| after.split_at(i));
            let host_port = authority.rsplit_once('@').map_or(authority, |(user, host)| {
                if chars_ok(user, b":") {
                    host
                } else {
                    "\u{0}"
                }
            });
            let (host, port) = host_port.split_once(':').unwrap_or((host_port, ""));
            if !chars_ok(host, b"") || !port.bytes().all(|c| c.is_ascii_digit()) {
                return false;
            }
            path
        }
        None => hier,
    };
    chars_ok(path, b":@/")
}

fn intern<'a>(uris: &mut Vec<Cow<'a, str>>, uri: Cow<'a, str>) -> UriId {
    match uris.iter().position(|u| *u == uri) {
        Some(i) => i as UriId,
        None => {
            uris.push(uri);
            (uris.len() - 1) as UriId
        }
    }
}

/// Char ::= #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// NameStartChar without ':' (Namespaces 1.0 NCName).
fn is_name_start(c: char) -> bool {
    matches!(c,
        'A'..='Z' | '_' | 'a'..='z' | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}'
        | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}' | '\u{2070}'..='\u{218F}'
        | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}' | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}'
        | '\u{10000}'..='\u{EFFFF}')
}

fn is_name_char(c: char) -> bool {
    is_name_start(c)
        || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

#[cfg(test)]
mod tests;
