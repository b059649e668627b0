"""Checks a peer's output before idbroker sees it, so that a refusal is
idbroker's and not a broken test: the signatures sit where the case says and
each one verifies with libxmlsec1 (python-xmlsec) against the certificate
from the metadata."""
import xmlsec
from lxml import etree

from .common import DS, SAML, signed_elements


def check(case, xml: bytes) -> None:
    root = etree.fromstring(xml)
    signatures = root.findall(f".//{{{DS}}}Signature")
    expected = signed_elements(root, case.placement)
    where = sorted(s.getparent().get("ID") for s in signatures)
    if where != sorted(e.get("ID") for e in expected):
        raise AssertionError(f"{case.id}: signatures on {where}, expected {case.placement}")
    if root.find(f"{{{SAML}}}Assertion") is None:
        raise AssertionError(f"{case.id}: no Assertion")
    xmlsec.tree.add_ids(root, ["ID"])
    for signature in signatures:
        context = xmlsec.SignatureContext()
        context.key = xmlsec.Key.from_file(str(case.signing_key.cert_path), xmlsec.KeyFormat.CERT_PEM)
        try:
            context.verify(signature)
        except xmlsec.Error as e:
            raise AssertionError(f"{case.id}: libxmlsec1 does not verify the signature on "
                                 f"{signature.getparent().get('ID')}: {e}") from e
