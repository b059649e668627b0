// Signs a SAML Response with xml-crypto. Reads one JSON request on stdin:
//   {xml, keyPem, certPem, signatureAlgorithm, digestAlgorithm,
//    targets: [ID, ...] (signed in this order), prefixList, keyInfo, keyName}
// and writes the signed document on stdout. Each signature goes right after
// the Issuer of the element it signs, as SAML's schema wants it.
"use strict";
const { SignedXml } = require("xml-crypto");

const EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#";
const ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

function keyInfoContent(request) {
  switch (request.keyInfo) {
    case "x509":
      return undefined; // xml-crypto's own: X509Data with the certificate
    case "keyname":
      return ({ prefix }) => `<${prefix ? prefix + ":" : ""}KeyName>${request.keyName}</${prefix ? prefix + ":" : ""}KeyName>`;
    case "none":
      return () => null;
    default:
      throw new Error(`xml-crypto case cannot send KeyInfo ${request.keyInfo}`);
  }
}

function sign(request) {
  let xml = request.xml;
  for (const id of request.targets) {
    const element = `//*[@ID='${id}']`;
    const signer = new SignedXml({
      privateKey: request.keyPem,
      publicCert: request.certPem,
      signatureAlgorithm: request.signatureAlgorithm,
      canonicalizationAlgorithm: EXC_C14N,
      getKeyInfoContent: keyInfoContent(request),
    });
    signer.addReference({
      xpath: element,
      digestAlgorithm: request.digestAlgorithm,
      transforms: [ENVELOPED, EXC_C14N],
      inclusiveNamespacesPrefixList: request.prefixList ? request.prefixList.split(" ") : [],
    });
    signer.computeSignature(xml, {
      prefix: "ds",
      location: { reference: `${element}/*[local-name(.)='Issuer']`, action: "after" },
    });
    xml = signer.getSignedXml();
  }
  return xml;
}

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => process.stdout.write(sign(JSON.parse(input))));
