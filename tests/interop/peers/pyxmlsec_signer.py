"""Signs with python-xmlsec (PyPI `xmlsec`, libxmlsec1 bindings over lxml),
building the signature with its own template functions."""
import xmlsec
from lxml import etree

from . import shapes
from .common import ALGORITHMS, after_issuer, signed_elements

SIGNATURE_METHODS = {
    "rsa256": xmlsec.Transform.RSA_SHA256, "rsa384": xmlsec.Transform.RSA_SHA384,
    "rsa512": xmlsec.Transform.RSA_SHA512, "ecdsa256": xmlsec.Transform.ECDSA_SHA256,
    "ecdsa384": xmlsec.Transform.ECDSA_SHA384,
}
DIGEST_METHODS = {"sha256": xmlsec.Transform.SHA256, "sha384": xmlsec.Transform.SHA384,
                  "sha512": xmlsec.Transform.SHA512}


def sign(case, claims: shapes.Claims) -> bytes:
    root = etree.fromstring(shapes.render(case.shape, claims, case.pretty).encode())
    xmlsec.tree.add_ids(root, ["ID"])
    key = xmlsec.Key.from_file(str(case.signing_key.key_path), xmlsec.KeyFormat.PEM)
    key.load_cert_from_file(str(case.signing_key.cert_path), xmlsec.KeyFormat.PEM)
    key.name = case.key_name
    for element in signed_elements(root, case.placement):
        signature = xmlsec.template.create(element, xmlsec.Transform.EXCL_C14N,
                                           SIGNATURE_METHODS[case.algorithm], ns="ds")
        after_issuer(element, signature)
        reference = xmlsec.template.add_reference(signature, DIGEST_METHODS[ALGORITHMS[case.algorithm].hash],
                                                  uri="#" + element.get("ID"))
        xmlsec.template.add_transform(reference, xmlsec.Transform.ENVELOPED)
        exc_c14n = xmlsec.template.add_transform(reference, xmlsec.Transform.EXCL_C14N)
        if case.prefix_list:
            xmlsec.template.transform_add_c14n_inclusive_namespaces(exc_c14n, case.prefix_list.split())
            if case.prefix_list_in_c14n_method:
                method = signature.find(f"{{{xmlsec.constants.DSigNs}}}SignedInfo/{{{xmlsec.constants.DSigNs}}}CanonicalizationMethod")
                xmlsec.template.transform_add_c14n_inclusive_namespaces(method, case.prefix_list.split())
        if case.key_info != "none":
            key_info = xmlsec.template.ensure_key_info(signature)
            for part in case.key_info.split("+"):
                if part == "x509":
                    xmlsec.template.x509_data_add_certificate(xmlsec.template.add_x509_data(key_info))
                elif part == "keyname":
                    xmlsec.template.add_key_name(key_info)
                elif part == "keyvalue":
                    xmlsec.template.add_key_value(key_info)
        context = xmlsec.SignatureContext()
        context.key = key
        context.sign(signature)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
