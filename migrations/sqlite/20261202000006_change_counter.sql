-- Counts the writes to rows that nodes keep in memory (SAML providers and
-- principals). Each write transaction bumps it as its last statement; every
-- node polls it and forgets what it kept when it moves (src/store/cache.rs).
CREATE TABLE change_counter (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    changes BIGINT NOT NULL
);
INSERT INTO change_counter (id, changes) VALUES (1, 0);
