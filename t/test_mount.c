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

#include "fcgi/http.h"
#include "base/settings.h"

static char *const *
envp(const char **a)
{
	union { const char **c; char *const *m; } u;

	u.c = a;
	return u.m;
}

Test(mount, path_info_is_the_route_and_script_name_the_mount)
{
	const char *env[] = { "REQUEST_METHOD=GET",
	    "REQUEST_URI=/app/api/loops?limit=2", "SCRIPT_NAME=/app",
	    "PATH_INFO=/api/loops", "QUERY_STRING=limit=2", NULL };
	struct http_request req;

	http_request_init_at(&req, envp(env), "");
	cr_assert_str_eq(req.path, "/api/loops");
	cr_assert_str_eq(req.mount, "/app");
	cr_assert_str_eq(req.query, "limit=2");
	http_request_release(&req);
}

Test(mount, a_front_controller_script_name_gives_way_to_mp_base_path)
{
	const char *env[] = { "REQUEST_METHOD=GET",
	    "REQUEST_URI=/shared/api/loops/1", "SCRIPT_NAME=/shared/mpapi.cgi",
	    "PATH_INFO=/api/loops/1", NULL };
	struct http_request req;

	http_request_init_at(&req, envp(env), "/shared/");
	cr_assert_str_eq(req.path, "/api/loops/1");
	cr_assert_str_eq(req.mount, "/shared");
	http_request_release(&req);
	http_request_init_at(&req, envp(env), NULL);
	cr_assert_str_eq(req.mount, "/shared/mpapi.cgi");
	http_request_release(&req);
}

Test(mount, without_path_info_the_base_path_is_stripped_from_the_uri)
{
	const char *env[] = { "REQUEST_METHOD=GET",
	    "REQUEST_URI=/pool/api/loops?public=true",
	    "SCRIPT_NAME=/pool/api/loops", NULL };
	struct http_request req;

	http_request_init_at(&req, envp(env), "/pool");
	cr_assert_str_eq(req.path, "/api/loops");
	cr_assert_str_eq(req.mount, "/pool");
	cr_assert_str_eq(req.query, "public=true");
	http_request_release(&req);
}

Test(mount, a_uri_outside_the_base_path_is_routed_as_it_is_with_no_mount)
{
	const char *a[] = { "REQUEST_URI=/poolside/api/loops", NULL };
	const char *b[] = { "REQUEST_URI=/api/loops", NULL };
	const char *c[] = { "REQUEST_URI=/pool", NULL };
	struct http_request req;

	http_request_init_at(&req, envp(a), "/pool");
	cr_assert_str_eq(req.path, "/poolside/api/loops");
	cr_assert_str_eq(req.mount, "");
	http_request_release(&req);
	http_request_init_at(&req, envp(b), "/pool");
	cr_assert_str_eq(req.path, "/api/loops");
	cr_assert_str_eq(req.mount, "");
	http_request_release(&req);
	http_request_init_at(&req, envp(c), "/pool");
	cr_assert_str_eq(req.path, "/");
	cr_assert_str_eq(req.mount, "/pool");
	http_request_release(&req);
}

Test(mount, nginx_params_without_path_info_route_on_the_uri_as_before)
{
	const char *env[] = { "REQUEST_METHOD=GET",
	    "REQUEST_URI=/api/loops/1", "SCRIPT_NAME=/api/loops/1",
	    "DOCUMENT_URI=/api/loops/1", NULL };
	struct http_request req;

	http_request_init(&req, envp(env));
	cr_assert_str_eq(req.path, "/api/loops/1");
	cr_assert_str_eq(req.mount, "");
	http_request_release(&req);
}

Test(mount, a_mp_base_path_param_from_the_server_wins_over_the_configured_one)
{
	const char *env[] = { "REQUEST_URI=/pool/health",
	    "MP_BASE_PATH=/pool", NULL };
	struct http_request req;

	http_request_init_at(&req, envp(env), "/other");
	cr_assert_str_eq(req.path, "/health");
	cr_assert_str_eq(req.mount, "/pool");
	http_request_release(&req);
}

Test(mount, a_decoded_path_info_is_decoded_only_once_by_the_router)
{
	const char *env[] = { "REQUEST_URI=/app/api/users/a%2541",
	    "SCRIPT_NAME=/app", "PATH_INFO=/api/users/a%41", NULL };
	struct http_request req;

	http_request_init_at(&req, envp(env), NULL);
	cr_assert_str_eq(req.path, "/api/users/a%2541");
	http_request_release(&req);
}

Test(mount, the_query_comes_from_query_string_when_there_is_no_request_uri)
{
	const char *env[] = { "SCRIPT_NAME=/x.cgi", "PATH_INFO=/api/loops",
	    "QUERY_STRING=limit=3", NULL };
	struct http_request req;

	http_request_init_at(&req, envp(env), NULL);
	cr_assert_str_eq(req.path, "/api/loops");
	cr_assert_str_eq(req.query, "limit=3");
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
