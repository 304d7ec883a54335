/*
 * Integration: loops under concurrency.  Forked processes hammer the
 * stack at once; afterwards every counter must equal the rows it
 * counts, and conditional writes must have exactly one winner.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "t/itfixture.h"

TestSuite(loops_concurrency, .timeout = 180);

/* Children wait on this pipe until the parent closes it: one start. */
static int	 gate[2];

static void
gate_open(void)
{
	cr_assert_eq(pipe(gate), 0);
}

static void
gate_wait(void)
{
	char	 c;

	close(gate[1]);
	(void)read(gate[0], &c, 1);
	close(gate[0]);
}

static void
gate_release(void)
{
	close(gate[0]);
	close(gate[1]);
}

/* A request in a child: the status, or -1; no Criterion asserts here. */
static int
child_req(const char *method, const char *path, const struct itfx_user *u,
    const char *extra, const char *body, char *id_out)
{
	struct it_resp	 r;
	const char	*h[3] = { u ? u->auth : NULL, extra, NULL };
	const char	*id;
	int		 st;

	if (u == NULL) {
		h[0] = extra;
		h[1] = NULL;
	}
	if (it_request(method, path, h, body, &r) != 0)
		return -1;
	st = r.status;
	if (id_out != NULL && (id = it_str(r.json, "loop.id")) != NULL)
		snprintf(id_out, 40, "%s", id);
	it_resp_free(&r);
	return st;
}

Test(loops_concurrency, twenty_concurrent_puts_with_the_same_if_match_have_one_winner)
{
	struct itfx_user	 u;
	char		 id[40], p[80], body[256], *name, want[32];
	pid_t		 pids[20];
	int		 i, st, ok = 0, failed = 0, other = 0, winner = -1;

	itfx_db_user(&u);
	itfx_loop(&u, itfx_loop_body("contested", 0), id, sizeof(id));
	snprintf(p, sizeof(p), "/api/loops/%s", id);
	gate_open();
	for (i = 0; i < 20; i++) {
		if ((pids[i] = fork()) == 0) {
			gate_wait();
			snprintf(body, sizeof(body), "{\"name\":\"writer %d\","
			    "\"bars\":4,\"bpm\":%d}", i, 100 + i);
			st = child_req("PUT", p, &u, "If-Match: \"v1\"", body,
			    NULL);
			_exit(st == 200 ? 100 + i : st == 412 ? 1 : 2);
		}
		cr_assert_gt(pids[i], 0);
	}
	gate_release();
	for (i = 0; i < 20; i++) {
		cr_assert_eq(waitpid(pids[i], &st, 0), pids[i]);
		cr_assert(WIFEXITED(st));
		if (WEXITSTATUS(st) >= 100) {
			ok++;
			winner = WEXITSTATUS(st) - 100;
		} else if (WEXITSTATUS(st) == 1)
			failed++;
		else
			other++;
	}
	cr_assert_eq(ok, 1, "%d winners", ok);
	cr_assert_eq(failed, 19);
	cr_assert_eq(other, 0);
	name = itfx_text1("SELECT name || '/' || bpm || '/' || version FROM loops "
	    "WHERE id = $1", id);
	snprintf(want, sizeof(want), "writer %d/%d/2", winner, 100 + winner);
	cr_assert_str_eq(name, want);
	free(name);
}

Test(loops_concurrency, n_users_liking_at_once_make_exactly_n_likes)
{
	struct itfx_user	 owner, fans[16];
	char		 id[40], p[96];
	pid_t		 pids[16];
	int		 i, st;

	itfx_db_user(&owner);
	itfx_loop(&owner, itfx_loop_body("popular", 1), id, sizeof(id));
	for (i = 0; i < 16; i++)
		itfx_db_user(&fans[i]);
	snprintf(p, sizeof(p), "/api/loops/%s/like", id);
	gate_open();
	for (i = 0; i < 16; i++) {
		if ((pids[i] = fork()) == 0) {
			gate_wait();
			st = child_req("PUT", p, &fans[i], NULL, NULL, NULL);
			st = st == 200 ? child_req("PUT", p, &fans[i], NULL,
			    NULL, NULL) : st;
			_exit(st == 200 ? 0 : 1);
		}
	}
	gate_release();
	for (i = 0; i < 16; i++) {
		cr_assert_eq(waitpid(pids[i], &st, 0), pids[i]);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	cr_assert_eq(itfx_count1("SELECT likes_count FROM loop_counts "
	    "WHERE loop_id = $1",
	    id), 16);
	cr_assert_eq(itfx_count1("SELECT version FROM loops WHERE id = $1", id),
	    1);
}

#define WORKERS		8
#define ROUNDS		40
#define TARGETS		3

/*
 * One worker: random likes, unlikes, plays, remixes of the targets and
 * of its own remixes, and deletes of its own remixes.  Exits 0 when
 * every answer was one the contract allows.
 */
static int
hammer(const struct itfx_user *u, char targets[][40], unsigned seed)
{
	char	 mine[ROUNDS][40], p[128], id[40];
	int	 nmine = 0, k, st, t, ok = 1;

	srand(seed);
	for (k = 0; k < ROUNDS; k++) {
		t = rand() % TARGETS;
		switch (rand() % 7) {
		case 0:
		case 1:
			snprintf(p, sizeof(p), "/api/loops/%s/like", targets[t]);
			st = child_req("PUT", p, u, NULL, NULL, NULL);
			ok &= st == 200 || st == 404;
			break;
		case 2:
			snprintf(p, sizeof(p), "/api/loops/%s/like", targets[t]);
			st = child_req("DELETE", p, u, NULL, NULL, NULL);
			ok &= st == 200 || st == 404;
			break;
		case 3:
			snprintf(p, sizeof(p), "/api/loops/%s/remix",
			    nmine > 0 && rand() % 3 == 0 ?
			    mine[rand() % nmine] : targets[t]);
			id[0] = '\0';
			st = child_req("POST", p, u, NULL,
			    rand() % 2 ? "{\"isPublic\":true}" : NULL, id);
			ok &= st == 201 || st == 404;
			if (st == 201)
				snprintf(mine[nmine++], 40, "%s", id);
			break;
		case 4:
		case 5:
			if (nmine == 0)
				break;
			t = rand() % nmine;
			snprintf(p, sizeof(p), "/api/loops/%s", mine[t]);
			st = child_req("DELETE", p, u, NULL, NULL, NULL);
			ok &= st == 204 || st == 404;
			if (st == 204)
				memmove(mine[t], mine[--nmine], 40);
			break;
		default:
			snprintf(p, sizeof(p), "/api/loops/%s/plays",
			    targets[t]);
			st = child_req("POST", p, u, NULL, NULL, NULL);
			ok &= st == 202 || st == 404;
			break;
		}
		if (!ok) {
			fprintf(stderr, "worker: unexpected %d on %s\n", st, p);
			return 1;
		}
	}
	return 0;
}

Test(loops_concurrency, counters_stay_exact_under_concurrent_likes_unlikes_remixes_and_deletes)
{
	struct itfx_user	 owner, w[WORKERS];
	char		 targets[TARGETS][40], p[96], users[512];
	pid_t		 pids[WORKERS + 1];
	int		 i, st, n;

	itfx_db_user(&owner);
	for (i = 0; i < TARGETS; i++)
		itfx_loop(&owner, itfx_loop_body("target", 1), targets[i], 40);
	for (i = 0; i < WORKERS; i++)
		itfx_db_user(&w[i]);
	gate_open();
	for (i = 0; i < WORKERS; i++)
		if ((pids[i] = fork()) == 0) {
			gate_wait();
			_exit(hammer(&w[i], targets, 1000u + (unsigned)i));
		}
	/* The owner deletes one target while the others work on it. */
	if ((pids[WORKERS] = fork()) == 0) {
		gate_wait();
		usleep(300000);
		snprintf(p, sizeof(p), "/api/loops/%s", targets[TARGETS - 1]);
		st = child_req("DELETE", p, &owner, NULL, NULL, NULL);
		_exit(st == 204 ? 0 : 1);
	}
	gate_release();
	for (i = 0; i <= WORKERS; i++) {
		cr_assert_eq(waitpid(pids[i], &st, 0), pids[i]);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		    "process %d failed", i);
	}
	cr_assert_eq(itfx_count1("SELECT count(*) FROM loops WHERE id = $1",
	    targets[TARGETS - 1]), 0);
	/*
	 * Every counter of the loops and users involved equals what it
	 * counts.  (Only those: the test database lives on between runs.)
	 */
	n = snprintf(users, sizeof(users), "{%s", owner.id);
	for (i = 0; i < WORKERS; i++)
		n += snprintf(users + n, sizeof(users) - (size_t)n, ",%s",
		    w[i].id);
	snprintf(users + n, sizeof(users) - (size_t)n, "}");
	cr_assert_eq(itfx_count1("SELECT count(*) FROM loops l "
	    "JOIN loop_counts n ON n.loop_id = l.id WHERE "
	    "l.user_id = ANY ($1::uuid[]) AND n.likes_count <> "
	    "(SELECT count(*) FROM loop_likes k WHERE k.loop_id = l.id)",
	    users), 0);
	cr_assert_eq(itfx_count1("SELECT count(*) FROM loops l WHERE "
	    "l.user_id = ANY ($1::uuid[]) AND l.remixes_count <> "
	    "(SELECT count(*) FROM loops c WHERE c.parent_loop_id = l.id)",
	    users), 0);
	cr_assert_eq(itfx_count1("SELECT count(*) FROM loops l "
	    "JOIN loop_counts n ON n.loop_id = l.id WHERE "
	    "l.user_id = ANY ($1::uuid[]) AND n.plays_count <> "
	    "(SELECT count(*) FROM play_marks m WHERE m.item_id = l.id)",
	    users), 0);
	cr_assert_eq(itfx_count1("SELECT count(*) FROM users u WHERE "
	    "u.id = ANY ($1::uuid[]) AND (u.loops_count <> (SELECT count(*) "
	    "FROM loops l WHERE l.user_id = u.id) OR u.public_loops_count <> "
	    "(SELECT count(*) FROM loops l WHERE l.user_id = u.id "
	    "AND l.is_public))", users), 0);
	cr_assert_gt(itfx_count1("SELECT sum(likes_count + remixes_count + "
	    "plays_count) FROM loops JOIN loop_counts ON loop_id = id "
	    "WHERE user_id = ANY ($1::uuid[])", users),
	    0);
	cr_assert_gt(itfx_count1("SELECT count(*) FROM loops WHERE "
	    "user_id = ANY ($1::uuid[]) AND user_id <> ($1::uuid[])[1]", users),
	    0);
	/* Nothing the others did moved the targets' versions. */
	cr_assert_eq(itfx_count1("SELECT count(*) FROM loops WHERE user_id = $1 "
	    "AND version <> 1", owner.id), 0);
}

Test(loops_concurrency, concurrent_create_only_puts_of_one_id_create_it_once)
{
	struct itfx_user	 u;
	char		 id[40], p[96];
	pid_t		 pids[10];
	int		 i, st, created = 0, refused = 0;

	itfx_db_user(&u);
	snprintf(id, sizeof(id), "%.24s%.12s", "0c4f2a6e-1b3d-4c5e-8f70-",
	    u.id + 24);
	snprintf(p, sizeof(p), "/api/loops/%s", id);
	gate_open();
	for (i = 0; i < 10; i++)
		if ((pids[i] = fork()) == 0) {
			gate_wait();
			st = child_req("PUT", p, &u, "If-None-Match: *",
			    itfx_loop_body("once", 1), NULL);
			_exit(st == 201 ? 0 : st == 412 ? 1 : 2);
		}
	gate_release();
	for (i = 0; i < 10; i++) {
		cr_assert_eq(waitpid(pids[i], &st, 0), pids[i]);
		cr_assert(WIFEXITED(st));
		if (WEXITSTATUS(st) == 0)
			created++;
		else if (WEXITSTATUS(st) == 1)
			refused++;
	}
	cr_assert_eq(created, 1);
	cr_assert_eq(refused, 9);
	cr_assert_eq(itfx_count1("SELECT loops_count * 10 + public_loops_count "
	    "FROM users WHERE id = $1", u.id), 11);
}
