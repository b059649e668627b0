"""Signs with the `xmlsec1` command line (Debian's xmlsec1, libxmlsec1 over
OpenSSL): we write the signature template, xmlsec1 fills in digests, the
signature value and KeyInfo, breaking base64 into lines as it always does."""
import tempfile
from pathlib import Path

from lxml import etree

from . import shapes
from .common import ALGORITHMS, DS, ENVELOPED, EXC_C14N, SAML, SAMLP, Key, after_issuer, run, signed_elements

EC = EXC_C14N  # InclusiveNamespaces lives in the exc-c14n namespace


def template(case, uri: str):
    """`<ds:Signature>` with empty DigestValue, SignatureValue and KeyInfo parts."""
    alg = ALGORITHMS[case.algorithm]
    signature = etree.Element(f"{{{DS}}}Signature", nsmap={"ds": DS})
    signed_info = _ds(signature, "SignedInfo")
    c14n = _ds(signed_info, "CanonicalizationMethod", Algorithm=EXC_C14N)
    _ds(signed_info, "SignatureMethod", Algorithm=alg.signature)
    reference = _ds(signed_info, "Reference", URI=uri)
    transforms = _ds(reference, "Transforms")
    _ds(transforms, "Transform", Algorithm=ENVELOPED)
    exc = _ds(transforms, "Transform", Algorithm=EXC_C14N)
    if case.prefix_list:
        _inclusive_namespaces(exc, case.prefix_list)
        if case.prefix_list_in_c14n_method:
            _inclusive_namespaces(c14n, case.prefix_list)
    _ds(reference, "DigestMethod", Algorithm=alg.digest)
    _ds(reference, "DigestValue")
    _ds(signature, "SignatureValue")
    if case.key_info != "none":
        key_info = _ds(signature, "KeyInfo")
        for part in case.key_info.split("+"):
            _ds(key_info, {"keyname": "KeyName", "x509": "X509Data", "keyvalue": "KeyValue"}[part])
    return signature


def _ds(parent, tag: str, **attrs):
    return etree.SubElement(parent, f"{{{DS}}}{tag}", attrs)


def _inclusive_namespaces(parent, prefixes: str) -> None:
    etree.SubElement(parent, f"{{{EC}}}InclusiveNamespaces", PrefixList=prefixes, nsmap={"ec": EC})


def sign(case, claims: shapes.Claims) -> bytes:
    document = shapes.render(case.shape, claims, case.pretty).encode()
    key: Key = case.signing_key
    with tempfile.TemporaryDirectory(prefix="xmlsec1-") as tmp:
        # xmlsec1 signs the first Signature template in document order, so the
        # templates go in one at a time: the Assertion's first, then the Response's.
        for index in range(len(signed_elements(etree.fromstring(document), case.placement))):
            root = etree.fromstring(document)
            element = signed_elements(root, case.placement)[index]
            after_issuer(element, template(case, "#" + element.get("ID")))
            unsigned, signed = Path(tmp, "unsigned.xml"), Path(tmp, "signed.xml")
            unsigned.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
            run(["xmlsec1", "--sign", f"--privkey-pem:{case.key_name}", f"{key.key_path},{key.cert_path}",
                 "--id-attr:ID", f"{SAMLP}:Response", "--id-attr:ID", f"{SAML}:Assertion",
                 "--output", str(signed), str(unsigned)])
            document = signed.read_bytes()
    return document
