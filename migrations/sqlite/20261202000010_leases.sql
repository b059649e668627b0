-- Work that one node at a time should do (audit retention): a node holds
-- the lease until it expires or it renews it.
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
