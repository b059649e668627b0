// node-saml (@node-saml/node-saml) as a service provider of idbroker's
// built-in IdP, for tests/interop/test_sp_conformance.py. An https server on
// loopback; one JSON argument:
//   {port, tlsCert, tlsKey, entityId, baseUrl, idpSso, idpCert (PEM),
//    spKey, spCert (PEM files), log (file for JSON lines)}
// GET /metadata: the SP's metadata (node-saml's generator).
// GET /protected[?binding=post|redirect&alg=sha256|sha512&deflate=1]: with a
//   session, a page showing the profile node-saml took from the Response;
//   without, a signed AuthnRequest to the IdP (Redirect: a 302; POST:
//   node-saml's auto-submitting form, not deflated (skipRequestCompression)
//   unless deflate=1, node-saml's default).
// POST /acs: node-saml validates the Response (signed Response and
//   Assertion, InResponseTo when present), then opens a session.
// Every AuthnRequest sent and Response received goes to `log`, decoded.
"use strict";
const fs = require("fs");
const https = require("https");
const zlib = require("zlib");
const crypto = require("crypto");
const { SAML, ValidateInResponseTo } = require("@node-saml/node-saml");

const config = JSON.parse(process.argv[2]);
const sessions = new Map();
const log = (entry) => fs.appendFileSync(config.log, JSON.stringify(entry) + "\n");
const escape = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

function saml(binding = "redirect", alg = "sha256", cacheProvider = undefined, deflate = false) {
  return new SAML({
    entryPoint: config.idpSso,
    issuer: config.entityId,
    callbackUrl: config.baseUrl + "/acs",
    idpCert: config.idpCert,
    privateKey: fs.readFileSync(config.spKey, "utf8"),
    publicCert: fs.readFileSync(config.spCert, "utf8"),
    signatureAlgorithm: alg,
    digestAlgorithm: alg,
    authnRequestBinding: binding === "post" ? "HTTP-POST" : "HTTP-Redirect",
    skipRequestCompression: binding === "post" && !deflate,
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: true,
    validateInResponseTo: ValidateInResponseTo.ifPresent,
    acceptedClockSkewMs: 5000,
    ...(cacheProvider ? { cacheProvider } : {}),
  });
}
// One instance for the ACS and its InResponseTo cache; the requests share it.
const validator = saml();

function field(html, name) {
  const m = html.match(new RegExp(`name="${name}" value="([^"]*)"`));
  return m && m[1].replace(/&#x([0-9a-f]+);|&quot;|&amp;|&lt;|&gt;/gi, (e, hex) =>
    hex ? String.fromCharCode(parseInt(hex, 16)) : { "&quot;": '"', "&amp;": "&", "&lt;": "<", "&gt;": ">" }[e]);
}

async function startLogin(url, res) {
  const binding = url.searchParams.get("binding") || "redirect";
  const alg = url.searchParams.get("alg") || "sha256";
  const deflate = url.searchParams.get("deflate") === "1";
  const sp = saml(binding, alg, validator.cacheProvider, deflate);
  if (binding === "post") {
    const form = await sp.getAuthorizeFormAsync("/protected");
    const sent = Buffer.from(field(form, "SAMLRequest"), "base64");
    const xml = (deflate ? zlib.inflateRawSync(sent) : sent).toString();
    log({ kind: "request", binding, alg, deflate, xml });
    res.writeHead(200, { "Content-Type": "text/html" });
    res.end(form);
  } else {
    const location = await sp.getAuthorizeUrlAsync("/protected", undefined, {});
    const encoded = new URL(location).searchParams.get("SAMLRequest");
    const xml = zlib.inflateRawSync(Buffer.from(encoded, "base64")).toString();
    log({ kind: "request", binding, alg, xml });
    res.writeHead(302, { Location: location });
    res.end();
  }
}

function body(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString()));
    req.on("error", reject);
  });
}

async function handle(req, res) {
  const url = new URL(req.url, config.baseUrl);
  if (req.method === "GET" && url.pathname === "/metadata") {
    res.writeHead(200, { "Content-Type": "application/samlmetadata+xml" });
    res.end(validator.generateServiceProviderMetadata(null, fs.readFileSync(config.spCert, "utf8")));
  } else if (req.method === "GET" && url.pathname === "/protected") {
    const sid = (req.headers.cookie || "").match(/(?:^|; )nodesp=([0-9a-f]+)/);
    const profile = sid && sessions.get(sid[1]);
    if (!profile) return startLogin(url, res);
    res.writeHead(200, { "Content-Type": "text/html" });
    res.end(`<!doctype html><title>node-saml SP</title><h1>Signed in to node-saml</h1>` +
      `<pre id="profile">${escape(JSON.stringify(profile, null, 1))}</pre>`);
  } else if (req.method === "POST" && url.pathname === "/acs") {
    const form = Object.fromEntries(new URLSearchParams(await body(req)));
    log({ kind: "response", relayState: form.RelayState || null,
          xml: Buffer.from(form.SAMLResponse || "", "base64").toString() });
    try {
      const { profile } = await validator.validatePostResponseAsync(form);
      const sid = crypto.randomBytes(16).toString("hex");
      const { getAssertionXml, getAssertion, getSamlResponseXml, ...shown } = profile;
      sessions.set(sid, shown);
      log({ kind: "session", profile: shown });
      res.writeHead(303, { Location: "/protected", "Set-Cookie": `nodesp=${sid}; Path=/; Secure; HttpOnly` });
      res.end();
    } catch (e) {
      log({ kind: "refused", error: String(e) });
      res.writeHead(403, { "Content-Type": "text/html" });
      res.end(`<!doctype html><title>node-saml SP</title><h1>Refused</h1><pre id="error">${escape(e)}</pre>`);
    }
  } else {
    res.writeHead(404);
    res.end();
  }
}

https.createServer({ cert: fs.readFileSync(config.tlsCert), key: fs.readFileSync(config.tlsKey) }, (req, res) => {
  handle(req, res).catch((e) => {
    log({ kind: "error", error: String(e && e.stack) });
    res.writeHead(500);
    res.end(escape(e));
  });
}).listen(config.port, "127.0.0.1", () => process.stdout.write("listening\n"));
