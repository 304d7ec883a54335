/*
 * Items: what loops and songs have in common, written once.
 *
 * A kind of item (handlers/loops.c, handlers/songs.c) describes itself
 * with a struct item_ops -- its names, its validator, its create and
 * replace database calls, and the list filters only it has -- which
 * the route table gives as the route's arg to the generic handlers
 * below; they own the HTTP behaviour every item shares:
 *
 *   GET one           item_get      ETag; If-None-Match -> 304
 *   POST              item_create   201, Location, ETag
 *   PUT               item_put      replace (200), or with
 *                                   If-None-Match: * create-only at
 *                                   the client's id (201, else 412)
 *   PATCH             item_patch    RFC 7396 merge patch on the current
 *                                   document, validated as a whole
 *   DELETE            item_delete   204
 *   PUT/DELETE .../like  item_like, item_unlike
 *                                   200 {likesCount, likedByMe}
 *   POST .../plays    item_play     202 {playsCount}
 *   GET list          item_list     visibility, user/public/sort,
 *                                   limit, signed keyset cursor,
 *                                   offset, Link rel="next"
 *
 * Preconditions (If-Match, If-None-Match, a "version" member of the
 * body) are parsed in handlers/precond.c and checked by the database
 * in the same statement as the write; outcomes map to statuses in one place,
 * item_reply_result(): 401 for a token whose account no longer takes
 * it, 404 (missing or someone else's private item), 403 (someone
 * else's public item), 412 and 409 with the current item in the
 * problem body under ops->key.  See doc/API.md, "Loops".
 */
#ifndef MP_ITEMS_H
#define MP_ITEMS_H

#include <json-c/json.h>

#include "handlers/handlers.h"
#include "handlers/model.h"

/* What a validator is validating. */
enum item_doc_mode {
	ITEM_DOC_CREATE,	/* POST, or PUT create-only: defaults fill in */
	ITEM_DOC_REPLACE,	/* PUT: defaults fill in, except that a
				   missing isPublic keeps the stored value */
	ITEM_DOC_PATCH		/* a merge-patched document: like CREATE */
};

/*
 * A validator: a pure function from a JSON object to the normalised
 * document (only known members, defaults filled in, numbers as sent),
 * or field errors.  Returns 0 with *out (caller puts), or -1 with at
 * least one error recorded in fe.
 */
typedef int	(*item_validator)(json_object *in, enum item_doc_mode mode,
		    json_object **out, struct field_errors *fe);

/*
 * A list request being parsed: the spec handed to db_item_list, the
 * canonical query of every filter given (for the Link header and the
 * cursor's filter hash), and the strings the spec borrows.
 */
#define ITEM_LIST_OWNED	16
struct item_list_req {
	struct item_list_spec	 spec;
	struct buf		 query;		/* "sort=top&bars=4" */
	char			*owned[ITEM_LIST_OWNED];
	size_t			 nowned;
};

struct item_ops {
	enum item_kind	 kind;
	const char	*key;		/* "loop": {"loop":…}, problem member */
	const char	*plural;	/* "loops": {"loops":[…]} */
	const char	*base;		/* "/api/loops" */
	const char	*not_found;	/* "Loop not found" */
	item_validator	 validate;
	enum db_status	(*create)(struct db *db, const struct item_caller *who,
			    const char *id, const char *doc,
			    struct item_result *r);
	enum db_status	(*replace)(struct db *db, const struct item_caller *who,
			    const char *id, const char *doc,
			    const struct item_cond *cond,
			    struct item_result *r);
	/* Parse the kind's own list filters (NULL: none). */
	void		(*list_filters)(struct ctx *c, struct item_list_req *lr,
			    struct field_errors *fe);
	/* The names of those filters, NULL-terminated (NULL: none). */
	const char *const *list_params;
};

/* The kinds of item, each the arg of its routes (handlers/routes.c). */
extern const struct item_ops	loop_items;	/* handlers/loops.c */
extern const struct item_ops	song_items;	/* handlers/songs.c */

/* The kind of item of the route being served (its arg). */
#define item_ops_of(c)	((const struct item_ops *)(c)->route->arg)

/*
 * Route handlers of every kind of item (handlers/items.c,
 * handlers/item_list.c): the route table names them directly, with the
 * kind's struct item_ops as the route's arg.
 */
void	item_get(struct ctx *c);
void	item_create(struct ctx *c);
void	item_put(struct ctx *c);
void	item_patch(struct ctx *c);
void	item_delete(struct ctx *c);
void	item_like(struct ctx *c);
void	item_unlike(struct ctx *c);
void	item_play(struct ctx *c);
void	item_list(struct ctx *c);

/* GET /api/users/me/likes for one kind (handlers/likes.c picks it). */
void	item_liked(struct ctx *c, const struct item_ops *ops);

/* Pieces for a kind's own handlers (remix, expand, ...). */
int	item_path_id(struct ctx *c, const struct item_ops *ops,
	    const char **id);
void	item_caller_of(const struct ctx *c, struct item_caller *who);
void	item_reply_result(struct ctx *c, const struct item_ops *ops,
	    const struct item_result *r, int ok_status);
void	item_reply_invalid_body(struct ctx *c, struct field_errors *fe);

/* List filter parsing, for list_filters callbacks (handlers/item_list.c). */
int	item_query_string(struct ctx *c, struct item_list_req *lr,
	    const char *name, size_t minchars, size_t maxchars,
	    struct field_errors *fe, const char **out);
int	item_query_int(struct ctx *c, struct item_list_req *lr,
	    const char *name, long long min, long long max,
	    struct field_errors *fe, long long *out);
const char *item_list_own(struct item_list_req *lr, char *s);

/*
 * Preconditions of a write as the request states them
 * (handlers/precond.c): If-Match, If-None-Match, the body's version.
 */
struct item_precond {
	int		 match_header;	/* If-Match came */
	int		 match_list;	/* ... with entity tags, not "*" */
	long long	*versions;	/* the versions it lists (owned) */
	size_t		 nversions;
	int		 create_only;	/* If-None-Match: * */
	long long	 body_version;	/* -1: none */
};

int	item_precond_parse(struct ctx *c, json_object *body,
	    struct item_precond *p);
void	item_precond_release(struct item_precond *p);
int	item_precond_lists(const struct item_precond *p, long long version);
void	item_precond_cond(const struct item_precond *p, struct item_cond *cond);

/* RFC 7396 merge patch, pure: *target becomes the patched value
 * (handlers/merge_patch.c). */
void	json_merge_patch(json_object **target, json_object *patch);

/* Loops (handlers/loop_valid.c). */
int	loop_validate(json_object *in, enum item_doc_mode mode,
	    json_object **out, struct field_errors *fe);

/* Songs (handlers/song_valid.c). */
int	song_validate(json_object *in, enum item_doc_mode mode,
	    json_object **out, struct field_errors *fe);

#endif
