#!/usr/bin/env bash
# Seeds for fuzz_json: ordinary JSON, numbers a double cannot hold, and
# strings that look like the marks json.c uses for them.
set -eu
d=$1
printf '%s' '{"b":[1,1.5,-0,0.1,"x",true,null],"a":{"c":"\u00e9\n"}}' >"$d/plain"
printf '%s' '{"Healthcheck":{"Interval":12345678901234567890,"Timeout":9007199254740993},"x":[1e400,100000000000000000,-98765432109876543210,0.9007199254740993]}' >"$d/big"
printf '%s' '["\u0001123","\u0002","\n1",12345678901234567890,"\ud83d\ude00"]' >"$d/marks"
