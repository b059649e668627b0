-- Addresses from which a user completed a sign-in: failures from them count
-- against that user alone (src/console/throttle.rs). Swept after 30 days.
CREATE TABLE familiar_sources (
    user_key      TEXT NOT NULL,
    address       TEXT NOT NULL,
    last_success  BIGINT NOT NULL,
    PRIMARY KEY (user_key, address)
);
CREATE INDEX familiar_sources_age ON familiar_sources (last_success);
