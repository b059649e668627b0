// node-saml (@node-saml/node-saml) as a service provider of idbroker's
// built-in IdP, one step per run, for tests/interop/test_idp_second_sp.py
// (saml_sp.js is the same SP as an https server, for a real browser). One
// JSON request on stdin, one JSON answer on stdout:
//   common: {op, entityId, acs, idpSso, idpCert, spKey, spCert (PEM files),
//            binding: "redirect"|"post", scoping: node-saml's `scoping`}
//   op "metadata": {xml}, node-saml's own SP metadata.
//   op "request":  {id, xml, url (Redirect) | form (POST)}, a signed
//                  AuthnRequest with the options asked for.
//   op "response": given {SAMLResponse, RelayState, sent: [request IDs]},
//                  node-saml validates the Response as its ACS does, with the
//                  IDs it sent in its InResponseTo cache:
//                  {ok: true, profile} or {ok: false, error, statusXml}.
"use strict";
const zlib = require("zlib");
const { SAML, ValidateInResponseTo } = require("@node-saml/node-saml");

function saml(r) {
  const fs = require("fs");
  return new SAML({
    entryPoint: r.idpSso,
    issuer: r.entityId,
    callbackUrl: r.acs,
    idpCert: r.idpCert,
    privateKey: fs.readFileSync(r.spKey, "utf8"),
    publicCert: fs.readFileSync(r.spCert, "utf8"),
    signatureAlgorithm: "sha256",
    digestAlgorithm: "sha256",
    authnRequestBinding: r.binding === "post" ? "HTTP-POST" : "HTTP-Redirect",
    skipRequestCompression: r.binding === "post",
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: true,
    validateInResponseTo: ValidateInResponseTo.always,
    acceptedClockSkewMs: 5000,
    ...(r.scoping ? { scoping: r.scoping } : {}),
  });
}

function field(html, name) {
  const m = html.match(new RegExp(`name="${name}" value="([^"]*)"`));
  return m && m[1].replace(/&#x([0-9a-f]+);|&quot;|&amp;|&lt;|&gt;/gi, (e, hex) =>
    hex ? String.fromCharCode(parseInt(hex, 16)) : { "&quot;": '"', "&amp;": "&", "&lt;": "<", "&gt;": ">" }[e]);
}

async function step(r) {
  const sp = saml(r);
  if (r.op === "metadata") {
    const fs = require("fs");
    return { xml: sp.generateServiceProviderMetadata(null, fs.readFileSync(r.spCert, "utf8")) };
  }
  if (r.op === "request") {
    let xml, answer;
    if (r.binding === "post") {
      const form = await sp.getAuthorizeFormAsync(r.relayState || "");
      xml = Buffer.from(field(form, "SAMLRequest"), "base64").toString();
      answer = { form };
    } else {
      const url = await sp.getAuthorizeUrlAsync(r.relayState || "", undefined, {});
      xml = zlib.inflateRawSync(Buffer.from(new URL(url).searchParams.get("SAMLRequest"), "base64")).toString();
      answer = { url };
    }
    return { ...answer, xml, id: xml.match(/ ID="([^"]+)"/)[1] };
  }
  if (r.op === "response") {
    for (const id of r.sent || []) await sp.cacheProvider.saveAsync(id, new Date().toISOString());
    try {
      const { profile, loggedOut } = await sp.validatePostResponseAsync({
        SAMLResponse: r.SAMLResponse, ...(r.RelayState ? { RelayState: r.RelayState } : {}) });
      if (!profile) return { ok: false, error: "no profile", loggedOut };
      const { getAssertionXml, getAssertion, getSamlResponseXml, ...shown } = profile;
      return { ok: true, profile: shown };
    } catch (e) {
      return { ok: false, error: String(e), kind: e.constructor.name, statusXml: e.xmlStatus || null };
    }
  }
  throw new Error("unknown op " + r.op);
}

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () =>
  step(JSON.parse(input)).then(
    (answer) => process.stdout.write(JSON.stringify(answer)),
    (e) => {
      process.stderr.write(String(e && e.stack));
      process.exit(1);
    }));
