-- Chats, conversations and messages, with the counters that answer every list's total in
-- constant time. Every object is created in the current schema (the connection's search_path),
-- so one database can hold several isolated stores; functions keep that schema as their own
-- search_path, so triggers find their tables whatever the writing session's path is.

CREATE TYPE chat_priority AS ENUM ('low', 'medium', 'high');
CREATE TYPE message_role AS ENUM ('user', 'assistant');

CREATE TABLE chats (
    id          uuid PRIMARY KEY,
    -- Creation order among chats created in the same millisecond.
    seq         bigint GENERATED ALWAYS AS IDENTITY,
    title       text NOT NULL,
    description text,
    active      boolean NOT NULL,
    priority    chat_priority NOT NULL,
    user_id     text,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    -- 1 at creation, one more on every change.
    version     bigint NOT NULL DEFAULT 1
);

-- One index per filter combination a chat list can ask for, each in list order, so every page
-- is a range scan and a deep offset is skipped inside the index alone.
CREATE INDEX chats_in_order ON chats (created_at, seq);
CREATE INDEX chats_by_active ON chats (active, created_at, seq);
CREATE INDEX chats_by_priority ON chats (priority, created_at, seq);
CREATE INDEX chats_by_active_priority ON chats (active, priority, created_at, seq);
CREATE INDEX chats_by_user ON chats (user_id, created_at, seq) WHERE user_id IS NOT NULL;
CREATE INDEX chats_by_user_active ON chats (user_id, active, created_at, seq)
    WHERE user_id IS NOT NULL;
CREATE INDEX chats_by_user_priority ON chats (user_id, priority, created_at, seq)
    WHERE user_id IS NOT NULL;
CREATE INDEX chats_by_user_active_priority ON chats (user_id, active, priority, created_at, seq)
    WHERE user_id IS NOT NULL;

-- How many chats each (active, priority) pair holds, spread over shards so concurrent writers
-- rarely wait on one row; a total is the sum of at most 6 * 16 rows.
CREATE TABLE chat_counts (
    active   boolean NOT NULL,
    priority chat_priority NOT NULL,
    shard    smallint NOT NULL,
    n        bigint NOT NULL,
    PRIMARY KEY (active, priority, shard)
);

-- The same per user.
CREATE TABLE user_chat_counts (
    user_id  text NOT NULL,
    active   boolean NOT NULL,
    priority chat_priority NOT NULL,
    n        bigint NOT NULL,
    PRIMARY KEY (user_id, active, priority)
);

CREATE FUNCTION count_chat(c chats, delta bigint) RETURNS void LANGUAGE sql
    SET search_path FROM CURRENT AS $$
    INSERT INTO chat_counts AS t (active, priority, shard, n)
    VALUES (c.active, c.priority, floor(random() * 16)::smallint, delta)
    ON CONFLICT (active, priority, shard) DO UPDATE SET n = t.n + delta;
    INSERT INTO user_chat_counts AS t (user_id, active, priority, n)
    SELECT c.user_id, c.active, c.priority, delta WHERE c.user_id IS NOT NULL
    ON CONFLICT (user_id, active, priority) DO UPDATE SET n = t.n + delta;
$$;

CREATE FUNCTION count_chats() RETURNS trigger LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (OLD.active, OLD.priority, OLD.user_id)
            IS NOT DISTINCT FROM (NEW.active, NEW.priority, NEW.user_id) THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM count_chat(OLD, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM count_chat(NEW, 1);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER chats_counted AFTER INSERT OR UPDATE OR DELETE ON chats
    FOR EACH ROW EXECUTE FUNCTION count_chats();

CREATE TABLE conversations (
    id                 uuid PRIMARY KEY,
    seq                bigint GENERATED ALWAYS AS IDENTITY,
    user_id            text NOT NULL,
    -- `json`, not `jsonb`: kept exactly as written, so numbers read back as they were sent.
    metadata           json NOT NULL,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    -- Kept by the statement that appends a message: the latest message's position and time
    -- (a message is never stamped before the one it follows).
    message_count      bigint NOT NULL DEFAULT 0,
    last_message_at    timestamptz,
    user_messages      bigint NOT NULL DEFAULT 0,
    assistant_messages bigint NOT NULL DEFAULT 0
);

CREATE INDEX conversations_by_user ON conversations (user_id, created_at, seq);

CREATE TABLE user_conversation_counts (
    user_id text PRIMARY KEY,
    n       bigint NOT NULL
);

CREATE FUNCTION count_conversations() RETURNS trigger LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO user_conversation_counts AS t (user_id, n) VALUES (NEW.user_id, 1)
        ON CONFLICT (user_id) DO UPDATE SET n = t.n + 1;
    ELSE
        UPDATE user_conversation_counts SET n = n - 1 WHERE user_id = OLD.user_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER conversations_counted AFTER INSERT OR DELETE ON conversations
    FOR EACH ROW EXECUTE FUNCTION count_conversations();

CREATE TABLE messages (
    id              uuid PRIMARY KEY,
    conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    -- 1, 2, 3, … within the conversation: a page is a range of positions at any offset.
    position        bigint NOT NULL,
    role            message_role NOT NULL,
    -- 1, 2, 3, … among the conversation's messages of this role: the same for pages by role.
    role_position   bigint NOT NULL,
    content         text NOT NULL,
    metadata        json NOT NULL,
    created_at      timestamptz NOT NULL,
    UNIQUE (conversation_id, position),
    UNIQUE (conversation_id, role, role_position)
);

-- The change feed. Every committed change is announced on one channel per schema, from the
-- writing transaction, so notifications arrive at commit, in commit order, and only if it
-- commits, whoever wrote. Payloads stay below PostgreSQL's 8000-byte cap: a chat is sent whole
-- (its validated fields come to under 6 KB), a message whole or in parts, a conversation by id
-- (nobody listens to conversations being created).

CREATE FUNCTION change_channel() RETURNS text LANGUAGE sql STABLE
    SET search_path FROM CURRENT AS $$
    SELECT CASE WHEN octet_length('chatgate.' || current_schema()) <= 63
        THEN 'chatgate.' || current_schema()
        ELSE 'chatgate.' || md5(current_schema()) END
$$;

CREATE FUNCTION millis(t timestamptz) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
    SELECT (extract(epoch FROM t) * 1000)::bigint
$$;

CREATE FUNCTION chat_change(kind text, c chats, version bigint) RETURNS text LANGUAGE sql STABLE
    SET search_path FROM CURRENT AS $$
    SELECT json_build_object('k', kind, 'chat', json_build_object(
        'id', c.id, 'version', version, 'title', c.title, 'description', c.description,
        'active', c.active, 'priority', c.priority, 'user_id', c.user_id,
        'created_at', millis(c.created_at), 'updated_at', millis(c.updated_at)))::text
$$;

CREATE FUNCTION announce_chat() RETURNS trigger LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM pg_notify(change_channel(), chat_change('chat_created', NEW, NEW.version));
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM pg_notify(change_channel(), chat_change('chat_updated', NEW, NEW.version));
    ELSE
        -- The deletion is the chat's last change: one version on.
        PERFORM pg_notify(change_channel(), chat_change('chat_deleted', OLD, OLD.version + 1));
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER chats_announced AFTER INSERT OR UPDATE OR DELETE ON chats
    FOR EACH ROW EXECUTE FUNCTION announce_chat();

CREATE FUNCTION announce_conversation() RETURNS trigger LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM pg_notify(change_channel(),
            json_build_object('k', 'conversation_created', 'id', NEW.id)::text);
    ELSE
        PERFORM pg_notify(change_channel(),
            json_build_object('k', 'conversation_deleted', 'id', OLD.id)::text);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER conversations_announced AFTER INSERT OR DELETE ON conversations
    FOR EACH ROW EXECUTE FUNCTION announce_conversation();

-- A message is announced whole, so a listener never reads it back (and never misses one whose
-- conversation is deleted a moment later): in one notification when it fits, else in parts of
-- 1500 characters (at most 6000 bytes once escaped) that the listener joins; the parts of one
-- transaction's notifications are delivered together, in order.
CREATE FUNCTION announce_message() RETURNS trigger LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
DECLARE
    message text := json_build_object('id', NEW.id, 'conversation_id', NEW.conversation_id,
        'position', NEW.position, 'role', NEW.role, 'content', NEW.content,
        'metadata', NEW.metadata, 'created_at', millis(NEW.created_at))::text;
    parts int;
BEGIN
    IF octet_length(message) <= 7000 THEN
        PERFORM pg_notify(change_channel(),
            json_build_object('k', 'message_added', 'message', message::json)::text);
    ELSE
        parts := ceil(length(message) / 1500.0);
        FOR n IN 0 .. parts - 1 LOOP
            PERFORM pg_notify(change_channel(), json_build_object('k', 'message_part',
                'id', NEW.id, 'n', n, 'of', parts,
                'text', substr(message, n * 1500 + 1, 1500))::text);
        END LOOP;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER messages_announced AFTER INSERT ON messages
    FOR EACH ROW EXECUTE FUNCTION announce_message();
