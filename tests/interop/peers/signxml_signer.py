"""Signs with signxml (pure Python XML-DSig over `cryptography`), exclusive
c14n, with `inclusive_ns_prefixes` where the case has a PrefixList.

signxml 4.0.3 (and 5.2.0) in enveloped mode writes the PrefixList only into
SignedInfo's CanonicalizationMethod, never into the reference's exc-c14n
Transform, yet digests the reference with it: no verifier accepts that
(XML-Security/signxml#163). So the references here are digested without
prefixes, as their Transform says, and the PrefixList is SignedInfo's."""
from lxml import etree
from signxml import XMLSigner, methods
from signxml.signer import SignatureReference

from . import shapes
from .common import ALGORITHMS, DS, EXC_C14N, after_issuer, signed_elements

SIGNATURE_METHODS = {"rsa256": "rsa-sha256", "rsa384": "rsa-sha384", "rsa512": "rsa-sha512",
                     "ecdsa256": "ecdsa-sha256", "ecdsa384": "ecdsa-sha384"}


def sign(case, claims: shapes.Claims) -> bytes:
    root = etree.fromstring(shapes.render(case.shape, claims, case.pretty).encode())
    signer = XMLSigner(method=methods.enveloped, signature_algorithm=SIGNATURE_METHODS[case.algorithm],
                       digest_algorithm=ALGORITHMS[case.algorithm].hash, c14n_algorithm=EXC_C14N)
    if case.vendor == "entra":
        signer.namespaces = {None: DS}  # Entra ID writes <Signature xmlns="...xmldsig#">
    nsmap = signer.namespaces
    key = case.signing_key
    options = dict(key=key.key_pem)
    if case.key_info in ("x509", "keyname+x509"):
        options["cert"] = key.cert_pem.decode()
    if "keyname" in case.key_info:
        options["key_name"] = case.key_name
    if case.prefix_list:
        options["inclusive_ns_prefixes"] = case.prefix_list.split()
    for element_id in [e.get("ID") for e in signed_elements(root, case.placement)]:
        element = root if element_id == root.get("ID") else root.find(f".//*[@ID='{element_id}']")
        # signxml fills a placeholder where SAML wants the signature (else it appends one to the root).
        after_issuer(element, etree.Element(f"{{{DS}}}Signature", Id="placeholder", nsmap=nsmap))
        reference = SignatureReference(URI="#" + element_id, inclusive_ns_prefixes=[])
        root = signer.sign(root, reference_uri=[reference], **options)
        if case.key_info == "none":
            # Without a certificate signxml sends the key as a KeyValue; this case sends no KeyInfo.
            for key_info in root.iter(f"{{{DS}}}KeyInfo"):
                key_info.getparent().remove(key_info)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
