#!/bin/sh
# LOG_COMPILER for every test binary.  Unit tests run as they are.
# Integration tests (t/it_*) need the stack `deploy/dev test` starts
# (MP_TEST_URL and friends); without it they are skipped, unless
# MP_TEST_REQUIRE=1 says a skip would be a failure.
prog=$1
shift
case $(basename "$prog") in
it_*)
	if [ -z "${MP_TEST_URL:-}" ]; then
		if [ "${MP_TEST_REQUIRE:-0}" = 1 ]; then
			echo "Bail out! MP_TEST_URL is not set: no stack to test against"
			exit 1
		fi
		echo "1..0 # SKIP no running stack (run deploy/dev test)"
		exit 0
	fi
	;;
esac
exec "$prog" "$@"
