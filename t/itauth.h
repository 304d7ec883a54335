/*
 * Old names of the accounts tests' helpers, kept only while tests
 * written against them in other branches land (it_keys, it_matrix):
 * each is the fixture's function of the same meaning.  New tests
 * include t/itfixture.h and use the itfx_ names.
 */
#ifndef MP_ITAUTH_H
#define MP_ITAUTH_H

#include "t/itfixture.h"

#define ia_user			itfx_user	/* struct ia_user */
#define ia_init			itfx_init
#define ia_send			itfx_send
#define ia_send_h		itfx_send_h
#define ia_new_user		itfx_signup
#define ia_login		itfx_login
#define ia_assert_problem	itfx_assert_problem
#define ia_assert_invalid_token	itfx_assert_invalid_token
#define ia_is_null		itfx_is_null
#define ia_count_users		itfx_count_users
#define ia_secret		itfx_secret
#define ia_craft		itfx_craft
#define ia_craft_raw		itfx_craft_raw
#define ia_claims		itfx_claims

#endif
