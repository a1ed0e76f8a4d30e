-- News of changed tracks for the listing caches of every web process (sfa/web/listing_cache.py): each
-- statement that writes tracks NOTIFYs, on the PubSub channel and in its transaction, a broadcast on topic
-- "tracks" naming every user whose tracks it changed (a user_id of null: the table was emptied). Whoever
-- writes (a web node, a worker node, a cascade from a deleted user) is covered without telling anyone.

CREATE FUNCTION tracks_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM tracks_changed_notify(user_id) FROM (SELECT DISTINCT user_id FROM new_rows) AS changed;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM tracks_changed_notify(user_id) FROM (SELECT DISTINCT user_id FROM old_rows) AS changed;
    ELSIF TG_OP = 'UPDATE' THEN
        PERFORM tracks_changed_notify(user_id)
        FROM (SELECT user_id FROM new_rows UNION SELECT user_id FROM old_rows) AS changed;
    ELSE
        PERFORM tracks_changed_notify(NULL);
    END IF;
    RETURN NULL;
END $$;

-- The PubSub's envelope (sfa/pubsub/postgres.py): no origin, so every process delivers it, its writer's too.
CREATE FUNCTION tracks_changed_notify(owner bigint) RETURNS void LANGUAGE sql AS $$
    SELECT pg_notify('sfa_pubsub', json_build_object(
        'o', '', 't', 'tracks', 'e', 'changed', 'p', json_build_object('user_id', owner))::text)
$$;

CREATE TRIGGER tracks_changed_insert AFTER INSERT ON tracks REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tracks_changed();
CREATE TRIGGER tracks_changed_delete AFTER DELETE ON tracks REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tracks_changed();
CREATE TRIGGER tracks_changed_update AFTER UPDATE ON tracks REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tracks_changed();
CREATE TRIGGER tracks_changed_truncate AFTER TRUNCATE ON tracks
    FOR EACH STATEMENT EXECUTE FUNCTION tracks_changed();
