-- 006_memory.sql: long-term memory (DESIGN.md §7): facts about the user,
-- their history, the buckets that find similar ones quickly, and the
-- queue of turns waiting for their facts to be extracted.

-- A fact about the user, one short sentence. subject is the key the
-- reconciliation compares ("home", "likes:jazz", "note:..."). words is
-- the English full-text vector (stemmed, stop words out: "Lives in
-- Paris" is 'live' & 'pari'). embed_model and embed_dim say how the
-- vector of content in memory_vectors was made (NULL until computed; a
-- vector of another model than the configured one counts as missing and
-- is recomputed lazily). source names the
-- turn the fact came from; no foreign keys, so deleting a thread keeps
-- what the user told in it, as a user expects of a memory.
CREATE TABLE memories (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id       uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    content       text        NOT NULL,
    subject       text        NOT NULL DEFAULT '',
    words         tsvector    GENERATED ALWAYS AS
                                  (to_tsvector('english'::regconfig, content)) STORED,
    embed_model   text,
    embed_dim     integer,
    source_thread text,
    source_item   text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT memories_content_length
        CHECK (char_length(content) BETWEEN 1 AND 1000)
);

-- The list, newest change first, and its total.
CREATE INDEX memories_user_updated_idx ON memories (user_id, updated_at, id);
-- Full-text candidates: led by user_id (btree_gin, see 003), so a search
-- reads only the user's own postings.
CREATE INDEX memories_user_words_idx ON memories USING gin (user_id, words);
-- Reconciliation looks up the memories of one subject.
CREATE INDEX memories_user_subject_idx ON memories (user_id, subject);

-- The vectors, beside the memories rather than in them: a builtin
-- vector is 1 KB, under the 2 KB at which PostgreSQL moves a value out of
-- line, so inside memories it would make every row the full-text search
-- reads five times wider (100 000 memories: 260 MB instead of 32 MB, no
-- longer in shared_buffers). A search reads the vectors of its few
-- hundred candidates only.
CREATE TABLE memory_vectors (
    memory_id bigint   PRIMARY KEY REFERENCES memories (id) ON DELETE CASCADE,
    embedding float4[] NOT NULL
);

-- Locality-sensitive hashing of the embeddings (embed_lsh()): each
-- memory sits in a few buckets, one per hash table, and similar vectors
-- share buckets. A search counts, with an index-only scan of the user's
-- own rows, how many of the query's buckets each memory shares, and
-- scores exactly only the best of them: pgvector is not in Debian 12,
-- and an exact scan of 100 000 vectors in SQL is far too slow.
CREATE TABLE memory_buckets (
    user_id   uuid    NOT NULL,
    bucket    integer NOT NULL,
    memory_id bigint  NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, bucket, memory_id)
);
CREATE INDEX memory_buckets_memory_idx ON memory_buckets (memory_id);

-- The English lexemes of each memory (memories.words), one row each: the
-- postings of the search's full-text source (recall.c). Through the GIN
-- index a match costs a heap fetch of its row and a ts_rank_cd, so a
-- query with a common word ("live", "like") pays for thousands of rows
-- at 100 000 memories. Here a search reads, with an index-only scan, at
-- most a bounded number of the newest postings of each of its words: it
-- costs what the query has words, not what they match. The GIN index
-- stays for the list's q=. Kept in step with memories.words by the
-- trigger below, so that no writer of memories has to know of it.
CREATE TABLE memory_lexemes (
    user_id   uuid   NOT NULL,
    lexeme    text   NOT NULL,
    memory_id bigint NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, lexeme, memory_id)
);
CREATE INDEX memory_lexemes_memory_idx ON memory_lexemes (memory_id);

-- After the row is written, words (a generated column) is computed.
-- tsvector_to_array() gives each lexeme once. On an update, the lexemes
-- the new text lost go and the new ones come; those kept are not
-- touched.
CREATE FUNCTION memory_lexemes_sync() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM memory_lexemes
        WHERE memory_id = NEW.id
          AND lexeme <> ALL (tsvector_to_array(NEW.words));
    END IF;
    INSERT INTO memory_lexemes (user_id, lexeme, memory_id)
    SELECT NEW.user_id, w, NEW.id
    FROM unnest(tsvector_to_array(NEW.words)) w
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
CREATE TRIGGER memories_lexemes AFTER INSERT OR UPDATE OF content
    ON memories FOR EACH ROW EXECUTE FUNCTION memory_lexemes_sync();

-- Every change of a memory: ADD, UPDATE (old and new text), DELETE (the
-- old text). memory_id is no foreign key: a deleted memory's history
-- stays readable, until the user deletes all their memories.
-- actor: who made the change, 'extraction' (after a turn), 'assistant'
-- (its remember/forget tools), 'user' (the API).
CREATE TABLE memory_events (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id       uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    memory_id     bigint      NOT NULL,
    event         text        NOT NULL,
    old_content   text,
    new_content   text,
    actor         text        NOT NULL,
    source_thread text,
    source_item   text,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT memory_events_event CHECK (event IN ('ADD', 'UPDATE', 'DELETE')),
    CONSTRAINT memory_events_actor
        CHECK (actor IN ('extraction', 'assistant', 'user'))
);
CREATE INDEX memory_events_memory_idx ON memory_events (user_id, memory_id, id);

-- Turns waiting for extraction. A turn queues its user message when its
-- answer is stored; the thread that served it takes the job once the
-- client has the whole answer, and idle threads sweep the rest. A job
-- taken is leased (locked_until), not deleted: a worker that dies with it
-- loses nothing, the lease runs out and another thread takes it. A job
-- that fails is tried again later (run_after), a few times.
CREATE TABLE memory_jobs (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    thread_id    text,
    item_id      text,
    message      text        NOT NULL,
    attempts     integer     NOT NULL DEFAULT 0,
    run_after    timestamptz NOT NULL DEFAULT now(),
    locked_until timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX memory_jobs_ready_idx ON memory_jobs (run_after, id);

-- A memory as the API shows it (row_to_json, as api_task in 003).
CREATE TYPE api_memory_source_json AS (
    thread_id text,
    item_id   text
);
CREATE TYPE api_memory_json AS (
    id         bigint,
    content    text,
    created_at text,
    updated_at text,
    source     api_memory_source_json
);
CREATE FUNCTION api_memory(m memories) RETURNS json
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN row_to_json(ROW(m.id, m.content, api_time(m.created_at),
        api_time(m.updated_at),
        CASE WHEN m.source_thread IS NOT NULL THEN
            ROW(m.source_thread, m.source_item)::api_memory_source_json
        END)::api_memory_json);

-- An event as the API shows it.
CREATE TYPE api_memory_event_json AS (
    id          bigint,
    memory_id   bigint,
    event       text,
    old_content text,
    new_content text,
    actor       text,
    source      api_memory_source_json,
    created_at  text
);
CREATE FUNCTION api_memory_event(e memory_events) RETURNS json
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN row_to_json(ROW(e.id, e.memory_id, e.event, e.old_content,
        e.new_content, e.actor,
        CASE WHEN e.source_thread IS NOT NULL THEN
            ROW(e.source_thread, e.source_item)::api_memory_source_json
        END, api_time(e.created_at))::api_memory_event_json);

-- The words of a search as an OR query of their English lexemes
-- ("where do I live?" is 'live', "what's my dog called" 'call' | 'dog'),
-- NULL when it has none. Unlike task_query: OR, because a question
-- rarely repeats the words of the memory that answers it, and no prefix
-- match, because the lexemes are already stems. recall.c ranks what it
-- finds, so a memory matching one word of three still comes up.
CREATE FUNCTION memory_query(q text) RETURNS tsquery
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    BEGIN ATOMIC
        SELECT string_agg('''' || replace(replace(lexeme, '\', '\\'),
                   '''', '''''') || '''', ' | ')::tsquery
        FROM unnest(to_tsvector('english'::regconfig, q));
    END;

-- Memories whose vector is missing or of another model, found without
-- reading the user's other rows (recall.c re-embeds a few per search).
CREATE INDEX memories_user_model_idx ON memories (user_id, embed_model);
