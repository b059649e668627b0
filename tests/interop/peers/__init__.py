"""SAML peers for tests/interop/test_saml_peers.py: implementations this
project did not write sign SAML Responses in the shapes real IdPs send.

- cases.py: the case table (signer x vendor shape x placement x algorithm x KeyInfo) and `build`
- shapes.py: the vendors' Response shapes (AD FS, Entra ID, Okta, Google Workspace, Keycloak, Shibboleth IdP)
- common.py: namespaces, algorithms, the committed keys (tests/keys/peers/), IdP and SP metadata
- one module per signer: xmlsec1_cli, pyxmlsec_signer, signxml_signer, pysaml2_idp,
  lasso_idp (runs under the system Python), xmlcrypto_signer (runs node/sign.js)
- selfcheck.py: libxmlsec1 verifies every signature before idbroker sees it
- generate_corpus.py: writes every case to a folder with a manifest (for fuzzing)
"""
