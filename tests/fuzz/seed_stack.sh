#!/usr/bin/env bash
# Seeds for fuzz_stack: STACKs written by di-closure --layers, and broken
# ones (a member missing, renamed, of another size, a list that is not one).
set -eu
d=$1
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
s=$tmp/store
mkdir -p "$s"
for n in one two three; do
	p=$s/$(printf '%s' "$n" | sha256sum | cut -c1-32 | tr e z)-$n
	mkdir -p "$p"
	echo "$n" >"$p/file"
done
"$top/build/bin/di-closure" --store "$s" --layers 3 "$s"/* >"$d/three"
"$top/build/bin/di-closure" --store "$s" --layers 1 "$s"/* >"$d/one"
head -c 3000 "$d/three" >"$d/cut"
python3 - "$d" <<'PY'
import io, json, sys, tarfile
d = sys.argv[1]
def stack(name, index, members):
    with tarfile.open("%s/%s" % (d, name), "w", format=tarfile.USTAR_FORMAT) as t:
        for n, b in [("stack.json", index)] + members:
            i = tarfile.TarInfo(n)
            i.size = len(b)
            t.addfile(i, io.BytesIO(b))
layer = b"\0" * 1024
good = json.dumps({"layers": [{"name": "001.tar", "size": 1024, "paths": ["/a"]}]}).encode()
stack("renamed", good, [("x.tar", layer)])
stack("extra", good, [("001.tar", layer), ("002.tar", layer)])
stack("notjson", b"{", [("001.tar", layer)])
stack("nolayers", b'{"layers": 3}', [])
stack("badsize", json.dumps({"layers": [{"size": -1, "paths": []}]}).encode(), [])
PY
