-- 001_init: users.
-- Applied by quipu-fcgi --migrate inside one transaction together with its
-- schema_migrations row, so no BEGIN/COMMIT here. gen_random_uuid() is in
-- core PostgreSQL since 13: no extension needed.

CREATE TABLE users (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    username      text        NOT NULL,
    password_hash text        NOT NULL,
    display_name  text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_username_length CHECK (char_length(username) BETWEEN 1 AND 64)
);

-- Usernames are compared case-insensitively (API.md): "Alice" and "alice"
-- are the same user, and lookups use lower(username) to hit this index.
CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username));
