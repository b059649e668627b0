//! The reader itself: one pass over the text, building the tree and
//! resolving namespaces as it goes; the first violation ends it.
use super::lexical::{char_ref, is_absolute_uri, is_name_char, is_name_start};
use super::{Attribute, Document, Element, Limits, Node, UriId, XmlError, NO_NS, XMLNS_NS, XML_NS, XML_URI};
use std::borrow::Cow;

pub(super) struct Parser<'a> {
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
    pub(super) fn new(s: &'a str, limits: Limits) -> Parser<'a> {
        Parser { s, b: s.as_bytes(), pos: 0, limits, scope: Vec::new() }
    }

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

    pub(super) fn document(mut self) -> Result<Document<'a>, XmlError> {
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

fn intern<'a>(uris: &mut Vec<Cow<'a, str>>, uri: Cow<'a, str>) -> UriId {
    match uris.iter().position(|u| *u == uri) {
        Some(i) => i as UriId,
        None => {
            uris.push(uri);
            (uris.len() - 1) as UriId
        }
    }
}
