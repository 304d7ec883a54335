/*
 * The song validator: a pure function from a request body to the
 * normalised document the database stores, or the list of every field
 * that is wrong (with its JSON path).  No database, no HTTP.  It is the
 * songs' item_validator (handlers/items.h).
 *
 * What it cannot know is whether a timeline's loopIds name loops the
 * owner may use: db/songs.c checks that, all ids in one query, in the
 * statement that writes, and names the refused blocks itself.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers/items.h"

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
	r = required(jv_integer_value(el, "startBar", path, 0,
	    SONG_MAX_BARS - 1, fe,
	    &b->start_bar), fe, path);

	snprintf(path, sizeof(path), "timeline[%zu].bars", i);
	if (required(jv_integer_value(el, "bars", path, 1, SONG_MAX_BARS, fe,
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
 * Validate a song document for mode (handlers/items.h): name and bpm
 * are required; timeSignature ("4/4"), timeline ([]), schemaVersion
 * (1) and isPublic (false) get their defaults, except that in
 * ITEM_DOC_REPLACE a missing isPublic is left out, meaning "keep the
 * stored one".  totalBars is never read from the body: it is computed
 * from the timeline (end of the last block, 0 when empty).  Unknown
 * members (id, updatedAt, version, totalBars, ...) are ignored; null
 * is a wrong type (a merge patch has already removed its nulls).
 *
 * Returns 0 with *out (a new object the caller puts) holding the
 * normalised members, or -1 with every problem recorded in fe.
 */
int
song_validate(json_object *in, enum item_doc_mode mode, json_object **out,
    struct field_errors *fe)
{
	json_object	*o, *tl = NULL, *ntl;
	const char	*s;
	long long	 n;
	int		 flag;
	size_t		 errs = fe->count;

	*out = NULL;
	o = json_object_new_object();

	if (required(jv_string(in, "name", "name", 1, 100, fe, &s), fe,
	    "name") == JV_OK)
		add_str(o, "name", s);
	if (required(jv_integer_value(in, "bpm", "bpm", 40, 300, fe, &n), fe,
	    "bpm") == JV_OK)
		add_int(o, "bpm", n);

	switch (jv_string(in, "timeSignature", "timeSignature", 0, 16, fe,
	    &s)) {
	case JV_OK:
		if (strcmp(s, "4/4") == 0 || strcmp(s, "3/4") == 0)
			add_str(o, "timeSignature", s);
		else
			field_errors_add(fe, "timeSignature",
			    "must be \"4/4\" or \"3/4\"");
		break;
	case JV_ABSENT:
		add_str(o, "timeSignature", "4/4");
		break;
	default:
		break;
	}

	switch (jv_array(in, "timeline", "timeline", SONG_MAX_BLOCKS, fe,
	    &tl)) {
	case JV_OK:
		if ((ntl = read_timeline(tl, fe, &n)) != NULL) {
			json_object_object_add(o, "timeline", ntl);
			add_int(o, "totalBars", n);
		}
		break;
	case JV_ABSENT:
		json_object_object_add(o, "timeline", json_object_new_array());
		add_int(o, "totalBars", 0);
		break;
	default:
		break;
	}

	switch (jv_integer_value(in, "schemaVersion", "schemaVersion", 1,
	    1000000, fe,
	    &n)) {
	case JV_OK:
		add_int(o, "schemaVersion", n);
		break;
	case JV_ABSENT:
		add_int(o, "schemaVersion", 1);
		break;
	default:
		break;
	}

	switch (jv_bool(in, "isPublic", "isPublic", fe, &flag)) {
	case JV_OK:
		json_object_object_add(o, "isPublic",
		    json_object_new_boolean(flag));
		break;
	case JV_ABSENT:
		if (mode != ITEM_DOC_REPLACE)
			json_object_object_add(o, "isPublic",
			    json_object_new_boolean(0));
		break;
	default:
		break;
	}

	if (fe->count != errs) {
		json_object_put(o);
		return -1;
	}
	*out = o;
	return 0;
}
