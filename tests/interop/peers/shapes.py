"""The shapes in which six identity-provider products send a SAML 2.0 Response
to AWS, after their public documentation and published sample responses:
namespace prefixes and where they are declared, ID styles, NameID formats,
attribute names, NameFormats and value types. `render` writes the unsigned
document that a template signer then signs; the IdP libraries (pysaml2,
Lasso) build their own documents and take only the claims.

Every response is one AWS-style sign-in: Destination and the bearer
Recipient are `{service}/saml/acs`, the Audience `{service}/saml/metadata`,
one AuthnStatement, and the Role and RoleSessionName attributes."""
import datetime
import hashlib
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Callable

from .common import SAML, SAMLP, XS, XSI

AWS = "https://aws.amazon.com/SAML/Attributes/"
URI = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"
BASIC = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"
NAME_ID_FORMATS = {
    "persistent": "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
    "transient": "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
    "emailAddress": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
    "unspecified": "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
    "WindowsDomainQualifiedName": "urn:oasis:names:tc:SAML:1.1:nameid-format:WindowsDomainQualifiedName",
}
SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"


@dataclass(frozen=True)
class Attribute:
    name: str
    values: tuple[str, ...]
    name_format: str | None = None
    friendly_name: str | None = None


@dataclass(frozen=True)
class Claims:
    """What one response says. Times and IDs are fresh for every response
    (idbroker keeps a replay cache)."""
    service_url: str
    issuer: str
    name_id: str
    name_id_format: str
    session_name: str
    statements: tuple[tuple[Attribute, ...], ...]
    response_id: str
    assertion_id: str
    session_index: str
    now: datetime.datetime
    name_qualifiers: bool = False  # NameQualifier / SPNameQualifier on the NameID

    @property
    def acs(self) -> str:
        return f"{self.service_url}/saml/acs"

    @property
    def audience(self) -> str:
        return f"{self.service_url}/saml/metadata"

    def at(self, minutes: float = 0) -> str:
        return (self.now + datetime.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")

    @property
    def issue_instant(self) -> str:
        return self.at()

    @property
    def not_before(self) -> str:
        return self.at(-1)

    @property
    def not_on_or_after(self) -> str:
        return self.at(5)


@dataclass(frozen=True)
class Shape:
    """One vendor's way of writing a Response."""
    vendor: str
    entity_id: str  # with {tenant} or {guid}: each test IdP has its own
    name_id_format: str  # a key of NAME_ID_FORMATS
    name_id: str
    session_name: str
    new_id: Callable[[], str]
    attributes: Callable[[str, str, str], tuple[tuple[Attribute, ...], ...]]  # (role, provider, session)
    protocol_prefix: str = "samlp"
    assertion_prefix: str = "saml"  # "" writes the Assertion in the default namespace
    assertion_ns_at_root: bool = True  # else declared on the Issuer and on the Assertion
    xs_prefix: str | None = None  # AttributeValue xsi:type="{xs_prefix}:{xs_type}"
    xs_type: str = "string"
    xs_declared: str = "local"  # root, assertion or local (on each AttributeValue)
    issuer_format: str | None = None
    response_attributes: tuple[tuple[str, str], ...] = ()
    authn_context: str = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
    session_not_on_or_after: bool = False
    subject_locality: bool = False
    name_qualifiers: bool = False

    def issuer(self, idp: str) -> str:
        """The entity id of the test IdP named `idp` (a case id)."""
        digest = hashlib.sha256(idp.encode()).hexdigest()
        return self.entity_id.format(tenant=digest[:10], guid=uuid.UUID(digest[:32]))

    def claims(self, idp: str, service_url: str, role_arn: str, provider_arn: str,
               now: datetime.datetime | None = None) -> Claims:
        return Claims(
            service_url=service_url, issuer=self.issuer(idp),
            name_id=self.name_id, name_id_format=NAME_ID_FORMATS[self.name_id_format],
            session_name=self.session_name,
            statements=self.attributes(role_arn, provider_arn, self.session_name),
            response_id=self.new_id(), assertion_id=self.new_id(), session_index=self.new_id(),
            now=now or datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0),
            name_qualifiers=self.name_qualifiers)


def _uuid_id(prefix: str) -> Callable[[], str]:
    return lambda: prefix + str(uuid.uuid4())


def _hex_id() -> str:
    return "_" + secrets.token_hex(16)


def _okta_id() -> str:
    return "id" + "".join(secrets.choice("0123456789") for _ in range(32))


def _aws(role, provider, session, name_format=None, role_first=True, duration=None):
    pair = f"{role},{provider}" if role_first else f"{provider},{role}"
    attrs = [Attribute(AWS + "Role", (pair,), name_format),
             Attribute(AWS + "RoleSessionName", (session,), name_format)]
    if duration:
        attrs.append(Attribute(AWS + "SessionDuration", (duration,), name_format))
    return attrs


def _adfs(role, provider, session):
    # AD FS claim rules for AWS: the Role and RoleSessionName claims, NameFormat uri.
    return (tuple(_aws(role, provider, session, URI)),)


def _entra(role, provider, session):
    # Entra ID's gallery app for AWS: its default claims (no NameFormat) plus AWS's.
    ms = "http://schemas.microsoft.com/"
    soap = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/"
    return ((
        Attribute(ms + "identity/claims/tenantid", ("7d3f1c1e-8c2b-4c55-9a5e-0b6f3f1d2c4a",)),
        Attribute(ms + "identity/claims/objectidentifier", ("3c5e0e3a-91c2-4b0d-8f0e-6d2b4c1a9e77",)),
        Attribute(ms + "identity/claims/displayname", ("Alice Example",)),
        Attribute(ms + "identity/claims/identityprovider", ("https://sts.windows.net/7d3f1c1e-8c2b-4c55-9a5e-0b6f3f1d2c4a/",)),
        Attribute(ms + "claims/authnmethodsreferences", ("http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/password",)),
        Attribute(soap + "givenname", ("Alice",)),
        Attribute(soap + "surname", ("Example",)),
        Attribute(soap + "emailaddress", ("alice@contoso.test",)),
        Attribute(soap + "name", ("alice@contoso.test",)),
        *_aws(role, provider, session, duration="900"),
    ),)


def _okta(role, provider, session):
    return (tuple(_aws(role, provider, session, URI)),)


def _google(role, provider, session):
    # Google Workspace: custom attribute mapping, no NameFormat; provider ARN first as its help page shows.
    return (tuple(_aws(role, provider, session, role_first=False)),)


def _keycloak(role, provider, session):
    # Keycloak: one AttributeStatement per protocol mapper, NameFormat basic.
    return ((Attribute(AWS + "Role", (f"{role},{provider}",), BASIC),),
            (Attribute(AWS + "RoleSessionName", (session,), BASIC),),
            (Attribute("email", ("alice@keycloak.test",), BASIC),))


def _shibboleth(role, provider, session):
    # Shibboleth IdP: attribute-resolver urn:oid names next to the AWS ones.
    return ((
        Attribute("urn:oid:0.9.2342.19200300.100.1.3", ("alice@shib.test",), URI, "mail"),
        Attribute("urn:oid:1.3.6.1.4.1.5923.1.1.1.6", ("alice@shib.test",), URI, "eduPersonPrincipalName"),
        Attribute("urn:oid:1.3.6.1.4.1.5923.1.1.1.1", ("member", "staff"), URI, "eduPersonAffiliation"),
        *_aws(role, provider, session, URI),
    ),)


VENDORS: dict[str, Shape] = {s.vendor: s for s in [
    Shape(vendor="adfs", entity_id="http://adfs-{tenant}.corp.test/adfs/services/trust",
          name_id_format="WindowsDomainQualifiedName", name_id="CORP\\alice", session_name="alice@corp.test",
          new_id=_uuid_id("_"), attributes=_adfs, assertion_prefix="",
          response_attributes=(("Consent", "urn:oasis:names:tc:SAML:2.0:consent:unspecified"),),
          authn_context="urn:federation:authentication:windows"),
    Shape(vendor="entra", entity_id="https://sts.windows.net/{guid}/",
          name_id_format="persistent", name_id="m5Ljf1tJH0pe9hvKSPDh8kj2VYhHUw6pbydBQ0I-7jU",
          session_name="alice@contoso.test", new_id=_uuid_id("_"), attributes=_entra, assertion_prefix="",
          authn_context="urn:oasis:names:tc:SAML:2.0:ac:classes:Password"),
    Shape(vendor="okta", entity_id="http://www.okta.com/exk{tenant}",
          name_id_format="unspecified", name_id="alice@okta.test", session_name="alice@okta.test",
          new_id=_okta_id, attributes=_okta, protocol_prefix="saml2p", assertion_prefix="saml2",
          assertion_ns_at_root=False, xs_prefix="xs", xs_declared="root",
          issuer_format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity"),
    Shape(vendor="google", entity_id="https://accounts.google.com/o/saml2?idpid=C{tenant}",
          name_id_format="emailAddress", name_id="alice@workspace.test", session_name="alice@workspace.test",
          new_id=_hex_id, attributes=_google, protocol_prefix="saml2p", assertion_prefix="saml2",
          assertion_ns_at_root=False, xs_prefix="xs", xs_type="anyType", xs_declared="local",
          authn_context="urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified"),
    Shape(vendor="keycloak", entity_id="https://keycloak.corp.test/realms/{tenant}",
          name_id_format="persistent", name_id="G-4b1c8e0a-2d7f-4a8b-9c3e-5f6a7b8c9d0e", session_name="alice.keycloak",
          new_id=_uuid_id("ID_"), attributes=_keycloak, xs_prefix="xs", xs_declared="local",
          authn_context="urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified", session_not_on_or_after=True),
    Shape(vendor="shibboleth", entity_id="https://idp-{tenant}.shib.test/idp/shibboleth",
          name_id_format="transient", name_id="AAdzZWNyZXQxwKk1jL8rXmJmQkx0Y2VjZXhhbXBsZQ==", session_name="alice-shib",
          new_id=_hex_id, attributes=_shibboleth, protocol_prefix="saml2p", assertion_prefix="saml2",
          assertion_ns_at_root=False, xs_prefix="xsd", xs_declared="assertion", subject_locality=True,
          name_qualifiers=True),
]}


@dataclass
class E:
    """An element to serialise, attributes (namespace declarations included) in order."""
    tag: str
    attrs: list[tuple[str, str]] = field(default_factory=list)
    children: list["E"] = field(default_factory=list)
    text: str | None = None

    def xml(self, pretty: bool, depth: int = 0) -> str:
        attrs = "".join(f' {k}="{_escape(v, quote=True)}"' for k, v in self.attrs)
        if self.text is not None:
            return f"<{self.tag}{attrs}>{_escape(self.text)}</{self.tag}>"
        if not self.children:
            return f"<{self.tag}{attrs}/>"
        gap = "\n" + "    " * (depth + 1) if pretty else ""
        inner = "".join(gap + c.xml(pretty, depth + 1) for c in self.children)
        end = "\n" + "    " * depth if pretty else ""
        return f"<{self.tag}{attrs}>{inner}{end}</{self.tag}>"


def _escape(text: str, quote: bool = False) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace('"', "&quot;") if quote else text


def render(shape: Shape, c: Claims, pretty: bool = False) -> str:
    """The unsigned Response, as `shape`'s product writes it."""
    p, a = shape.protocol_prefix, shape.assertion_prefix
    sp = lambda local: f"{p}:{local}"
    sa = lambda local: f"{a}:{local}" if a else local
    saml_decl = (f"xmlns:{a}" if a else "xmlns", SAML)
    xs_decl = (f"xmlns:{shape.xs_prefix}", XS)

    root_attrs = [(f"xmlns:{p}", SAMLP)]
    if shape.assertion_ns_at_root and a:
        root_attrs.append(saml_decl)
    if shape.xs_prefix and shape.xs_declared == "root":
        root_attrs.append(xs_decl)
    root_attrs += [("ID", c.response_id), ("Version", "2.0"), ("IssueInstant", c.issue_instant),
                   ("Destination", c.acs), *shape.response_attributes]
    local_saml = [] if shape.assertion_ns_at_root and a else [saml_decl]
    issuer_attrs = [("Format", shape.issuer_format)] if shape.issuer_format else []

    def value(v: str) -> E:
        attrs = []
        if shape.xs_prefix:
            if shape.xs_declared == "local":
                attrs.append(xs_decl)
            attrs += [("xmlns:xsi", XSI), ("xsi:type", f"{shape.xs_prefix}:{shape.xs_type}")]
        return E(sa("AttributeValue"), attrs, text=v)

    def attribute(at: Attribute) -> E:
        attrs = [("Name", at.name)]
        if at.name_format:
            attrs.append(("NameFormat", at.name_format))
        if at.friendly_name:
            attrs.insert(0, ("FriendlyName", at.friendly_name))
        return E(sa("Attribute"), attrs, [value(v) for v in at.values])

    name_id_attrs = [("Format", c.name_id_format)]
    if c.name_qualifiers:
        name_id_attrs += [("NameQualifier", c.issuer), ("SPNameQualifier", c.audience)]
    authn_attrs = [("AuthnInstant", c.issue_instant), ("SessionIndex", c.session_index)]
    if shape.session_not_on_or_after:
        authn_attrs.append(("SessionNotOnOrAfter", c.at(600)))
    authn_children = [E(sa("SubjectLocality"), [("Address", "127.0.0.1")])] if shape.subject_locality else []
    authn_children.append(E(sa("AuthnContext"), children=[E(sa("AuthnContextClassRef"), text=shape.authn_context)]))

    assertion_attrs = list(local_saml)
    if shape.xs_prefix and shape.xs_declared == "assertion":
        assertion_attrs.append(xs_decl)
    assertion_attrs += [("ID", c.assertion_id), ("Version", "2.0"), ("IssueInstant", c.issue_instant)]
    assertion = E(sa("Assertion"), assertion_attrs, [
        E(sa("Issuer"), list(issuer_attrs), text=c.issuer),
        E(sa("Subject"), children=[
            E(sa("NameID"), name_id_attrs, text=c.name_id),
            E(sa("SubjectConfirmation"), [("Method", BEARER)], [
                E(sa("SubjectConfirmationData"), [("NotOnOrAfter", c.not_on_or_after), ("Recipient", c.acs)])]),
        ]),
        E(sa("Conditions"), [("NotBefore", c.not_before), ("NotOnOrAfter", c.not_on_or_after)], [
            E(sa("AudienceRestriction"), children=[E(sa("Audience"), text=c.audience)])]),
        E(sa("AuthnStatement"), authn_attrs, authn_children),
        *[E(sa("AttributeStatement"), children=[attribute(at) for at in statement]) for statement in c.statements],
    ])
    root = E(sp("Response"), root_attrs, [
        E(sa("Issuer"), local_saml + issuer_attrs, text=c.issuer),
        E(sp("Status"), children=[E(sp("StatusCode"), [("Value", SUCCESS)])]),
        assertion,
    ])
    return root.xml(pretty) + ("\n" if pretty else "")
