/*
 * Unit tests: the route behind a mount point (PATH_INFO, SCRIPT_NAME,
 * MP_BASE_PATH), the prefix put back on Location and Link, and the
 * configuration a CGI host can give (MP_ENV_FILE, database-only
 * commands).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "fcgi/http.h"
#include "base/settings.h"

static char *const *
envp(const char *const *a)
{
	union { const char *const *c; char *const *m; } u;

	u.c = a;
	return u.m;
}

/*
 * A request's CGI variables, the configured base path (MP_BASE_PATH;
 * NOT_AT: http_request_init, no base), and the route, mount and query
 * the request gets (NULL: not checked).
 */
#define NOT_AT	((const char *)-1)

struct mount_row {
	const char	*what;
	const char	*env[8];
	const char	*base;
	const char	*path;
	const char	*mount;
	const char	*query;
};

static const struct mount_row mount_rows[] = {
	{ "PATH_INFO is the route and SCRIPT_NAME the mount",
	    { "REQUEST_METHOD=GET", "REQUEST_URI=/app/api/loops?limit=2",
	    "SCRIPT_NAME=/app", "PATH_INFO=/api/loops", "QUERY_STRING=limit=2",
	    NULL }, "", "/api/loops", "/app", "limit=2" },
	{ "a front controller's SCRIPT_NAME gives way to MP_BASE_PATH",
	    { "REQUEST_METHOD=GET", "REQUEST_URI=/shared/api/loops/1",
	    "SCRIPT_NAME=/shared/mpapi.cgi", "PATH_INFO=/api/loops/1", NULL },
	    "/shared/", "/api/loops/1", "/shared", NULL },
	{ "without MP_BASE_PATH a front controller's SCRIPT_NAME is the mount",
	    { "REQUEST_METHOD=GET", "REQUEST_URI=/shared/api/loops/1",
	    "SCRIPT_NAME=/shared/mpapi.cgi", "PATH_INFO=/api/loops/1", NULL },
	    NULL, NULL, "/shared/mpapi.cgi", NULL },
	{ "a SCRIPT_NAME with a CR or LF is no mount point",
	    { "REQUEST_METHOD=GET", "REQUEST_URI=/app/api/loops",
	    "SCRIPT_NAME=/app\r\nX-Evil: 1", "PATH_INFO=/api/loops", NULL },
	    NULL, "/api/loops", "", NULL },
	{ "an MP_BASE_PATH with a control byte is no mount point",
	    { "REQUEST_METHOD=GET", "REQUEST_URI=/app/api/loops",
	    "SCRIPT_NAME=/app", "PATH_INFO=/api/loops", NULL },
	    "/a\tb", "/api/loops", "", NULL },
	{ "without PATH_INFO the base path is stripped from the URI",
	    { "REQUEST_METHOD=GET", "REQUEST_URI=/pool/api/loops?public=true",
	    "SCRIPT_NAME=/pool/api/loops", NULL }, "/pool", "/api/loops",
	    "/pool", "public=true" },
	{ "a URI that only starts like the base path is routed as it is",
	    { "REQUEST_URI=/poolside/api/loops", NULL }, "/pool",
	    "/poolside/api/loops", "", NULL },
	{ "a URI outside the base path is routed as it is with no mount",
	    { "REQUEST_URI=/api/loops", NULL }, "/pool", "/api/loops", "",
	    NULL },
	{ "the base path alone is the root under the mount",
	    { "REQUEST_URI=/pool", NULL }, "/pool", "/", "/pool", NULL },
	{ "nginx's params without PATH_INFO route on the URI as before",
	    { "REQUEST_METHOD=GET", "REQUEST_URI=/api/loops/1",
	    "SCRIPT_NAME=/api/loops/1", "DOCUMENT_URI=/api/loops/1", NULL },
	    NOT_AT, "/api/loops/1", "", NULL },
	{ "an MP_BASE_PATH param from the server wins over the configured one",
	    { "REQUEST_URI=/pool/health", "MP_BASE_PATH=/pool", NULL },
	    "/other", "/health", "/pool", NULL },
	{ "a decoded PATH_INFO is decoded only once, by the router",
	    { "REQUEST_URI=/app/api/users/a%2541", "SCRIPT_NAME=/app",
	    "PATH_INFO=/api/users/a%41", NULL }, NULL, "/api/users/a%2541",
	    NULL, NULL },
	{ "the query comes from QUERY_STRING when there is no REQUEST_URI",
	    { "SCRIPT_NAME=/x.cgi", "PATH_INFO=/api/loops",
	    "QUERY_STRING=limit=3", NULL }, NULL, "/api/loops", NULL,
	    "limit=3" },
};

#define NMOUNT_ROWS	(sizeof(mount_rows) / sizeof(mount_rows[0]))

/* A test for each row; the parameter is its index (see test_router.c). */
ParameterizedTestParameters(mount, every_request_gets_the_route_and_mount_its_row_names)
{
	static size_t	 index[NMOUNT_ROWS];
	size_t		 i;

	for (i = 0; i < NMOUNT_ROWS; i++)
		index[i] = i;
	return cr_make_param_array(size_t, index, NMOUNT_ROWS);
}

ParameterizedTest(size_t *i, mount,
    every_request_gets_the_route_and_mount_its_row_names)
{
	const struct mount_row *row = &mount_rows[*i];
	struct http_request req;

	if (row->base == NOT_AT)
		http_request_init(&req, envp(row->env));
	else
		http_request_init_at(&req, envp(row->env), row->base);
	if (row->path != NULL)
		cr_assert_str_eq(req.path, row->path, "%s", row->what);
	if (row->mount != NULL)
		cr_assert_str_eq(req.mount, row->mount, "%s", row->what);
	if (row->query != NULL)
		cr_assert_str_eq(req.query, row->query, "%s", row->what);
	http_request_release(&req);
}

Test(mount, location_and_link_carry_the_mount_prefix)
{
	struct http_response r;

	http_response_init(&r);
	http_set_header(&r, "Location", "/api/loops/1");
	http_set_header(&r, "Link", "</api/loops?limit=2&cursor=x>; rel=\"next\"");
	http_set_header(&r, "ETag", "\"/api/x\"");
	http_response_mount(&r, "/app");
	cr_assert_str_eq(http_get_header(&r, "Location"), "/app/api/loops/1");
	cr_assert_str_eq(http_get_header(&r, "Link"),
	    "</app/api/loops?limit=2&cursor=x>; rel=\"next\"");
	cr_assert_str_eq(http_get_header(&r, "ETag"), "\"/api/x\"");
	http_response_release(&r);
}

Test(mount, absolute_urls_and_an_empty_mount_are_left_alone)
{
	struct http_response r;

	http_response_init(&r);
	http_set_header(&r, "Location", "https://example.org/api/loops/1");
	http_set_header(&r, "Link", "<//cdn.example.org/x>; rel=\"next\"");
	http_response_mount(&r, "/app");
	cr_assert_str_eq(http_get_header(&r, "Location"),
	    "https://example.org/api/loops/1");
	cr_assert_str_eq(http_get_header(&r, "Link"),
	    "<//cdn.example.org/x>; rel=\"next\"");
	http_set_header(&r, "Location", "/api/loops/2");
	http_response_mount(&r, "");
	cr_assert_str_eq(http_get_header(&r, "Location"), "/api/loops/2");
	http_response_release(&r);
}

static char *
write_file(const char *text)
{
	static char path[64];
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "/tmp/mp-envfile-XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

Test(envfile, names_values_comments_quotes_and_export_are_read)
{
	const char *err;
	char *p;

	unsetenv("MPT_A");
	unsetenv("MPT_B");
	unsetenv("MPT_C");
	unsetenv("MPT_D");
	p = write_file("# a comment\n\nMPT_A=one\n  export MPT_B=\"two words\"\n"
	    "MPT_C='x=y#z'\r\nMPT_D=\n");
	cr_assert_eq(config_read_env_file(p, &err), 0, "%s", err);
	cr_assert_str_eq(getenv("MPT_A"), "one");
	cr_assert_str_eq(getenv("MPT_B"), "two words");
	cr_assert_str_eq(getenv("MPT_C"), "x=y#z");
	cr_assert_str_eq(getenv("MPT_D"), "");
	unlink(p);
}

Test(envfile, a_variable_already_in_the_environment_wins_over_the_file)
{
	const char *err;
	char *p;

	setenv("MPT_E", "from SetEnv", 1);
	p = write_file("MPT_E=from the file\n");
	cr_assert_eq(config_read_env_file(p, &err), 0);
	cr_assert_str_eq(getenv("MPT_E"), "from SetEnv");
	unlink(p);
}

Test(envfile, a_line_that_is_not_name_equals_value_is_refused)
{
	const char *err = NULL;
	char *p;

	p = write_file("MPT_F=1\nthis is not a setting\n");
	cr_assert_eq(config_read_env_file(p, &err), -1);
	cr_assert_not_null(strstr(err, "NAME=VALUE"));
	unlink(p);
	p = write_file("1ABC=x\n");
	cr_assert_eq(config_read_env_file(p, &err), -1);
	unlink(p);
}

Test(envfile, a_missing_file_is_an_error_naming_mp_env_file)
{
	const char *err = NULL;

	cr_assert_eq(config_read_env_file("/nonexistent/mpapi.env", &err), -1);
	cr_assert_not_null(strstr(err, "MP_ENV_FILE"));
}

Test(envfile, database_commands_load_without_a_jwt_secret)
{
	struct config c;
	const char *err;

	unsetenv("JWT_SECRET");
	unsetenv("JWT_SECRET_FILE");
	unsetenv("MP_ENV");
	setenv("DATABASE_URL", "dbname=x", 1);
	cr_assert_eq(config_load(&c, &err), -1);
	cr_assert_eq(config_load_db(&c, &err), 0, "%s", err);
	cr_assert_str_eq(c.database_url, "dbname=x");
}

Test(envfile, mp_base_path_is_normalised_and_checked)
{
	struct config c;
	const char *err;

	setenv("MP_BASE_PATH", "/app//", 1);
	cr_assert_eq(config_load_db(&c, &err), 0);
	cr_assert_str_eq(c.base_path, "/app");
	setenv("MP_BASE_PATH", "/", 1);
	cr_assert_eq(config_load_db(&c, &err), 0);
	cr_assert_str_eq(c.base_path, "");
	setenv("MP_BASE_PATH", "app", 1);
	cr_assert_eq(config_load_db(&c, &err), -1);
	cr_assert_not_null(strstr(err, "MP_BASE_PATH"));
	unsetenv("MP_BASE_PATH");
}
