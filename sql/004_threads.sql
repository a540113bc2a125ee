-- 004_threads.sql: conversations with the assistant, and the daily usage
-- that the message quota counts.

-- A thread. The id is "thr_" and 16 random base32 characters, made by
-- the server. item_seq numbers its items; turn_started_at is set while a
-- turn runs, so a second turn in the same thread waits its turn (409)
-- and a crashed one is forgotten after a while. Deleting is soft: the
-- row stays, invisible, so late writes of a running turn hit nothing.
CREATE TABLE threads (
    id              text        PRIMARY KEY,
    user_id         uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title           text,
    metadata        jsonb       NOT NULL DEFAULT '{}',
    message_count   integer     NOT NULL DEFAULT 0,
    item_seq        bigint      NOT NULL DEFAULT 0,
    last_message_at timestamptz,
    turn_started_at timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    deleted_at      timestamptz,
    CONSTRAINT threads_title_length CHECK (char_length(title) <= 200),
    CONSTRAINT threads_metadata_object CHECK (jsonb_typeof(metadata) = 'object')
);

-- The list: a user's live threads, newest activity first.
CREATE INDEX threads_user_activity_idx ON threads
    (user_id, (coalesce(last_message_at, created_at)) DESC, id DESC)
    WHERE deleted_at IS NULL;

-- A thread's items: its messages, in order (seq). An assistant message
-- carries the tool calls of its turn, each with its result, as the model
-- wrote them (json, not jsonb, keeps the bytes), and the memories the
-- turn used. words indexes the text for the thread search.
CREATE TABLE items (
    id                text        PRIMARY KEY,
    user_id           uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    thread_id         text        NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    seq               bigint      NOT NULL,
    role              text        NOT NULL,
    content           text        NOT NULL DEFAULT '',
    status            text        NOT NULL DEFAULT 'completed',
    tool_calls        json,
    memories_used     json,
    feedback          text,
    error             text,
    prompt_tokens     integer     NOT NULL DEFAULT 0,
    completion_tokens integer     NOT NULL DEFAULT 0,
    created_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    deleted_at        timestamptz,
    words             tsvector    GENERATED ALWAYS AS
                          (to_tsvector('simple'::regconfig, content)) STORED,
    CONSTRAINT items_role CHECK (role IN ('user', 'assistant', 'tool')),
    CONSTRAINT items_status CHECK
        (status IN ('completed', 'in_progress', 'incomplete', 'error')),
    CONSTRAINT items_feedback CHECK (feedback IN ('positive', 'negative')),
    CONSTRAINT items_thread_seq UNIQUE (thread_id, seq)
);

CREATE INDEX items_thread_idx ON items (user_id, thread_id, seq)
    WHERE deleted_at IS NULL;
-- Answers in progress (a handful at any time), for closing a crashed turn's.
CREATE INDEX items_in_progress_idx ON items (thread_id)
    WHERE status = 'in_progress';
CREATE INDEX items_user_words_idx ON items USING gin (user_id, words)
    WHERE deleted_at IS NULL;

-- What a user spent on one day (UTC): messages sent, for the quota, and
-- the model's tokens.
CREATE TABLE usage (
    user_id  uuid    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    day      date    NOT NULL,
    messages integer NOT NULL DEFAULT 0,
    tokens   bigint  NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, day)
);

-- A thread and an item as the API shows them (single expressions, which
-- the planner inlines; see api_task in 003_tasks.sql).
CREATE TYPE api_thread_json AS (
    id              text,
    title           text,
    created_at      text,
    updated_at      text,
    message_count   integer,
    last_message_at text,
    metadata        jsonb
);

CREATE FUNCTION api_thread(t threads) RETURNS json
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN row_to_json(ROW(t.id, t.title, api_time(t.created_at),
        api_time(t.updated_at), t.message_count, api_time(t.last_message_at),
        t.metadata)::api_thread_json);

CREATE TYPE api_item_json AS (
    id            text,
    thread_id     text,
    role          text,
    content       text,
    status        text,
    tool_calls    json,
    memories_used json,
    feedback      text,
    error         text,
    created_at    text
);

CREATE FUNCTION api_item(i items) RETURNS json
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN row_to_json(ROW(i.id, i.thread_id, i.role, i.content, i.status,
        coalesce(i.tool_calls, '[]'::json),
        coalesce(i.memories_used, '[]'::json), i.feedback, i.error,
        api_time(i.created_at))::api_item_json);
