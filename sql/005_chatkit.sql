-- 005_chatkit.sql: what the ChatKit protocol (lib/chatkit.c) keeps
-- beyond the native API's messages: widgets, client tool calls, hidden
-- context for the model, the ChatKit fields of a user's message, and
-- attachments.

-- Items of more kinds (role):
--   widget            a task list shown to the user; data is
--                     {"widget":...,"copy_text":...}, task_ids the tasks
--   client_tool_call  a tool the browser runs; data is
--                     {"call_id","name","arguments"}, output its result
--                     once the browser sent it, status pending/completed
--   hidden            context for the model only (content), never shown
-- data holds the item's ChatKit fields as a JSON object, written to the
-- client verbatim (json, not jsonb, keeps the bytes); for a user message,
-- its content parts, attachments, quoted_text and inference_options.
ALTER TABLE items DROP CONSTRAINT items_role,
    ADD CONSTRAINT items_role CHECK (role IN ('user', 'assistant', 'tool',
        'widget', 'client_tool_call', 'hidden'));
ALTER TABLE items DROP CONSTRAINT items_status,
    ADD CONSTRAINT items_status CHECK (status IN ('completed', 'in_progress',
        'incomplete', 'error', 'pending'));
ALTER TABLE items
    ADD COLUMN data     json,
    ADD COLUMN output   json,
    ADD COLUMN task_ids bigint[],
    ADD CONSTRAINT items_data_object CHECK (json_typeof(data) = 'object');

-- ChatKit orders a thread's items by created_at, so no two may share one:
-- an item is stamped at least a microsecond after the thread's latest.
-- Items are inserted in seq order, so the latest is the one of the
-- highest seq (found through items_thread_seq).
CREATE FUNCTION items_stamp() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    latest timestamptz;
BEGIN
    SELECT i.created_at INTO latest FROM items i
        WHERE i.thread_id = NEW.thread_id ORDER BY i.seq DESC LIMIT 1;
    IF latest IS NOT NULL AND NEW.created_at <= latest THEN
        NEW.created_at := latest + interval '1 microsecond';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER items_stamp BEFORE INSERT ON items
    FOR EACH ROW EXECUTE FUNCTION items_stamp();

-- ChatKit's thread list: by creation, newest first by default.
CREATE INDEX threads_user_created_idx ON threads (user_id, created_at, id)
    WHERE deleted_at IS NULL;

-- A file attached to a message. attachments.create makes the row with
-- the SHA-256 of a one-time upload token; the upload fills bytes and
-- clears the token. An image's preview_url carries a token of its own,
-- whose SHA-256 is preview_hash. thread_id is set when a message uses it.
CREATE TABLE attachments (
    id          text        PRIMARY KEY,
    user_id     uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    thread_id   text        REFERENCES threads (id) ON DELETE SET NULL,
    name        text        NOT NULL,
    mime_type   text        NOT NULL,
    size        bigint      NOT NULL,
    upload_hash bytea,
    bytes       bytea,
    preview_url text,
    preview_hash bytea,
    created_at  timestamptz NOT NULL DEFAULT now(),
    uploaded_at timestamptz,
    CONSTRAINT attachments_name_length CHECK (char_length(name) BETWEEN 1 AND 255),
    CONSTRAINT attachments_mime_length CHECK (char_length(mime_type) BETWEEN 1 AND 255),
    CONSTRAINT attachments_size CHECK (size >= 0)
);

CREATE INDEX attachments_user_idx ON attachments (user_id, created_at);

-- ChatKit's timestamps: UTC, to the microsecond (items a microsecond
-- apart must still differ).
CREATE FUNCTION chatkit_time(t timestamptz) RETURNS text
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
    RETURN to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');

-- The members of a JSON object without its braces, after a comma ('' for
-- none or an empty object): for splicing stored fields into an item
-- without re-encoding them.
CREATE FUNCTION chatkit_members(d json) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN d IS NULL OR btrim(d::text) ~ '^\{\s*\}$' THEN ''
        ELSE ',' || substr(btrim(d::text), 2, length(btrim(d::text)) - 2)
        END;

-- An item as ChatKit shows it; NULL for the kinds it never shows.
-- Protocol fields that are null are left out.
CREATE FUNCTION chatkit_item(i items) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN '{"id":' || to_json(i.id)::text ||
        ',"thread_id":' || to_json(i.thread_id)::text ||
        ',"created_at":"' || chatkit_time(i.created_at) || '"' ||
        CASE i.role
        WHEN 'user' THEN ',"type":"user_message"' ||
            CASE WHEN i.data IS NULL THEN
                ',"content":[{"type":"input_text","text":' ||
                to_json(i.content)::text ||
                '}],"attachments":[],"inference_options":{}'
            ELSE chatkit_members(i.data) END
        WHEN 'assistant' THEN ',"type":"assistant_message","content":' ||
            CASE WHEN i.content = '' AND i.status = 'in_progress' THEN '[]'
            ELSE '[{"type":"output_text","text":' || to_json(i.content)::text ||
                ',"annotations":[]}]' END
        WHEN 'widget' THEN ',"type":"widget"' || chatkit_members(i.data)
        WHEN 'client_tool_call' THEN
            ',"type":"client_tool_call","status":' ||
            to_json(i.status)::text || chatkit_members(i.data) ||
            coalesce(',"output":' || i.output::text, '')
        END || '}';

-- A thread as ChatKit shows it, with `items' (a page, as JSON text).
-- Its metadata is never sent: ChatKit's is always {}.
CREATE FUNCTION chatkit_thread(t threads, items text) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN '{' || coalesce('"title":' || to_json(t.title)::text || ',', '') ||
        '"id":' || to_json(t.id)::text ||
        ',"created_at":"' || chatkit_time(t.created_at) || '"' ||
        ',"status":{"type":"active"},"metadata":{},"items":' || items || '}';

-- A page of `ks' (JSON texts, in order; one more than `lim' when there
-- are more), `ids' their ids: after is the id of the page's last one.
CREATE FUNCTION chatkit_page(ks text[], ids text[], lim int) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN '{"data":[' || coalesce(array_to_string(ks[1:lim], ','), '') ||
        '],"has_more":' || CASE WHEN coalesce(cardinality(ks), 0) > lim
        THEN 'true,"after":' || to_json(ids[lim])::text ELSE 'false' END ||
        '}';
