"""Apache httpd (Debian's apache2) as the web server of two service
providers of idbroker's built-in IdP: mod_auth_mellon and the Shibboleth SP
(mod_shib with its shibd). Each runs with a configuration file, pid file,
logs and keys of its own in a temporary folder, on a loopback https port
with the test CA certificate of https_server.tls_certificate: nothing
under /etc is written, and only Debian's templates are read from there
(/etc/mime.types, Shibboleth's protocols.xml and security-policy.xml, in
place). Started by root, the servers' children run as www-data, so their
folders are world-readable (test keys only). A CGI at /protected/whoami
prints the environment the module gave the request: what the SP took from
the Response."""
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

APACHE = "/usr/sbin/apache2"
MODULES = Path("/usr/lib/apache2/modules")
SHIBD = "/usr/sbin/shibd"
SHIB_METAGEN = "/usr/bin/shib-metagen"

WHOAMI = """#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
echo "REMOTE_USER=$REMOTE_USER"
env | LC_ALL=C sort | grep -E '^(MELLON|SHIB|Shib|NAME_ID|ROLE|SESSION|persistent|nameid|role|session)'
"""


def folder(prefix):
    """A temporary folder the server's unprivileged children can read (it
    runs as www-data when started by root)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


def readable(path, text):
    path.write_text(text)
    path.chmod(0o644)
    return path


def wait_for_tls(port, proc, log, seconds=20):
    deadline = time.time() + seconds
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}: {log()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                with context.wrap_socket(s):
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{proc.args[0]} did not listen on {port}: {log()}")


class Apache:
    """`/usr/sbin/apache2 -f <own httpd.conf> -DFOREGROUND` on 127.0.0.1:`port`
    (https), with the modules of `modules` and the configuration `body`."""

    BASE_MODULES = ["mpm_prefork", "authn_core", "authz_core", "authz_user", "alias", "cgi", "env",
                    "mime", "socache_shmcb", "ssl"]

    def __init__(self, root, port, tls_cert, tls_key, modules, body):
        self.root, self.port = root, port
        self.url = f"https://127.0.0.1:{port}"
        runtime = root / "run"
        runtime.mkdir(mode=0o777)
        runtime.chmod(0o777)
        readable(root / "whoami.cgi", WHOAMI).chmod(0o755)
        self.error_log = root / "error.log"
        user = "User www-data\nGroup www-data\n" if os.geteuid() == 0 else ""
        loads = "".join(f"LoadModule {m}_module {MODULES}/mod_{m}.so\n" for m in self.BASE_MODULES)
        conf = readable(root / "httpd.conf", f"""ServerRoot {root}
ServerName 127.0.0.1:{port}
{user}Listen 127.0.0.1:{port}
PidFile {runtime}/httpd.pid
DefaultRuntimeDir {runtime}
Mutex file:{runtime} default
ErrorLog {self.error_log}
LogLevel warn
LogFormat "%h %r %>s" short
CustomLog {root}/access.log short
StartServers 2
MinSpareServers 1
MaxSpareServers 4
{loads}{modules}
TypesConfig /etc/mime.types
SSLEngine on
SSLCertificateFile {tls_cert}
SSLCertificateKeyFile {tls_key}
SSLSessionCache shmcb:{runtime}/ssl_scache(512000)
DocumentRoot {root}/htdocs
ScriptAlias /protected/whoami {root}/whoami.cgi
{body}
""")
        (root / "htdocs").mkdir(mode=0o755)
        # A session of its own: prefork signals its children through its
        # process group, which would otherwise be the test's.
        self.proc = subprocess.Popen([APACHE, "-f", str(conf), "-DFOREGROUND"], cwd=root, start_new_session=True,
                                     stdout=open(root / "stdout.log", "w"), stderr=subprocess.STDOUT)
        try:
            wait_for_tls(port, self.proc, self.log)
        except Exception:
            self.stop()
            raise

    def log(self):
        text = ""
        for name in ["stdout.log", "error.log"]:
            if (self.root / name).exists():
                text += (self.root / name).read_text()[-4000:]
        return text

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


# ---- mod_auth_mellon ----

def mellon_location(path, entity_id, key, cert, idp_metadata, signature_method):
    """One mellon SP under `path` (its endpoints under `path`/mellon), whose
    metadata mellon makes itself from its key and certificate."""
    return f"""<Location {path}>
  MellonEnable info
  MellonEndpointPath {path.rstrip('/')}/mellon
  MellonSPentityId "{entity_id}"
  MellonSPPrivateKeyFile {key}
  MellonSPCertFile {cert}
  MellonIdPMetadataFile {idp_metadata}
  MellonSignatureMethod {signature_method}
  MellonDefaultLoginPath {path.rstrip('/')}/protected/whoami
  MellonSecureCookie On
  MellonCookieSameSite None
  MellonVariable mellon{path.strip("/")}
  MellonSetEnvNoPrefix ROLE_SESSION_NAME https://aws.amazon.com/SAML/Attributes/RoleSessionName
  MellonSetEnvNoPrefix SESSION_DURATION https://aws.amazon.com/SAML/Attributes/SessionDuration
  MellonSetEnvNoPrefix ROLE https://aws.amazon.com/SAML/Attributes/Role
</Location>
<Location {path.rstrip('/')}/protected>
  AuthType Mellon
  MellonEnable auth
  Require valid-user
</Location>
"""


class Mellon(Apache):
    """mod_auth_mellon for two SPs of one Apache: `sps` maps a path prefix
    ("/", "/sha512") to (entity id, MellonSignatureMethod)."""

    def __init__(self, port, tls_cert, tls_key, key, cert, idp_metadata, sps):
        root = folder("idbroker-mellon-")
        self.keys = [shutil.copy(key, root / "sp.key"), shutil.copy(cert, root / "sp.crt")]
        for k in self.keys:
            Path(k).chmod(0o644)
        readable(root / "idp-metadata.xml", idp_metadata)
        body = "MellonCacheSize 100\nMellonLockFile {}/run/mellon.lock\n".format(root)
        for path, (entity_id, method) in sps.items():
            body += mellon_location(path, entity_id, root / "sp.key", root / "sp.crt",
                                    root / "idp-metadata.xml", method)
            if path != "/":
                body += f"ScriptAlias {path}/protected/whoami {root}/whoami.cgi\n"
        super().__init__(root, port, tls_cert, tls_key,
                         f"LoadModule auth_mellon_module {MODULES}/mod_auth_mellon.so\n", body)


# ---- Shibboleth SP (mod_shib + shibd) ----

ATTRIBUTE_MAP = """<Attributes xmlns="urn:mace:shibboleth:2.0:attribute-map"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <Attribute name="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent" id="persistent-id">
    <AttributeDecoder xsi:type="NameIDAttributeDecoder" formatter="$Name"/>
  </Attribute>
  <Attribute name="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified" id="nameid">
    <AttributeDecoder xsi:type="NameIDAttributeDecoder" formatter="$Name"/>
  </Attribute>
  <Attribute name="urn:oasis:names:tc:SAML:2.0:nameid-format:transient" id="nameid">
    <AttributeDecoder xsi:type="NameIDAttributeDecoder" formatter="$Name"/>
  </Attribute>
  <Attribute name="https://aws.amazon.com/SAML/Attributes/RoleSessionName" id="roleSessionName"/>
  <Attribute name="https://aws.amazon.com/SAML/Attributes/SessionDuration" id="sessionDuration"/>
  <Attribute name="https://aws.amazon.com/SAML/Attributes/Role" id="role"/>
</Attributes>
"""

LOGGER = """log4j.rootCategory=INFO, file
log4j.category.XMLTooling.XMLObject=WARN
log4j.category.Shibboleth.PropertySet=WARN
log4j.category.Shibboleth-TRANSACTION=INFO
log4j.category.OpenSAML.MessageEncoder=DEBUG
log4j.category.OpenSAML.MessageDecoder=DEBUG
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.fileName={log}
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=%d{{%Y-%m-%d %H:%M:%S}} %p %c %x: %m%n
"""


def shibboleth2_xml(root, entity_id, idp_entity_id, listener_port, signing_alg):
    return f"""<SPConfig xmlns="urn:mace:shibboleth:3.0:native:sp:config"
    xmlns:conf="urn:mace:shibboleth:3.0:native:sp:config" clockSkew="180">
  <OutOfProcess logger="{root}/shibd.logger"/>
  <InProcess logger="{root}/native.logger"/>
  <TCPListener address="127.0.0.1" port="{listener_port}" acl="127.0.0.1"/>
  <ApplicationDefaults entityID="{entity_id}" REMOTE_USER="persistent-id nameid" homeURL="/protected/whoami"
      signing="true" signingAlg="{signing_alg}" encryption="false">
    <Sessions lifetime="28800" timeout="3600" relayState="ss:mem" checkAddress="false"
        handlerSSL="true" cookieProps="https" sameSiteSession="None" redirectLimit="exact">
      <SSO entityID="{idp_entity_id}">SAML2</SSO>
      <Logout>SAML2 Local</Logout>
      <Handler type="Status" Location="/Status" acl="127.0.0.1 ::1"/>
      <Handler type="Session" Location="/Session" showAttributeValues="true"/>
    </Sessions>
    <Errors supportContact="root@localhost" helpLocation="/about.html" styleSheet="/shibboleth-sp/main.css"/>
    <MetadataProvider type="XML" validate="true" path="{root}/idp-metadata.xml"/>
    <AttributeExtractor type="XML" validate="true" reloadChanges="false" path="{root}/attribute-map.xml"/>
    <CredentialResolver type="File" use="signing" key="{root}/sp.key" certificate="{root}/sp.crt"/>
  </ApplicationDefaults>
  <SecurityPolicyProvider type="XML" validate="true" path="/etc/shibboleth/security-policy.xml"/>
  <ProtocolProvider type="XML" validate="true" reloadChanges="false" path="/etc/shibboleth/protocols.xml"/>
</SPConfig>
"""


class Shibboleth(Apache):
    """shibd (`-F -c <own shibboleth2.xml> -p <own pid file>`) and an Apache
    with mod_shib (`ShibConfig`) in front of it; the two talk over a
    loopback TCP port. The template files (protocols, security policy) are
    Debian's, read in place."""

    def __init__(self, port, tls_cert, tls_key, key, cert, idp_metadata, entity_id, idp_entity_id,
                 listener_port, signing_alg):
        root = folder("idbroker-shib-")
        self.entity_id = entity_id
        shutil.copy(key, root / "sp.key")
        shutil.copy(cert, root / "sp.crt")
        for name in ["sp.key", "sp.crt"]:
            (root / name).chmod(0o644)
        logs = root / "logs"
        logs.mkdir(mode=0o777)
        logs.chmod(0o777)
        self.shibd_log = logs / "shibd.log"
        readable(root / "shibd.logger", LOGGER.format(log=self.shibd_log))
        readable(root / "native.logger", LOGGER.format(log=logs / "native.log"))
        readable(root / "idp-metadata.xml", idp_metadata)
        readable(root / "attribute-map.xml", ATTRIBUTE_MAP)
        config = readable(root / "shibboleth2.xml",
                          shibboleth2_xml(root, entity_id, idp_entity_id, listener_port, signing_alg))
        check = subprocess.run([SHIBD, "-t", "-c", str(config)], capture_output=True, text=True, cwd=root)
        if check.returncode != 0:
            raise RuntimeError(f"shibd -t refused the configuration: {check.stdout}{check.stderr}")
        self.shibd = subprocess.Popen([SHIBD, "-F", "-f", "-c", str(config), "-p", str(root / "shibd.pid")],
                                      cwd=root, start_new_session=True,
                                      stdout=open(root / "shibd.out", "w"), stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.shibd.poll() is not None:
                raise RuntimeError(f"shibd exited: {(root / 'shibd.out').read_text()}{self.read_shibd_log()}")
            try:
                socket.create_connection(("127.0.0.1", listener_port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"shibd did not listen: {self.read_shibd_log()}")
        body = f"""ShibConfig {config}
ShibCompatValidUser Off
<Location /Shibboleth.sso>
  SetHandler shib
</Location>
<Location /protected>
  AuthType shibboleth
  ShibRequestSetting requireSession 1
  ShibUseEnvironment On
  Require shib-session
</Location>
"""
        try:
            super().__init__(root, port, tls_cert, tls_key,
                             f"LoadModule mod_shib {MODULES}/mod_shib.so\n", body)
        except Exception:
            self.stop_shibd()
            raise

    def read_shibd_log(self):
        return self.shibd_log.read_text() if self.shibd_log.exists() else ""

    def metadata(self):
        """The SP's metadata as shib-metagen writes it (SAML 2 only, with its
        SingleLogoutServices), with AuthnRequestsSigned="true", which metagen
        leaves out and a signing SP must say."""
        out = subprocess.run([SHIB_METAGEN, "-2", "-L", "-c", str(self.root / "sp.crt"), "-h", f"127.0.0.1:{self.port}",
                              "-e", self.entity_id], capture_output=True, text=True, check=True).stdout
        return out.replace("<md:SPSSODescriptor ", '<md:SPSSODescriptor AuthnRequestsSigned="true" ', 1)

    def stop_shibd(self):
        if self.shibd.poll() is None:
            self.shibd.send_signal(signal.SIGTERM)
            try:
                self.shibd.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.shibd.kill()
                self.shibd.wait()
        return self.shibd.returncode

    def stop(self):
        code = super().stop()
        self.stop_shibd()
        return code
