#!/usr/bin/env bash
# di-cook on 2 GiB of bundles (four layers of 512 MiB, random data):
#  - against `cat BUNDLES | sha256sum`, the cost of reading and hashing
#    the same bytes once (the issue's bound: 1.3 times that, 16 MiB peak);
#  - against `skopeo copy docker-archive:IMG oci-archive:OUT`, a peer doing
#    a like job, with `di-cook --from IMG --format oci` turning the same
#    docker-archive into an OCI archive.
set -eu
: "${BENCH_RUNS:=3}" # 2 GiB a run: fewer runs than lib.bash's default
. "$(dirname "$0")/lib.bash"
: "${BENCH_LAYERS:=4}"     # of 512 MiB each
bench_tmp
cd "$BT"

for i in $(seq "$BENCH_LAYERS"); do
	mkdir -p "d$i/data" "b$i"
	for j in 1 2 3 4 5 6 7 8; do
		head -c 64M /dev/urandom >"d$i/data/f$j"
	done
	tar -C "d$i" --sort=name --owner=0 --group=0 --numeric-owner \
		--mtime=@1 -cf "b$i/layer.tar" data
	printf 1.0 >"b$i/VERSION"
	printf '{"architecture":"amd64","os":"linux","config":{"Cmd":["/x"]}}' >"b$i/json"
	tar -C "b$i" -cf "$i.bundle" VERSION json layer.tar
	rm -rf "d$i" "b$i"
done
bundles=$(ls ./*.bundle | tr '\n' ' ')
size=$(cat ./*.bundle | wc -c)
echo "input: $BENCH_LAYERS bundles, $((size / 1048576)) MiB"

bench_median hash "cat $bundles | sha256sum"
# A stricter limit where sha256sum does not use the CPU's SHA instructions:
# the hash that di-cook itself uses (libcrypto).
bench_median ossl "cat $bundles | openssl dgst -sha256"
bench_median null "di-cook -n bench $bundles >/dev/null"
bench_median file "di-cook -n bench -o $BT/out.tar $bundles"
rss=$(bench_rss "di-cook -n bench $bundles >/dev/null")
printf 'cat | sha256sum          %6.2f s\n' "$hash"
printf 'cat | openssl sha256     %6.2f s\n' "$ossl"
printf 'di-cook > /dev/null      %6.2f s  %6d KiB peak  (%s x sha256sum, %s x openssl)\n' \
	"$null" "$rss" "$(bench_ratio "$null" "$hash")" "$(bench_ratio "$null" "$ossl")"
printf 'di-cook -o FILE          %6.2f s            (%s x sha256sum, %s x openssl)\n' \
	"$file" "$(bench_ratio "$file" "$hash")" "$(bench_ratio "$file" "$ossl")"
rm -f "$BT/out.tar"

if ! command -v skopeo >/dev/null; then
	echo "skopeo missing: no comparison with it" >&2
	exit 0
fi
di-cook -n bench --format docker -o "$BT/img.tar" $bundles
rm -f ./*.bundle
bench_median sk "rm -f $BT/sk.tar; skopeo copy -q docker-archive:$BT/img.tar oci-archive:$BT/sk.tar"
bench_median ours "di-cook --from $BT/img.tar -n bench --format oci -o $BT/oci.tar"
rss_sk=$(bench_rss "rm -f $BT/sk.tar; skopeo copy -q docker-archive:$BT/img.tar oci-archive:$BT/sk.tar")
rss_ours=$(bench_rss "di-cook --from $BT/img.tar -n bench --format oci -o $BT/oci.tar")
printf 'skopeo copy docker-archive: oci-archive:  %6.2f s  %7d KiB peak\n' "$sk" "$rss_sk"
printf 'di-cook --from IMG --format oci           %6.2f s  %7d KiB peak\n' "$ours" "$rss_ours"
echo "speed-up over skopeo: $(bench_ratio "$sk" "$ours")x"
