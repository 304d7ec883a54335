/*
 * The loop validator: a pure function from a JSON object to the
 * normalised loop document the database stores, or the complete list
 * of what is wrong with it (every field, every element, each with its
 * JSON path).  Ranges are those of doc/API.md, "Loops"; the database
 * checks the same ranges again as a backstop (0001_schema.sql).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "handlers/items.h"

#define LOOP_NAME_MAX		100
#define LOOP_CHORDS_MAX		64
#define LOOP_CHORD_BAR_MAX	15
#define LOOP_CHORD_MAX		20
#define LOOP_STEPS_MAX		1024
#define LOOP_STEP_BAR_MAX	63	/* 4 bars of sixteenths */
#define LOOP_SOUND_MAX		64
#define LOOP_VELOCITY_SCALE	32	/* digits after the point */
#define LOOP_BPM_MIN		40
#define LOOP_BPM_MAX		300
#define LOOP_BPM_DEFAULT	120
#define LOOP_SCHEMA_MAX		1000000
#define LOOP_COLOR_DEFAULT	"#FFD11A"

/* Add member key of src to dst, sharing the value. */
static void
share(json_object *dst, const char *key, json_object *src)
{
	json_object	*v;

	if (json_object_object_get_ex(src, key, &v))
		json_object_object_add(dst, key, json_object_get(v));
}

/* A required member: absent is an error too. */
static int
required(enum jv_result r, const char *path, struct field_errors *fe)
{
	if (r == JV_ABSENT)
		field_errors_add(fe, path, "is required");
	return r == JV_OK;
}

/*
 * bars: 1, 2, 4 or 8, as a number (4, 4.0) or as a string ("4"); 0
 * when bad.
 */
static int
read_bars(json_object *in, struct field_errors *fe)
{
	struct field_errors quiet;
	json_object	*v;
	const char	*s;
	long long	 n;

	if (!json_object_object_get_ex(in, "bars", &v)) {
		field_errors_add(fe, "bars", "is required");
		return 0;
	}
	if (!json_object_is_type(v, json_type_string)) {
		field_errors_init(&quiet);
		if (jv_integer_value(in, "bars", "bars", 1, 8, &quiet,
		    &n) != JV_OK)
			n = 0;
		field_errors_release(&quiet);
		if (n == 1 || n == 2 || n == 4 || n == 8)
			return (int)n;
	} else {
		s = json_object_get_string(v);
		if (json_object_get_string_len(v) == 1 && (s[0] == '1' ||
		    s[0] == '2' || s[0] == '4' || s[0] == '8'))
			return s[0] - '0';
	}
	field_errors_add(fe, "bars", "must be 1, 2, 4 or 8");
	return 0;
}

/* color: "#RRGGBB", default #FFD11A. */
static json_object *
read_color(json_object *in, struct field_errors *fe)
{
	json_object	*v;

	if (!json_object_object_get_ex(in, "color", &v))
		return json_object_new_string(LOOP_COLOR_DEFAULT);
	if (json_object_is_type(v, json_type_string) &&
	    (size_t)json_object_get_string_len(v) == 7 &&
	    jv_is_hex_color(json_object_get_string(v)))
		return json_object_get(v);
	field_errors_add(fe, "color", "must be a colour #RRGGBB");
	return NULL;
}

/* chordProgression: up to 64 of {bar 0-15, chord 1-20 characters}. */
static json_object *
read_chords(json_object *in, struct field_errors *fe)
{
	json_object	*arr, *el, *o;
	const char	*s;
	long long	 bar;
	char		 path[64], p2[80];
	size_t		 i, n;
	int		 ok;

	switch (jv_array(in, "chordProgression", "chordProgression",
	    LOOP_CHORDS_MAX, fe, &arr)) {
	case JV_ABSENT:
		return json_object_new_array();
	case JV_BAD:
		return NULL;
	default:
		break;
	}
	o = json_object_new_array();
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		el = json_object_array_get_idx(arr, i);
		snprintf(path, sizeof(path), "chordProgression[%zu]", i);
		if (!json_object_is_type(el, json_type_object)) {
			field_errors_add(fe, path, "must be an object");
			continue;
		}
		snprintf(p2, sizeof(p2), "%s.bar", path);
		ok = required(jv_integer_value(el, "bar", p2, 0,
		    LOOP_CHORD_BAR_MAX, fe,
		    &bar), p2, fe);
		snprintf(p2, sizeof(p2), "%s.chord", path);
		ok &= required(jv_string(el, "chord", p2, 1, LOOP_CHORD_MAX, fe,
		    &s), p2, fe);
		if (ok) {
			el = json_object_new_object();
			json_object_object_add(el, "bar",
			    json_object_new_int64(bar));
			share(el, "chord", json_object_array_get_idx(arr, i));
			json_object_array_add(o, el);
		}
	}
	return o;
}

/*
 * iconSequence: up to 1024 steps {bar 0-maxbar, row 0-3, soundId 1-64
 * characters, velocity 0-1 (0.8), pitch 0-127, duration16 1-64 (1)}.
 */
static json_object *
read_steps(json_object *in, int maxbar, struct field_errors *fe)
{
	json_object	*arr, *el, *o, *vel;
	const char	*s;
	long long	 bar, row, pitch, dur;
	char		 path[64], p2[80];
	size_t		 i, n;
	int		 ok;

	switch (jv_array(in, "iconSequence", "iconSequence", LOOP_STEPS_MAX,
	    fe, &arr)) {
	case JV_ABSENT:
		return json_object_new_array();
	case JV_BAD:
		return NULL;
	default:
		break;
	}
	o = json_object_new_array();
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		el = json_object_array_get_idx(arr, i);
		snprintf(path, sizeof(path), "iconSequence[%zu]", i);
		if (!json_object_is_type(el, json_type_object)) {
			field_errors_add(fe, path, "must be an object");
			continue;
		}
		snprintf(p2, sizeof(p2), "%s.bar", path);
		ok = required(jv_integer_value(el, "bar", p2, 0, maxbar, fe,
		    &bar), p2,
		    fe);
		snprintf(p2, sizeof(p2), "%s.row", path);
		ok &= required(jv_integer_value(el, "row", p2, 0, 3, fe, &row),
		    p2, fe);
		snprintf(p2, sizeof(p2), "%s.soundId", path);
		ok &= required(jv_string(el, "soundId", p2, 1, LOOP_SOUND_MAX,
		    fe, &s), p2, fe);
		snprintf(p2, sizeof(p2), "%s.velocity", path);
		vel = NULL;
		ok &= jv_number(el, "velocity", p2, 0, 1, LOOP_VELOCITY_SCALE,
		    fe, &vel) != JV_BAD;
		snprintf(p2, sizeof(p2), "%s.pitch", path);
		ok &= required(jv_integer_value(el, "pitch", p2, 0, 127, fe,
		    &pitch), p2,
		    fe);
		snprintf(p2, sizeof(p2), "%s.duration16", path);
		dur = 1;
		ok &= jv_integer_value(el, "duration16", p2, 1, 64, fe,
		    &dur) != JV_BAD;
		if (!ok)
			continue;
		el = json_object_new_object();
		json_object_object_add(el, "bar", json_object_new_int64(bar));
		json_object_object_add(el, "row", json_object_new_int64(row));
		share(el, "soundId", json_object_array_get_idx(arr, i));
		json_object_object_add(el, "velocity", vel != NULL ?
		    json_object_get(vel) : json_object_new_double_s(0.8, "0.8"));
		json_object_object_add(el, "pitch",
		    json_object_new_int64(pitch));
		json_object_object_add(el, "duration16",
		    json_object_new_int64(dur));
		json_object_array_add(o, el);
	}
	return o;
}

/*
 * Validate a loop document.  Members: name (required, 1-100
 * characters), bars (required: 1, 2, 4, 8 or "1", "2", "4", "8"),
 * color (#RRGGBB, default #FFD11A), bpm (integer 40-300, default 120),
 * chordProgression, iconSequence (default []), schemaVersion (integer
 * 1-1000000, default 1), isPublic (boolean, default false; in
 * ITEM_DOC_REPLACE a missing one is left out, meaning "keep").  Other
 * members (id, updatedAt, version, counters...) are ignored, inside
 * elements too.  Steps may sit on bars up to 63, or bars*16-1 on
 * longer loops.  Numbers keep the text they came with.
 *
 * Returns 0 with *out (the caller puts it), or -1 with every problem
 * recorded in fe and *out NULL.
 */
int
loop_validate(json_object *in, enum item_doc_mode mode, json_object **out,
    struct field_errors *fe)
{
	json_object	*o, *color, *chords, *steps;
	const char	*name;
	long long	 bpm = LOOP_BPM_DEFAULT, schema = 1;
	size_t		 before = fe->count;
	int		 bars, pub = 0, maxbar;
	enum jv_result	 rpub;

	*out = NULL;
	if (!json_object_is_type(in, json_type_object)) {
		field_errors_add(fe, "", "the loop must be a JSON object");
		return -1;
	}
	required(jv_string(in, "name", "name", 1, LOOP_NAME_MAX, fe, &name),
	    "name", fe);
	bars = read_bars(in, fe);
	color = read_color(in, fe);
	jv_integer_value(in, "bpm", "bpm", LOOP_BPM_MIN, LOOP_BPM_MAX, fe,
	    &bpm);
	chords = read_chords(in, fe);
	/* With bars unknown, check steps against the widest range only. */
	maxbar = bars * 16 - 1 > LOOP_STEP_BAR_MAX ? bars * 16 - 1 :
	    LOOP_STEP_BAR_MAX;
	steps = read_steps(in, bars == 0 ? 8 * 16 - 1 : maxbar, fe);
	jv_integer_value(in, "schemaVersion", "schemaVersion", 1,
	    LOOP_SCHEMA_MAX, fe,
	    &schema);
	rpub = jv_bool(in, "isPublic", "isPublic", fe, &pub);

	if (fe->count > before) {
		json_object_put(color);
		json_object_put(chords);
		json_object_put(steps);
		return -1;
	}
	o = json_object_new_object();
	share(o, "name", in);
	json_object_object_add(o, "bars", json_object_new_int(bars));
	json_object_object_add(o, "color", color);
	json_object_object_add(o, "bpm", json_object_new_int64(bpm));
	json_object_object_add(o, "chordProgression", chords);
	json_object_object_add(o, "iconSequence", steps);
	json_object_object_add(o, "schemaVersion",
	    json_object_new_int64(schema));
	if (rpub == JV_OK || mode != ITEM_DOC_REPLACE)
		json_object_object_add(o, "isPublic",
		    json_object_new_boolean(pub));
	*out = o;
	return 0;
}
