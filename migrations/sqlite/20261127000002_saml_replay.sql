-- Assertions already used, by issuer and assertion id, kept until they expire:
-- a response is accepted once across every endpoint and every node.
CREATE TABLE saml_replay (
    issuer        TEXT NOT NULL,
    assertion_id  TEXT NOT NULL,
    expires_at    BIGINT NOT NULL,
    PRIMARY KEY (issuer, assertion_id)
);
CREATE INDEX saml_replay_expiry ON saml_replay (expires_at);
