/*
 * Integration: a worker gives back what a large request took, and one
 * ?expand=loops answer is bounded (issue 9, item 9), through nginx
 * into the workers and PostgreSQL.
 *
 * Memory is read from /proc/PID/smaps of the workers that
 * `deploy/dev worker-pids` lists: the private pages (clean and dirty)
 * of every mapping.  In the sanitizer build the program gives ASan's
 * quarantine back too (fcgi/server.c), so what is read is what the
 * program holds; only ASan's shadow is left out, which maps one byte
 * per eight of address space ever touched and never returns pages to
 * the system -- a production build has none.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "db/db.h"
#include "base/buf.h"
#include "t/it_loops_util.h"

/*
 * What a worker may hold once the large requests are over, outside
 * ASan's shadow.  A production build sits at about 0.5 MB after them,
 * and 4 MiB would not hold one retained copy of the expand answer.
 * The sanitizer build holds ASan's own stack depot and allocator
 * metadata besides, which grow with everything the suite ran before
 * (5-8 MB at this point of `deploy/dev test`); hence its larger bound.
 * Before the fix the same requests left 40-45 MB in a production
 * worker and about 290 MB in a sanitizer one.
 */
#ifdef __SANITIZE_ADDRESS__
#define AFTER_MAX_KB	(12 * 1024)
#else
#define AFTER_MAX_KB	(4 * 1024)
#endif
#define MAX_WORKERS	64

/* 1 when [beg, end) lies in ASan's shadow (x86-64 layout). */
static int
in_shadow(unsigned long long beg, unsigned long long end)
{
#if defined(__SANITIZE_ADDRESS__) && defined(__x86_64__)
	return beg >= 0x00007fff8000ULL && end <= 0x10007fff8000ULL;
#else
	(void)beg;
	(void)end;
	return 0;
#endif
}

/* Private kB of pid outside ASan's shadow; -1 when unreadable. */
static long
private_kb(long pid)
{
	char		 path[64], line[512];
	unsigned long long beg, end;
	long		 kb, sum = 0;
	int		 shadow = 0;
	FILE		*f;

	snprintf(path, sizeof(path), "/proc/%ld/smaps", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%llx-%llx ", &beg, &end) == 2 &&
		    strchr(line, '-') < strchr(line, ' '))
			shadow = in_shadow(beg, end);
		else if (!shadow && (sscanf(line, "Private_Clean: %ld kB",
		    &kb) == 1 || sscanf(line, "Private_Dirty: %ld kB", &kb) == 1))
			sum += kb;
	}
	fclose(f);
	return sum;
}

static size_t
workers(long *pids)
{
	char	*out, *p, *end;
	size_t	 n = 0;
	long	 v;

	out = it_ctl_output("worker-pids");
	cr_assert_not_null(out, "deploy/dev worker-pids gave nothing");
	for (p = out; n < MAX_WORKERS; p = end) {
		v = strtol(p, &end, 10);
		if (end == p)
			break;
		pids[n++] = v;
	}
	free(out);
	cr_assert_gt(n, 0, "no workers");
	return n;
}

/*
 * n public loops of u of about 160 KB of JSON each (1024 steps with
 * 64-character sound ids), made in the database, and one song of u
 * using each once, in the order they were made; the song's id into
 * song.
 */
static void
big_song(const struct itl_user *u, int n, char *song, size_t sz)
{
	const char	*p[2];
	char		 count[16], *id;

	snprintf(count, sizeof(count), "%d", n);
	p[0] = u->id;
	p[1] = count;
	id = it_db_text("WITH l AS (INSERT INTO loops (user_id, name, bars, "
	    "is_public, icon_sequence) SELECT $1::uuid, 'big ' || "
	    "lpad(g::text, 4, '0'), 8, true, (SELECT jsonb_agg("
	    "jsonb_build_object('bar', s % 128, 'row', s % 4, 'soundId', "
	    "repeat('s', 64), 'velocity', 0.123456789, 'pitch', 60, "
	    "'duration16', 1)) FROM generate_series(1, 1024) s) "
	    "FROM generate_series(1, $2::int) g RETURNING id, name) "
	    "INSERT INTO songs (user_id, name, bpm, timeline, total_bars) "
	    "SELECT $1::uuid, 'big song', 120, jsonb_agg(jsonb_build_object("
	    "'id', 'b' || o, 'loopId', id::text, 'startBar', o - 1, 'bars', 1) "
	    "ORDER BY o), count(*) FROM (SELECT id, row_number() OVER "
	    "(ORDER BY name) AS o FROM l) x RETURNING id", 2, p);
	cr_assert_not_null(id, "cannot make the big song");
	snprintf(song, sz, "%s", id);
	free(id);
}

/* A loop body of about 600 KB: a 300 000-element array in member. */
static char *
wide_body(const char *member)
{
	struct buf	 b = BUF_INIT;
	size_t		 i;

	buf_printf(&b, "{\"name\":\"wide\",\"bars\":1,\"%s\":[0", member);
	for (i = 1; i < 300000; i++)
		buf_puts(&b, ",0");
	buf_puts(&b, "]}");
	return buf_detach(&b);
}

Test(memory, a_worker_gives_back_what_a_large_request_took,
    .timeout = 600)
{
	struct itl_user	 u;
	struct it_resp	 r;
	long		 pids[MAX_WORKERS], before[MAX_WORKERS], kb;
	char		 song[64], path[128], *unknown, *steps;
	size_t		 n, i;
	int		 k, tries;

	itl_user(&u);
	big_song(&u, 130, song, sizeof(song));
	snprintf(path, sizeof(path), "/api/songs/%s?expand=loops", song);
	n = workers(pids);
	for (i = 0; i < n; i++)
		before[i] = private_kb(pids[i]);
	unknown = wide_body("unknown");
	steps = wide_body("iconSequence");
	/* Enough of each that every worker likely serves some. */
	for (k = 0; k < 3 * (int)n; k++) {
		itl_req("GET", path, &u, NULL, NULL, &r);
		cr_assert_eq(r.status, 200, "%d", r.status);
		it_resp_free(&r);
		itl_req("POST", "/api/loops", &u, NULL, unknown, &r);
		cr_assert_eq(r.status, 201, "%d: %.200s", r.status, r.body);
		it_resp_free(&r);
		itl_req("POST", "/api/loops", &u, NULL, steps, &r);
		cr_assert_eq(r.status, 400, "%d: %.200s", r.status, r.body);
		it_resp_free(&r);
	}
	free(unknown);
	free(steps);
	/* Each worker gives memory back after its answer went out. */
	for (i = 0; i < n; i++) {
		for (tries = 0; tries < 50; tries++) {
			if ((kb = private_kb(pids[i])) >= 0 &&
			    kb <= AFTER_MAX_KB)
				break;
			usleep(100000);
		}
		cr_log_info("worker %ld: %ld kB private before, %ld kB after",
		    pids[i], before[i], kb);
		cr_assert_geq(kb, 0, "worker %ld went away", pids[i]);
		cr_assert_leq(kb, AFTER_MAX_KB, "worker %ld holds %ld kB after "
		    "the large requests (%ld kB before)", pids[i], kb,
		    before[i]);
	}
}

Test(expand, a_loop_used_by_many_blocks_is_listed_once)
{
	struct itl_user	 u;
	struct it_resp	 r;
	struct buf	 b = BUF_INIT;
	char		 a[64], c[64], path[128];
	json_object	*loops;
	int		 i;

	itl_user(&u);
	itl_loop(&u, "{\"name\":\"a\",\"bars\":8}", a, sizeof(a));
	itl_loop(&u, "{\"name\":\"c\",\"bars\":8}", c, sizeof(c));
	buf_puts(&b, "{\"name\":\"many blocks\",\"bpm\":120,\"timeline\":[");
	for (i = 0; i < 512; i++)
		buf_printf(&b, "%s{\"id\":\"b%d\",\"loopId\":\"%s\","
		    "\"startBar\":%d,\"bars\":8}", i > 0 ? "," : "", i,
		    i % 3 == 2 ? a : c, i * 8);
	buf_puts(&b, "]}");
	itl_req("POST", "/api/songs", &u, NULL, b.data, &r);
	buf_release(&b);
	cr_assert_eq(r.status, 201, "%d: %.300s", r.status, r.body);
	snprintf(path, sizeof(path), "/api/songs/%s?expand=loops",
	    it_str(r.json, "song.id"));
	it_resp_free(&r);
	itl_req("GET", path, &u, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%d: %.300s", r.status, r.body);
	cr_assert_eq(json_object_array_length(it_get(r.json, "song.timeline")),
	    512);
	loops = it_get(r.json, "loops");
	cr_assert_eq(json_object_array_length(loops), 2, "%.300s", r.body);
	/* In order of first use: block 0 uses c, block 2 a. */
	cr_assert_str_eq(it_str(r.json, "loops.0.id"), c);
	cr_assert_str_eq(it_str(r.json, "loops.1.id"), a);
	cr_assert(json_object_is_type(it_get(r.json, "omittedLoops"),
	    json_type_array) && json_object_array_length(it_get(r.json,
	    "omittedLoops")) == 0, "%.300s", r.body);
	it_resp_free(&r);
}

/* Bytes of loop id's JSON as the expansion measures it. */
static long long
loop_json_size(const char *id)
{
	return itl_count1("SELECT octet_length(loop_json(l, u.username, false)"
	    "::text) FROM loops l JOIN users u ON u.id = l.user_id "
	    "WHERE l.id = $1::uuid", id);
}

Test(expand, loops_past_the_ceiling_are_listed_by_id_in_omitted_loops,
    .timeout = 300)
{
	struct itl_user	 u;
	struct it_resp	 r;
	char		 song[64], path[128], *ids;
	json_object	*loops, *omitted, *tl;
	long long	 total = 0;
	size_t		 nl, no, i;

	itl_user(&u);
	big_song(&u, 40, song, sizeof(song));
	snprintf(path, sizeof(path), "/api/songs/%s?expand=loops", song);
	itl_req("GET", path, &u, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%d", r.status);
	cr_assert_not_null(r.json, "%zu bytes: %.200s ... %.200s", r.body_len,
	    r.body, r.body + (r.body_len > 200 ? r.body_len - 200 : 0));
	loops = it_get(r.json, "loops");
	omitted = it_get(r.json, "omittedLoops");
	tl = it_get(r.json, "song.timeline");
	cr_assert(json_object_is_type(loops, json_type_array) &&
	    json_object_is_type(omitted, json_type_array), "no loops or "
	    "omittedLoops array");
	nl = json_object_array_length(loops);
	no = json_object_array_length(omitted);
	cr_assert(nl > 0 && no > 0, "%zu loops, %zu omitted", nl, no);
	cr_assert_eq(nl + no, 40);
	cr_assert_leq(r.body_len, DB_SONG_EXPAND_MAX + 64 * 1024,
	    "%zu bytes", r.body_len);
	/* Each loop once, in the order the blocks use them; none missing. */
	for (i = 0; i < 40; i++) {
		const char *want = it_str(json_object_array_get_idx(tl, i),
		    "loopId");

		cr_assert_null(it_get(json_object_array_get_idx(tl, i),
		    "missing"));
		if (i < nl) {
			cr_assert_str_eq(it_str(json_object_array_get_idx(loops,
			    i), "id"), want);
			total += loop_json_size(want);
		} else
			cr_assert_str_eq(json_object_get_string(
			    json_object_array_get_idx(omitted, i - nl)), want);
	}
	/* As many as fit: the next one would pass the ceiling. */
	cr_assert_leq(total, DB_SONG_EXPAND_MAX);
	cr_assert_gt(total + loop_json_size(json_object_get_string(
	    json_object_array_get_idx(omitted, 0))), DB_SONG_EXPAND_MAX);
	/* An omitted loop is read on its own. */
	ids = xstrdup(json_object_get_string(json_object_array_get_idx(omitted,
	    0)));
	it_resp_free(&r);
	snprintf(path, sizeof(path), "/api/loops/%s", ids);
	itl_req("GET", path, &u, NULL, NULL, &r);
	cr_assert_eq(r.status, 200);
	it_resp_free(&r);
	free(ids);
}
