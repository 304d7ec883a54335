-- 0004: the song shapes as the API serves them, and the loop checks of
-- a timeline, as functions so each route stays one statement.

-- The distinct loop ids of timeline tl that owner may not use (neither
-- theirs nor public), in order of first appearance: one query for the
-- whole timeline, an index probe per distinct id.  Ids the stored
-- timeline old already names are not judged again: a loop deleted or
-- made private after it was arranged shows as a missing block, and
-- does not stop its song from being saved again as it is.  Empty when
-- all are usable.  Song writes refuse the song when this is not empty.
CREATE FUNCTION song_unusable_loops(tl jsonb, owner uuid, old jsonb)
RETURNS text[]
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT coalesce(array_agg(r.id::text ORDER BY r.ord), '{}')
	FROM (SELECT (b->>'loopId')::uuid AS id, min(t.ord) AS ord
	    FROM jsonb_array_elements(tl) WITH ORDINALITY AS t(b, ord)
	    GROUP BY 1) r
	WHERE NOT EXISTS (SELECT 1 FROM loops l WHERE l.id = r.id
	    AND (l.is_public OR l.user_id = owner))
	AND NOT coalesce(old @> jsonb_build_array(
	    jsonb_build_object('loopId', r.id::text)), false)
$$;

-- Timeline tl as viewer (NULL: anonymous) gets it: a block whose loop
-- was deleted, or is private and not the viewer's, carries
-- "missing": true; the others are as stored.
CREATE FUNCTION song_timeline_view(tl jsonb, viewer uuid) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT coalesce(jsonb_agg(CASE WHEN EXISTS (SELECT 1 FROM loops l
	    WHERE l.id = (t.b->>'loopId')::uuid
	    AND (l.is_public OR l.user_id = viewer))
	    THEN t.b ELSE t.b || '{"missing": true}' END ORDER BY t.ord), '[]')
	FROM jsonb_array_elements(tl) WITH ORDINALITY AS t(b, ord)
$$;

-- The song as the API serves it to viewer: song_json's members, with
-- the timeline marked by song_timeline_view.
CREATE FUNCTION song_view_json(s songs, owner_name text, liked boolean,
    viewer uuid) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT json_build_object(
	    'id', s.id, 'userId', s.user_id, 'username', owner_name,
	    'name', s.name, 'bpm', s.bpm, 'timeSignature', s.time_signature,
	    'timeline', song_timeline_view(s.timeline, viewer),
	    'totalBars', s.total_bars,
	    'schemaVersion', s.schema_version, 'isPublic', s.is_public,
	    'playsCount', s.plays_count, 'likesCount', s.likes_count,
	    'likedByMe', coalesce(liked, false), 'version', s.version,
	    'createdAt', api_ts(s.created_at), 'updatedAt', api_ts(s.updated_at))
$$;

-- ?expand=loops: every distinct loop of timeline tl that viewer may
-- see, in order of first appearance, as loop_json shapes them (with
-- likedByMe for the viewer).  Exactly the loops of the blocks that
-- song_timeline_view does not mark missing.
CREATE FUNCTION song_loops_json(tl jsonb, viewer uuid) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE AS $$
	SELECT coalesce(json_agg(loop_json(l, u.username,
	    EXISTS (SELECT 1 FROM loop_likes k
		WHERE k.loop_id = l.id AND k.user_id = viewer))
	    ORDER BY r.ord), '[]')
	FROM (SELECT (b->>'loopId')::uuid AS id, min(t.ord) AS ord
	    FROM jsonb_array_elements(tl) WITH ORDINALITY AS t(b, ord)
	    GROUP BY 1) r
	JOIN loops l ON l.id = r.id AND (l.is_public OR l.user_id = viewer)
	JOIN users u ON u.id = l.user_id
$$;

