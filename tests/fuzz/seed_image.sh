#!/usr/bin/env bash
# Seeds for fuzz_image: image archives of every form, good and bad (made by
# tests/lib/hostile.py), and di-cook's own output when it is built.
set -eu
d=$1
top=$(cd "$(dirname "$0")/../.." && pwd)
python3 "$top/tests/lib/hostile.py" fuzz-seeds "$d"
cook=$top/build/bin/di-cook
[ -x "$cook" ] || exit 0
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
python3 "$top/tests/lib/hostile.py" tar absolute >"$t/layer.tar"
for f in hybrid legacy oci docker; do
	{ printf '\0'; "$cook" -n hostile -t 1 --format "$f" "$t/layer.tar"; } >"$d/cook-$f"
done
