/*
 * Items: what loops and songs have in common, written once.
 *
 * A kind of item (handlers/loops.c, handlers/songs.c) describes itself
 * with a struct item_ops -- its names, its validator, its create and
 * replace database calls, and the list filters only it has -- and its
 * route handlers are then mostly one-line calls of the generic
 * handlers below, which own the HTTP behaviour every item shares:
 *
 *   GET one           item_get      ETag; If-None-Match -> 304
 *   POST              item_create   201, Location, ETag
 *   PUT               item_put      replace (200), or with
 *                                   If-None-Match: * create-only at
 *                                   the client's id (201, else 412)
 *   PATCH             item_patch    RFC 7396 merge patch on the current
 *                                   document, validated as a whole
 *   DELETE            item_delete   204
 *   PUT/DELETE .../like  item_like  200 {likesCount, likedByMe}
 *   POST .../plays    item_play     202 {playsCount}
 *   GET list          item_list     visibility, user/public/sort,
 *                                   limit, signed keyset cursor,
 *                                   offset, Link rel="next"
 *
 * Preconditions (If-Match, If-None-Match, a "version" member of the
 * body) are parsed here and checked by the database in the same
 * statement as the write; outcomes map to statuses in one place,
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
typedef int	(*item_validator)(json_object *in, enum item_doc_mode,
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
	enum db_status	(*create)(struct db *, const struct item_caller *,
			    const char *id, const char *doc,
			    struct item_result *);
	enum db_status	(*replace)(struct db *, const struct item_caller *,
			    const char *id, const char *doc,
			    const struct item_cond *, struct item_result *);
	/* Parse the kind's own list filters (NULL: none). */
	void		(*list_filters)(struct ctx *, struct item_list_req *,
			    struct field_errors *);
	/* The names of those filters, NULL-terminated (NULL: none). */
	const char *const *list_params;
};

/* Generic route handlers (handlers/items.c). */
void	item_get(struct ctx *, const struct item_ops *);
void	item_create(struct ctx *, const struct item_ops *);
void	item_put(struct ctx *, const struct item_ops *);
void	item_patch(struct ctx *, const struct item_ops *);
void	item_delete(struct ctx *, const struct item_ops *);
void	item_like(struct ctx *, const struct item_ops *, int on);
void	item_play(struct ctx *, const struct item_ops *);
void	item_list(struct ctx *, const struct item_ops *);
void	item_liked(struct ctx *, const struct item_ops *);

/* Pieces for a kind's own handlers (remix, expand, ...). */
int	item_path_id(struct ctx *, const struct item_ops *, const char **id);
void	item_caller_of(const struct ctx *, struct item_caller *);
void	item_reply_result(struct ctx *, const struct item_ops *,
	    const struct item_result *, int ok_status);
void	item_reply_invalid_body(struct ctx *, const struct item_ops *,
	    struct field_errors *);

/* List filter parsing, for list_filters callbacks. */
int	item_query_string(struct ctx *, struct item_list_req *,
	    const char *name, size_t minchars, size_t maxchars,
	    struct field_errors *, const char **out);
int	item_query_int(struct ctx *, struct item_list_req *, const char *name,
	    long long min, long long max, struct field_errors *,
	    long long *out);
const char *item_list_own(struct item_list_req *, char *);

/* RFC 7396 merge patch, pure: *target becomes the patched value. */
void	json_merge_patch(json_object **target, json_object *patch);

/* Loops (handlers/loop_valid.c). */
int	loop_validate(json_object *in, enum item_doc_mode, json_object **out,
	    struct field_errors *);

/* Songs (handlers/song_valid.c). */
int	song_validate(json_object *in, enum item_doc_mode, json_object **out,
	    struct field_errors *);

#endif
