/*
 * The song validator: a pure function from a request body to the
 * normalised members the database stores, or the list of every field
 * that is wrong (with its JSON path).  No database, no HTTP.
 *
 * What it cannot know is whether a timeline's loopIds name loops the
 * owner may use: db/songs.c checks that, all ids in one query, and
 * song_bad_loop_errors() turns the refused ids back into paths.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "handlers/handlers.h"
#include "handlers/model.h"

/* Members of one timeline block, read from the body. */
struct block_in {
	const char	*id;
	const char	*loop_id;
	long long	 start_bar;
	long long	 bars;
	const char	*color;		/* NULL: none */
	int		 ok;		/* every member valid */
};

static void
add_int(json_object *o, const char *key, long long v)
{
	json_object_object_add(o, key, json_object_new_int64(v));
}

static void
add_str(json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, json_object_new_string(v));
}

/* A required member: JV_ABSENT becomes an error. */
static enum jv_result
required(enum jv_result r, struct field_errors *fe, const char *path)
{
	if (r == JV_ABSENT) {
		field_errors_add(fe, path, "is required");
		return JV_BAD;
	}
	return r;
}

/* 1 when member key of o is present and JSON null. */
static int
is_null(json_object *o, const char *key)
{
	json_object	*v;

	return json_object_object_get_ex(o, key, &v) && v == NULL;
}

/*
 * Read block i of the timeline into *b, recording every problem.
 * Returns 1 when the block is valid.
 */
static int
read_block(json_object *el, size_t i, struct field_errors *fe,
    struct block_in *b)
{
	char		 path[64];
	enum jv_result	 r;
	size_t		 errs = fe->count;

	memset(b, 0, sizeof(*b));
	if (!json_object_is_type(el, json_type_object)) {
		snprintf(path, sizeof(path), "timeline[%zu]", i);
		field_errors_add(fe, path, "must be an object");
		return 0;
	}
	snprintf(path, sizeof(path), "timeline[%zu].id", i);
	required(jv_string(el, "id", path, 1, 64, fe, &b->id), fe, path);

	snprintf(path, sizeof(path), "timeline[%zu].loopId", i);
	r = required(jv_string(el, "loopId", path, 0, 64, fe, &b->loop_id),
	    fe, path);
	if (r == JV_OK && !uuid_is_valid(b->loop_id))
		field_errors_add(fe, path, "must be a loop id (a UUID)");

	snprintf(path, sizeof(path), "timeline[%zu].startBar", i);
	r = required(jv_int(el, "startBar", path, 0, SONG_MAX_BARS - 1, fe,
	    &b->start_bar), fe, path);

	snprintf(path, sizeof(path), "timeline[%zu].bars", i);
	if (required(jv_int(el, "bars", path, 1, SONG_MAX_BARS, fe,
	    &b->bars), fe, path) == JV_OK && r == JV_OK &&
	    b->start_bar + b->bars > SONG_MAX_BARS)
		field_errors_add(fe, path, "must end by bar 4096 "
		    "(startBar + bars <= 4096)");

	snprintf(path, sizeof(path), "timeline[%zu].color", i);
	if (!is_null(el, "color") &&
	    jv_string(el, "color", path, 7, 7, fe, &b->color) == JV_OK &&
	    !jv_is_hex_color(b->color)) {
		field_errors_add(fe, path, "must be a colour #RRGGBB");
		b->color = NULL;
	}
	b->ok = fe->count == errs;
	return b->ok;
}

/*
 * The timeline: at most SONG_MAX_BLOCKS valid blocks with ids unique
 * in the song.  Returns a new normalised array (blocks with id,
 * loopId in lower case, startBar, bars and color when given; any other
 * member dropped) and sets *total_bars to the end of the last block,
 * or returns NULL with the problems recorded.
 */
static json_object *
read_timeline(json_object *tl, struct field_errors *fe, long long *total_bars)
{
	struct block_in	*blocks;
	json_object	*out = NULL, *b;
	size_t		 n, i, j, errs = fe->count;
	char		 path[64], msg[96], lower[UUID_LEN + 1];

	*total_bars = 0;
	n = json_object_array_length(tl);
	blocks = xcalloc(n > 0 ? n : 1, sizeof(*blocks));
	for (i = 0; i < n; i++)
		read_block(json_object_array_get_idx(tl, i), i, fe,
		    &blocks[i]);
	for (i = 0; i < n; i++) {
		if (blocks[i].id == NULL)
			continue;
		for (j = 0; j < i; j++)
			if (blocks[j].id != NULL &&
			    strcmp(blocks[i].id, blocks[j].id) == 0)
				break;
		if (j < i) {
			snprintf(path, sizeof(path), "timeline[%zu].id", i);
			snprintf(msg, sizeof(msg), "must be unique in the "
			    "song (timeline[%zu].id has it too)", j);
			field_errors_add(fe, path, msg);
		}
	}
	if (fe->count != errs)
		goto done;
	out = json_object_new_array_ext((int)n);
	for (i = 0; i < n; i++) {
		for (j = 0; j <= UUID_LEN; j++)
			lower[j] = (char)tolower(
			    (unsigned char)blocks[i].loop_id[j]);
		b = json_object_new_object();
		add_str(b, "id", blocks[i].id);
		add_str(b, "loopId", lower);
		add_int(b, "startBar", blocks[i].start_bar);
		add_int(b, "bars", blocks[i].bars);
		if (blocks[i].color != NULL)
			add_str(b, "color", blocks[i].color);
		json_object_array_add(out, b);
		if (blocks[i].start_bar + blocks[i].bars > *total_bars)
			*total_bars = blocks[i].start_bar + blocks[i].bars;
	}
done:
	free(blocks);
	return out;
}

/*
 * Validate a song body (an object) for mode:
 *   SONG_FULL   create or full replace: name and bpm are required,
 *               the other members get their defaults (timeSignature
 *               "4/4", timeline [], schemaVersion 1, isPublic false);
 *   SONG_PATCH  a JSON merge patch (RFC 7396): only the members
 *               present are read; null removes a member, which
 *               restores its default (and is refused for name and
 *               bpm, which have none).
 * totalBars is never read from the body: it is computed from the
 * timeline (end of the last block, 0 when empty) whenever the
 * timeline is given.  Unknown members (id, updatedAt, version, ...)
 * are ignored here.
 *
 * Returns a new object the caller puts, holding the normalised
 * members, or NULL with every problem recorded in fe.
 */
json_object *
song_validate(json_object *in, enum song_mode mode, struct field_errors *fe)
{
	json_object	*out, *tl = NULL, *ntl;
	const char	*s;
	long long	 n;
	int		 flag, patch = mode == SONG_PATCH;
	size_t		 errs = fe->count;

	out = json_object_new_object();

	if (patch && is_null(in, "name"))
		field_errors_add(fe, "name", "is required");
	else if (jv_string(in, "name", "name", 1, 100, fe, &s) == JV_OK)
		add_str(out, "name", s);
	else if (!patch && !json_object_object_get_ex(in, "name", NULL))
		field_errors_add(fe, "name", "is required");

	if (patch && is_null(in, "bpm"))
		field_errors_add(fe, "bpm", "is required");
	else if (jv_int(in, "bpm", "bpm", 40, 300, fe, &n) == JV_OK)
		add_int(out, "bpm", n);
	else if (!patch && !json_object_object_get_ex(in, "bpm", NULL))
		field_errors_add(fe, "bpm", "is required");

	if (patch && is_null(in, "timeSignature"))
		add_str(out, "timeSignature", "4/4");
	else if (jv_string(in, "timeSignature", "timeSignature", 0, 16, fe,
	    &s) == JV_OK) {
		if (strcmp(s, "4/4") == 0 || strcmp(s, "3/4") == 0)
			add_str(out, "timeSignature", s);
		else
			field_errors_add(fe, "timeSignature",
			    "must be \"4/4\" or \"3/4\"");
	} else if (!patch && !json_object_object_get_ex(in, "timeSignature",
	    NULL))
		add_str(out, "timeSignature", "4/4");

	if (patch && is_null(in, "timeline")) {
		json_object_object_add(out, "timeline",
		    json_object_new_array());
		add_int(out, "totalBars", 0);
	} else if (jv_array(in, "timeline", "timeline", SONG_MAX_BLOCKS, fe,
	    &tl) == JV_OK) {
		if ((ntl = read_timeline(tl, fe, &n)) != NULL) {
			json_object_object_add(out, "timeline", ntl);
			add_int(out, "totalBars", n);
		}
	} else if (!patch && !json_object_object_get_ex(in, "timeline",
	    NULL)) {
		json_object_object_add(out, "timeline",
		    json_object_new_array());
		add_int(out, "totalBars", 0);
	}

	if (patch && is_null(in, "schemaVersion"))
		add_int(out, "schemaVersion", 1);
	else if (jv_int(in, "schemaVersion", "schemaVersion", 1, 1000000, fe,
	    &n) == JV_OK)
		add_int(out, "schemaVersion", n);
	else if (!patch && !json_object_object_get_ex(in, "schemaVersion",
	    NULL))
		add_int(out, "schemaVersion", 1);

	if (patch && is_null(in, "isPublic"))
		json_object_object_add(out, "isPublic",
		    json_object_new_boolean(0));
	else if (jv_bool(in, "isPublic", "isPublic", fe, &flag) == JV_OK)
		json_object_object_add(out, "isPublic",
		    json_object_new_boolean(flag));
	else if (!patch && !json_object_object_get_ex(in, "isPublic", NULL))
		json_object_object_add(out, "isPublic",
		    json_object_new_boolean(0));

	if (fe->count != errs) {
		json_object_put(out);
		return NULL;
	}
	return out;
}

/*
 * The database refused the loop ids in bad[0..n) (not a loop the owner
 * may use).  Record an error at timeline[i].loopId for every block of
 * the normalised song that names one of them.
 */
void
song_bad_loop_errors(json_object *song, const char *const *bad, size_t n,
    struct field_errors *fe)
{
	json_object	*tl, *b, *v;
	size_t		 i, k, len;
	char		 path[64];

	if (!json_object_object_get_ex(song, "timeline", &tl) ||
	    !json_object_is_type(tl, json_type_array))
		return;
	len = json_object_array_length(tl);
	for (i = 0; i < len; i++) {
		b = json_object_array_get_idx(tl, i);
		if (!json_object_object_get_ex(b, "loopId", &v))
			continue;
		for (k = 0; k < n; k++)
			if (strcasecmp(json_object_get_string(v), bad[k]) == 0)
				break;
		if (k == n)
			continue;
		snprintf(path, sizeof(path), "timeline[%zu].loopId", i);
		field_errors_add(fe, path, "must be a loop you own or a "
		    "public loop");
	}
}
