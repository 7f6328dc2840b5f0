#!/usr/bin/env bash
# Seeds for fuzz_refgraph: exportReferencesGraph files, good and bad.
set -eu
d=$1
s=/nix/store
a=$s/0123456789abcdfghijklmnpqrsvwxyz-a
b=$s/zyxwvsrqpnmlkjihgfdcba9876543210-b
c=$s/00000000000000000000000000000000-c
printf '%s\n\n2\n%s\n%s\n%s\n%s.drv\n1\n%s\n%s\n\n0\n' "$a" "$a" "$b" "$b" "$b" "$c" "$c" >"$d/chain"
printf '%s\n\n1\n%s\n%s\n\n1\n%s\n' "$a" "$b" "$b" "$a" >"$d/cycle"
printf '%s\n\nx\n' "$a" >"$d/badcount"
printf '%s\n\n3\n%s\n' "$a" "$b" >"$d/short"
printf 'not a path\n' >"$d/junk"
