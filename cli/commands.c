#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "base/buf.h"
#include "base/log.h"
#include "cli/commands.h"
#include "handlers/handlers.h"
#include "handlers/model.h"

/*
 * users import: accounts exported from the old system, read as CSV
 * with a header line (what psql's \copy ... WITH (FORMAT csv, HEADER)
 * writes) or as JSON Lines (one object per line, what
 * psql -At -c "SELECT row_to_json(u) FROM users u" writes).  Columns
 * or members: email, username, password_hash (required), id,
 * display_name, avatar_url, created_at (optional); camelCase names
 * are accepted too and other columns are ignored.  Hashes are kept as
 * they are (bcrypt verifies at login and is re-hashed to Argon2id).
 */

#define IMPORT_MAX_FIELDS	64
#define IMPORT_LINE_MAX		(1024 * 1024)

static const struct {
	const char		*name;
	const char		*alt;
	enum import_col		 col;
} import_names[] = {
	{ "id",			"id",		IMPORT_ID },
	{ "email",		"email",	IMPORT_EMAIL },
	{ "username",		"username",	IMPORT_USERNAME },
	{ "password_hash",	"passwordHash",	IMPORT_PASSWORD_HASH },
	{ "display_name",	"displayName",	IMPORT_DISPLAY_NAME },
	{ "avatar_url",		"avatarUrl",	IMPORT_AVATAR_URL },
	{ "created_at",		"createdAt",	IMPORT_CREATED_AT },
};

static int
import_col_of(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(import_names) / sizeof(import_names[0]); i++)
		if (strcasecmp(name, import_names[i].name) == 0 ||
		    strcasecmp(name, import_names[i].alt) == 0)
			return (int)import_names[i].col;
	return -1;
}

/* Free the values of a record (not the struct). */
void
import_record_release(struct import_record *r)
{
	size_t	 i;

	for (i = 0; i < IMPORT__MAX; i++) {
		if (r->v[i] != NULL) {
			memset(r->v[i], 0, strlen(r->v[i]));
			free(r->v[i]);
		}
		r->v[i] = NULL;
	}
}

/* Skip to the end of the physical line after a malformed record. */
static void
skip_line(FILE *f, size_t *lines)
{
	int	 ch;

	while ((ch = getc(f)) != EOF && ch != '\n')
		;
	if (ch == '\n')
		(*lines)++;
}

/*
 * Read one CSV record (RFC 4180: fields separated by commas, optionally
 * in double quotes with "" for a quote inside, records ending in LF or
 * CRLF outside quotes) into fields[0..n).  quoted[i] tells a quoted
 * field (so "" is an empty string where an empty unquoted field is
 * NULL, as PostgreSQL writes them).  Returns n, 0 at the end of the
 * file, -1 for a malformed record (skipped up to the end of its line).
 */
static int
csv_record(FILE *f, struct buf *fields, int *quoted, size_t *lines)
{
	int	 ch, n = 0, inq = 0, closed = 0, any = 0;

	buf_reset(&fields[0]);
	quoted[0] = 0;
	for (;;) {
		if ((ch = getc(f)) == EOF) {
			if (inq)
				return -1;
			return any ? n + 1 : 0;
		}
		any = 1;
		if (inq) {
			if (ch == '"') {
				if ((ch = getc(f)) == '"') {
					buf_putc(&fields[n], '"');
					continue;
				}
				if (ch != EOF)
					ungetc(ch, f);
				inq = 0;
				closed = 1;
				continue;
			}
			if (fields[n].len >= IMPORT_LINE_MAX)
				goto bad;
			if (ch == '\n')
				(*lines)++;
			buf_putc(&fields[n], (char)ch);
			continue;
		}
		if (ch == ',') {
			if (n + 1 >= IMPORT_MAX_FIELDS)
				goto bad;
			n++;
			buf_reset(&fields[n]);
			quoted[n] = 0;
			closed = 0;
			continue;
		}
		if (ch == '\r') {
			if ((ch = getc(f)) != '\n') {
				if (ch != EOF)
					ungetc(ch, f);
				goto bad;
			}
		}
		if (ch == '\n') {
			(*lines)++;
			return n + 1;
		}
		if (closed || ch == '"') {
			if (ch != '"' || closed || fields[n].len > 0)
				goto bad;
			inq = 1;
			quoted[n] = 1;
			continue;
		}
		if (fields[n].len >= IMPORT_LINE_MAX)
			goto bad;
		buf_putc(&fields[n], (char)ch);
	}
bad:
	if (ch != '\n')
		skip_line(f, lines);
	else
		(*lines)++;
	return -1;
}

/*
 * Start reading f: JSON Lines when its first non-blank byte is '{',
 * else CSV whose header line names the columns.  Returns 0, or -1
 * with a static message in *err.
 */
int
import_open(struct import_reader *ir, FILE *f, const char **err)
{
	struct buf	 fields[IMPORT_MAX_FIELDS];
	int		 quoted[IMPORT_MAX_FIELDS], ch, n, i, col, rc = -1;
	int		 seen[IMPORT__MAX];

	memset(ir, 0, sizeof(*ir));
	memset(seen, 0, sizeof(seen));
	ir->f = f;
	ir->line = 1;
	while ((ch = getc(f)) == ' ' || ch == '\t' || ch == '\r' || ch == '\n')
		if (ch == '\n')
			ir->line++;
	if (ch == EOF) {
		*err = "the file is empty";
		return -1;
	}
	ungetc(ch, f);
	if (ch == '{') {
		ir->jsonl = 1;
		return 0;
	}
	for (i = 0; i < IMPORT_MAX_FIELDS; i++)
		buf_init(&fields[i]);
	if ((n = csv_record(f, fields, quoted, &ir->line)) <= 0) {
		*err = "the CSV header line is malformed";
		goto out;
	}
	ir->ncols = (size_t)n;
	for (i = 0; i < n; i++) {
		col = fields[i].data != NULL ? import_col_of(fields[i].data) : -1;
		if (col >= 0 && seen[col]) {
			*err = "the CSV header names a column twice";
			goto out;
		}
		if (col >= 0)
			seen[col] = 1;
		ir->map[i] = col;
	}
	if (!seen[IMPORT_EMAIL] || !seen[IMPORT_USERNAME] ||
	    !seen[IMPORT_PASSWORD_HASH]) {
		*err = "the CSV header must name email, username and "
		    "password_hash";
		goto out;
	}
	rc = 0;
out:
	for (i = 0; i < IMPORT_MAX_FIELDS; i++)
		buf_release(&fields[i]);
	return rc;
}

static int
jsonl_record(struct import_reader *ir, struct import_record *r,
    const char **err)
{
	json_object		*o = NULL, *v;
	char			*line = NULL, msg[160];
	size_t			 cap = 0, i;
	ssize_t			 len;
	int			 rc = -1, col;

	do {
		if ((len = getline(&line, &cap, ir->f)) < 0) {
			free(line);
			return 0;
		}
		r->line = ir->line++;
		while (len > 0 && (line[len - 1] == '\n' ||
		    line[len - 1] == '\r' || line[len - 1] == ' '))
			line[--len] = '\0';
	} while (len == 0);
	/* The request bodies' parser: strict RFC 8259, one object. */
	if (json_parse_object(line, (size_t)len, &o, msg, sizeof(msg)) != 0) {
		*err = "not one JSON object";
		goto out;
	}
	for (i = 0; i < sizeof(import_names) / sizeof(import_names[0]); i++) {
		col = (int)import_names[i].col;
		if (!json_object_object_get_ex(o, import_names[i].name, &v) &&
		    !json_object_object_get_ex(o, import_names[i].alt, &v))
			continue;
		if (v == NULL)
			continue;
		if (!json_object_is_type(v, json_type_string)) {
			*err = "a member is not a string";
			goto out;
		}
		if (strlen(json_object_get_string(v)) !=
		    (size_t)json_object_get_string_len(v)) {
			*err = "a value holds a NUL character";
			goto out;
		}
		if (json_object_get_string_len(v) > 0)
			r->v[col] = xstrdup(json_object_get_string(v));
	}
	rc = 1;
out:
	json_object_put(o);
	if (line != NULL) {
		memset(line, 0, cap);
		free(line);
	}
	return rc;
}

/*
 * Read the next record into r (release it after).  Returns 1, 0 at
 * the end, or -1 with a static message in *err for a record that
 * cannot be read (it is skipped; reading may go on).  r->line is the
 * line the record starts on.
 */
int
import_next(struct import_reader *ir, struct import_record *r,
    const char **err)
{
	struct buf	 fields[IMPORT_MAX_FIELDS];
	int		 quoted[IMPORT_MAX_FIELDS], n, i, rc;

	memset(r, 0, sizeof(*r));
	if (ir->jsonl)
		return jsonl_record(ir, r, err);
	for (i = 0; i < IMPORT_MAX_FIELDS; i++)
		buf_init(&fields[i]);
	do {
		r->line = ir->line;
		n = csv_record(ir->f, fields, quoted, &ir->line);
	} while (n == 1 && fields[0].len == 0 && !quoted[0]);	/* blank */
	if (n <= 0) {
		rc = n;
		*err = "malformed CSV record";
		goto out;
	}
	if ((size_t)n != ir->ncols) {
		rc = -1;
		*err = "the record has not as many fields as the header";
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (ir->map[i] < 0 || fields[i].len == 0)
			continue;
		if (memchr(fields[i].data, '\0', fields[i].len) != NULL) {
			rc = -1;
			*err = "a value holds a NUL character";
			import_record_release(r);
			goto out;
		}
		r->v[ir->map[i]] = xstrdup(fields[i].data);
	}
	rc = 1;
out:
	for (i = 0; i < IMPORT_MAX_FIELDS; i++) {
		if (fields[i].data != NULL)
			memset(fields[i].data, 0, fields[i].cap);
		buf_release(&fields[i]);
	}
	return rc;
}

/*
 * Check a record and fill u with borrowed pointers into it.  Returns
 * NULL, or why the record is refused.  A display name or avatar URL
 * the new schema refuses is dropped rather than the account (the
 * account still logs in); *note then says so.
 */
const char *
import_check(struct import_record *r, struct db_user_import *u,
    const char **note)
{
	const char	*dn, *av;

	memset(u, 0, sizeof(*u));
	*note = NULL;
	if (r->v[IMPORT_ID] != NULL && !uuid_is_valid(r->v[IMPORT_ID]))
		return "id is not a UUID";
	if (!auth_email_is_valid(r->v[IMPORT_EMAIL]))
		return "email is missing or not an address this service "
		    "accepts";
	if (!auth_username_is_valid(r->v[IMPORT_USERNAME]))
		return "username is missing or not 3-30 characters of "
		    "A-Z a-z 0-9 _ . -";
	if (password_hash_kind(r->v[IMPORT_PASSWORD_HASH]) ==
	    PASSWORD_KIND_UNKNOWN)
		return "password_hash is missing or neither bcrypt "
		    "($2a$/$2b$/$2y$) nor argon2id";
	dn = r->v[IMPORT_DISPLAY_NAME];
	if (dn != NULL && (jv_utf8_length(dn, strlen(dn)) > 50 ||
	    !auth_display_name_is_valid(dn))) {
		dn = NULL;
		*note = "display_name dropped (over 50 characters or "
		    "control characters)";
	}
	av = r->v[IMPORT_AVATAR_URL];
	if (av != NULL && !auth_avatar_url_is_valid(av)) {
		av = NULL;
		*note = "avatar_url dropped (not an http(s) URL)";
	}
	u->id = r->v[IMPORT_ID];
	u->email = r->v[IMPORT_EMAIL];
	u->username = r->v[IMPORT_USERNAME];
	u->password_hash = r->v[IMPORT_PASSWORD_HASH];
	u->display_name = dn;
	u->avatar_url = av;
	u->created_at = r->v[IMPORT_CREATED_AT];
	return NULL;
}

/*
 * Load the accounts in path ("-": standard input), one statement per
 * account, so a second run skips what the first loaded.  Each refused
 * record is logged with its line number and why (never its hash).
 * Exit status 0 when every record was loaded or already present, 1
 * when some were refused or conflicted (the others are loaded), 2
 * when the file cannot be read or the database fails.
 */
int
command_users_import(struct db *db, const struct config *cfg,
    const char *path)
{
	struct import_reader	 ir;
	struct import_record	 r;
	struct db_user_import	 u;
	enum db_import_result	 res;
	enum db_status		 s;
	const char		*err, *why, *note;
	FILE			*f;
	long			 added = 0, present = 0, refused = 0;
	int			 rc, status = EXIT_SUCCESS;

	(void)cfg;
	if (strcmp(path, "-") == 0)
		f = stdin;
	else if ((f = fopen(path, "r")) == NULL) {
		log_msg("error", "users import: cannot open %s: %s", path,
		    strerror(errno));
		return 2;
	}
	if (import_open(&ir, f, &err) != 0) {
		log_msg("error", "users import: %s: %s", path, err);
		status = 2;
		goto out;
	}
	for (;;) {
		rc = import_next(&ir, &r, &err);
		if (rc == 0)
			break;
		if (rc < 0) {
			log_msg("warn", "users import: line %zu refused: %s",
			    r.line, err);
			refused++;
			import_record_release(&r);
			continue;
		}
		if ((why = import_check(&r, &u, &note)) != NULL) {
			log_msg("warn", "users import: line %zu refused: %s",
			    r.line, why);
			refused++;
			import_record_release(&r);
			continue;
		}
		s = db_user_import(db, &u, &res);
		if (s == DB_INVALID) {
			log_msg("warn", "users import: line %zu refused: the "
			    "database refuses a value (created_at not a "
			    "timestamp, or text not UTF-8)", r.line);
			refused++;
		} else if (s != DB_OK) {
			log_msg("error", "users import: line %zu: %s; stopping",
			    r.line, db_status_name(s));
			import_record_release(&r);
			status = 2;
			goto out;
		} else if (res == DB_IMPORT_ADDED) {
			added++;
			if (note != NULL)
				log_msg("warn", "users import: line %zu: %s",
				    r.line, note);
		} else if (res == DB_IMPORT_PRESENT)
			present++;
		else {
			log_msg("warn", "users import: line %zu refused: "
			    "another account has this id, email or username "
			    "(compared case-insensitively)", r.line);
			refused++;
		}
		import_record_release(&r);
	}
	if (refused > 0)
		status = EXIT_FAILURE;
out:
	log_msg("info", "users import: %ld added, %ld already present, "
	    "%ld refused", added, present, refused);
	if (f != stdin)
		fclose(f);
	return status;
}

#define PURGE_BATCH	1000

/* Delete one kind in batches until a batch comes back short. */
static int
purge_all(struct db *db, enum db_purge_what what, int age, const char *name)
{
	long long	 n, total = 0;
	enum db_status	 s;

	do {
		if ((s = db_purge(db, what, age, PURGE_BATCH, &n)) != DB_OK) {
			log_msg("error", "purge %s: %s", name,
			    db_status_name(s));
			return -1;
		}
		total += n;
	} while (n >= PURGE_BATCH);
	log_msg("info", "purge: %lld %s deleted", total, name);
	return 0;
}

/*
 * Periodic clean-up (run it from cron or a systemd timer, say hourly):
 * Idempotency-Keys older than MP_IDEMPOTENCY_TTL, sync tombstones and
 * sync marks (unlikes, access changes) older than MP_TOMBSTONE_DAYS
 * (raising each owner's sync floor, so older cursors are answered 410),
 * play marks older than ten minutes, write budgets whose window has
 * ended, password-failure counts that count nothing any more,
 * signed-out tokens past their expiry, and live updates older than
 * MP_LIVE_OUTBOX_TTL that no relay published (only when none runs).
 * Each kind goes in batches of
 * PURGE_BATCH rows in index order, each batch its own transaction, so
 * a purge never holds many locks or scans a table.  Two purges never
 * run at once (a session advisory lock).  Returns the exit status.
 */
int
command_purge(struct db *db, const struct config *cfg)
{
	enum db_status	 s;
	int		 got, rc = EXIT_SUCCESS;

	if ((s = db_purge_lock(db, 1, &got)) != DB_OK) {
		log_msg("error", "purge: %s", db_status_name(s));
		return EXIT_FAILURE;
	}
	if (!got) {
		log_msg("warn", "purge: another purge is running");
		return EXIT_SUCCESS;
	}
	if (purge_all(db, DB_PURGE_KEYS, cfg->idempotency_ttl_s,
	    "idempotency keys") != 0 ||
	    purge_all(db, DB_PURGE_TOMBSTONES, cfg->tombstone_days,
	    "tombstones and sync marks") != 0 ||
	    purge_all(db, DB_PURGE_PLAY_MARKS, 0, "play marks") != 0 ||
	    purge_all(db, DB_PURGE_BUDGETS, cfg->write_window_s,
	    "write budgets") != 0 ||
	    purge_all(db, DB_PURGE_LOGIN_FAILURES, 0,
	    "login failures") != 0 ||
	    purge_all(db, DB_PURGE_REVOKED_TOKENS, 0,
	    "signed-out tokens") != 0 ||
	    purge_all(db, DB_PURGE_LIVE_OUTBOX, cfg->live_outbox_ttl_s,
	    "live updates no relay published") != 0)
		rc = EXIT_FAILURE;
	(void)db_purge_lock(db, 0, &got);
	return rc;
}

/*
 * migrate --status: the schema version of the database and of this
 * build, then each migration, applied (with its time) or pending, on
 * out.  Returns the exit status: 0 when nothing is pending (the
 * database may be newer than this build: it says so), 3 when
 * migrations are pending, 1 when the database cannot be read.
 */
int
command_migrate_status(struct db *db, FILE *out)
{
	struct db_migration_state	 st;
	size_t				 i;
	int				 rc;

	if (db_migration_state(db, &st) != 0) {
		log_msg("error", "migrate --status: the database cannot be "
		    "read");
		db_migration_state_release(&st);
		return EXIT_FAILURE;
	}
	fprintf(out, "database schema version %d; this build knows up to %d\n",
	    st.current, st.latest);
	for (i = 0; i < st.n; i++)
		fprintf(out, "  %-32s %s%s\n", st.items[i].name,
		    st.items[i].applied ? "applied " : "pending",
		    st.items[i].applied ? st.items[i].applied_at : "");
	if (st.unknown > 0)
		fprintf(out, "  %d newer migration%s, unknown to this build "
		    "(a newer release migrated this database)\n", st.unknown,
		    st.unknown == 1 ? "" : "s");
	fprintf(out, "%d pending\n", st.pending);
	rc = st.pending > 0 ? 3 : EXIT_SUCCESS;
	db_migration_state_release(&st);
	return rc;
}
