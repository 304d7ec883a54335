/*
 * Internals of the item statements (db/items.c, db/loops.c,
 * db/songs.c), shared so every kind of item speaks the same
 * way to its handlers.  Nothing outside db/ includes this.
 *
 * Parameter convention of every item statement: $1 the caller's user
 * id (NULL when anonymous), $2 the token version, $3 the item id (when
 * there is one); the statement's own parameters follow.
 *
 * Every statement opens with the caller's row while its token holds,
 *   WITH me AS (SELECT u.id, u.username FROM users u
 *               WHERE u.id = $1::uuid AND u.token_version = $2::int)
 * and its first column is me_ok,
 *   ($1::uuid IS NULL OR EXISTS (SELECT 1 FROM me)).
 *
 * Column convention of every statement read by db_item_exec():
 *   0 me_ok    boolean: the caller's account accepts the token (true
 *              for anonymous callers)
 *   1 outcome  'ok' | 'created' | 'missing' | 'forbidden' |
 *              'precondition' | 'conflict' | 'invalid'
 *   2 version  the version of the item in column 4 (NULL without one)
 *   3 owner    its userId
 *   4 json     the item as the API shows it, or NULL
 *   5 id       (optional) the item's id, for Location on a create
 * A write decides the outcome in the same statement that writes, from
 * rows it has locked, so no other transaction can slip in between the
 * check and the change.
 *
 * Inserts into loops and songs must not use ON CONFLICT DO NOTHING:
 * their BEFORE INSERT triggers (0001) move the owner's counters and
 * change number before the conflict is detected, and DO NOTHING keeps
 * that move.  Guard with NOT EXISTS and treat a unique violation of a
 * concurrent twin as the conflict (see db_loop_create).
 */
#ifndef MP_ITEMS_INT_H
#define MP_ITEMS_INT_H

#include "db/db_int.h"

enum db_status	 db_item_exec(struct db *db, struct db_stmt *st,
		    const char *const *params, struct item_result *r);
void		 db_item_caller_params(const struct item_caller *who,
		    char *ver, size_t versz, const char **p);

enum db_status	 db_item_create_with(struct db *db, struct db_stmt *st,
		    const struct item_caller *who, const char *id,
		    const char *doc, struct item_result *r);
enum db_status	 db_item_replace_with(struct db *db, struct db_stmt *st,
		    const struct item_caller *who, const char *id,
		    const char *doc, const struct item_cond *cond,
		    struct item_result *r);

#endif
