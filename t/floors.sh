#!/bin/sh
# The floors of the C code (doc/ARCHITECTURE.md) keep their arrows
# pointing down: each folder includes only the folders below it, and no
# header of a lower floor names a type a higher floor defines.  TAP.
#
#   base/      includes nothing of ours but base/
#   fcgi/      base/            (the transport)
#   db/        base/            (SQL and libpq)
#   handlers/  base/ fcgi/ db/  (the HTTP meaning of each resource)
#   cli/       all of them      (the programs)
#
# Reads the source tree ($srcdir, or the folder above this script), so
# it runs from a tarball too (make distcheck), without git.
top=${srcdir:-$(dirname "$0")/..}
cd "$top" || exit 1

n=0
bad=0
report() {	# report OK DESCRIPTION [FINDINGS]
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		printf '%s\n' "$3" | sed 's/^/#   /'
		bad=1
	fi
}

sources() {	# sources FOLDER: its C files, in a stable order
	ls "$1"/*.c "$1"/*.h 2>/dev/null | sort
}

# The folders of ours that FLOOR's files include, wrong ones only.
includes_outside() {	# includes_outside FLOOR ALLOWED...
	floor=$1
	shift
	for f in $(sources "$floor"); do
		sed -n 's|^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([a-z_]*\)/.*|\1|p' "$f" |
		    sort -u | while read -r dir; do
			ok=0
			for a in "$@"; do
				[ "$dir" = "$a" ] && ok=1
			done
			[ $ok = 1 ] || grep -n "#[[:space:]]*include[[:space:]]*\"$dir/" "$f" |
			    sed "s|^|$f:|"
		done
	done
}

check_floor() {	# check_floor FLOOR DESCRIPTION ALLOWED...
	floor=$1
	what=$2
	shift 2
	found=$(includes_outside "$floor" "$@")
	[ -z "$found" ]
	report $? "$what" "$found"
}

check_floor base "base/ includes nothing of ours but base/" base
check_floor fcgi "fcgi/ (the transport) includes only base/ and fcgi/" base fcgi
check_floor db "db/ includes only base/ and db/" base db
check_floor handlers "handlers/ include base/, fcgi/, db/ and handlers/, never cli/" \
    base fcgi db handlers

found=$(grep -n 'fcgi/' $(sources db))
[ -z "$found" ]
report $? "db/ names nothing of fcgi/, not even in a comment" "$found"

found=$(grep -n 'libpq-fe\.h\|PGresult' $(sources fcgi) $(sources handlers))
[ -z "$found" ]
report $? "fcgi/ and handlers/ never name libpq or a PGresult" "$found"

# The types each floor defines ("struct x", "enum x", "union x" for a
# tag with a body, the bare name for a typedef), and where a header of
# a lower floor names one of them.
types_of() {	# types_of FOLDER...
	for d in "$@"; do
		for f in $(sources "$d"); do
			sed -n -e 's/^\(struct\|enum\|union\)[[:space:]]\{1,\}\([a-z_][a-z0-9_]*\)[[:space:]]*{.*/\1:\2/p' \
			    -e 's/^typedef[^;]*(\*\([a-z_][a-z0-9_]*\))(.*/\1/p' \
			    -e 's/^typedef[[:space:]].*[[:space:]]\([a-z_][a-z0-9_]*\);$/\1/p' "$f"
		done
	done | sort -u
}

names_higher() {	# names_higher "LOWER..." "HIGHER...": offending lines
	for t in $(types_of $2); do
		case $t in
		*:*)	re="${t%%:*}[[:space:]]+${t#*:}([^a-z0-9_]|\$)" ;;
		*)	re="(^|[^a-z0-9_])$t([^a-z0-9_]|\$)" ;;
		esac
		for d in $1; do
			ls "$d"/*.h 2>/dev/null
		done | while read -r h; do
			grep -n -E "$re" "$h" | sed "s|^|$h: $t: |"
		done
	done
}

found=$(names_higher "base" "fcgi db handlers cli")
[ -z "$found" ]
report $? "no header of base/ names a type of fcgi/, db/, handlers/ or cli/" "$found"
found=$(names_higher "fcgi" "db handlers cli")
[ -z "$found" ]
report $? "no header of fcgi/ names a type of db/, handlers/ or cli/" "$found"
found=$(names_higher "db" "fcgi handlers cli")
[ -z "$found" ]
report $? "no header of db/ names a type of fcgi/, handlers/ or cli/" "$found"
found=$(names_higher "handlers" "cli")
[ -z "$found" ]
report $? "no header of handlers/ names a type of cli/" "$found"

echo "1..$n"
exit $bad
