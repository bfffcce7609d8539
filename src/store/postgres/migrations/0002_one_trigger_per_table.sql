-- Cheaper triggers: what every write pays on top of its own rows.
--
-- Each table's counting and announcing now happen in one PL/pgSQL trigger function, which
-- keeps its statements' plans for the session. The helpers it calls have no `SET search_path`
-- of their own (they run inside the trigger's), so `change_channel()` and `millis()` are inlined
-- into the trigger's cached plans instead of being parsed, planned and given a configuration of
-- their own on every call, and `count_chat` keeps its plans too. What is counted and announced
-- is unchanged.

DROP TRIGGER chats_counted ON chats;
DROP TRIGGER chats_announced ON chats;
DROP TRIGGER conversations_counted ON conversations;
DROP TRIGGER conversations_announced ON conversations;
DROP FUNCTION count_chats();
DROP FUNCTION announce_chat();
DROP FUNCTION chat_change(text, chats, bigint);
DROP FUNCTION count_conversations();
DROP FUNCTION announce_conversation();

-- Called only from the triggers below, in their schema.
CREATE OR REPLACE FUNCTION change_channel() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN octet_length('chatgate.' || current_schema()) <= 63
        THEN 'chatgate.' || current_schema()
        ELSE 'chatgate.' || md5(current_schema()) END
$$;

-- Adds `delta` to the counters of the bucket `c` is in (called only from chat_changed).
DROP FUNCTION count_chat(chats, bigint);
CREATE FUNCTION count_chat(c chats, delta bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO chat_counts AS t (active, priority, shard, n)
    VALUES (c.active, c.priority, floor(random() * 16)::smallint, delta)
    ON CONFLICT (active, priority, shard) DO UPDATE SET n = t.n + delta;
    IF c.user_id IS NOT NULL THEN
        INSERT INTO user_chat_counts AS t (user_id, active, priority, n)
        VALUES (c.user_id, c.active, c.priority, delta)
        ON CONFLICT (user_id, active, priority) DO UPDATE SET n = t.n + delta;
    END IF;
END
$$;

-- Moves the counters when a chat enters, leaves or changes bucket, and announces the change:
-- the whole chat at the change's version (a deletion is the chat's last change: one on).
CREATE FUNCTION chat_changed() RETURNS trigger LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
DECLARE
    c chats;
    version bigint;
BEGIN
    IF TG_OP = 'DELETE' THEN
        c := OLD;
        version := OLD.version + 1;
    ELSE
        c := NEW;
        version := NEW.version;
    END IF;
    IF TG_OP <> 'UPDATE' OR (OLD.active, OLD.priority, OLD.user_id)
            IS DISTINCT FROM (NEW.active, NEW.priority, NEW.user_id) THEN
        IF TG_OP <> 'INSERT' THEN
            PERFORM count_chat(OLD, -1);
        END IF;
        IF TG_OP <> 'DELETE' THEN
            PERFORM count_chat(NEW, 1);
        END IF;
    END IF;
    PERFORM pg_notify(change_channel(), json_build_object(
        'k', CASE TG_OP WHEN 'INSERT' THEN 'chat_created' WHEN 'UPDATE' THEN 'chat_updated'
            ELSE 'chat_deleted' END,
        'chat', json_build_object('id', c.id, 'version', version, 'title', c.title,
            'description', c.description, 'active', c.active, 'priority', c.priority,
            'user_id', c.user_id, 'created_at', millis(c.created_at),
            'updated_at', millis(c.updated_at)))::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER chats_changed AFTER INSERT OR UPDATE OR DELETE ON chats
    FOR EACH ROW EXECUTE FUNCTION chat_changed();

-- Counts a user's conversations and announces their creation and deletion (by id).
CREATE FUNCTION conversation_changed() RETURNS trigger LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO user_conversation_counts AS t (user_id, n) VALUES (NEW.user_id, 1)
        ON CONFLICT (user_id) DO UPDATE SET n = t.n + 1;
        PERFORM pg_notify(change_channel(),
            json_build_object('k', 'conversation_created', 'id', NEW.id)::text);
    ELSE
        UPDATE user_conversation_counts SET n = n - 1 WHERE user_id = OLD.user_id;
        PERFORM pg_notify(change_channel(),
            json_build_object('k', 'conversation_deleted', 'id', OLD.id)::text);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER conversations_changed AFTER INSERT OR DELETE ON conversations
    FOR EACH ROW EXECUTE FUNCTION conversation_changed();
