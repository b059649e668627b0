-- Sign-ins of `idbroker login` and `credential-process`: a request the
-- command made (its PKCE challenge, loopback address or device code), found by
-- the SHA-256 of its id; approved in the browser, then redeemed once with
-- the code (`code_hash`: the SHA-256 of the authorization or device code) and
-- the PKCE verifier. The credentials wait here sealed under the master key.
CREATE TABLE cli_grants (
    id_hash      TEXT PRIMARY KEY,
    code_hash    TEXT UNIQUE,
    request      TEXT NOT NULL,
    status       TEXT NOT NULL,
    credentials  TEXT,
    polled_at    BIGINT,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX cli_grants_expiry ON cli_grants (expires_at);
