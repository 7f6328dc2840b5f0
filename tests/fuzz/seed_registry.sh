#!/usr/bin/env bash
# Seeds for fuzz_registry: one file per kind of text di-pull parses.
set -eu
d=$1
h=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
printf '%s' "127.0.0.1:5000/a/b:v1@sha256:$h" >"$d/reference"
printf '%s' 'Bearer realm="https://auth.example/token",service="reg",scope="repository:a/b:pull",error="insufficient_scope", Basic realm="x"' >"$d/challenge"
printf '%s' '{"token":"abc.def","access_token":"x","expires_in":300}' >"$d/token"
printf '%s' '{"auths":{"https://index.docker.io/v1/":{"auth":"YWxpY2U6czNjcmV0"},"docker.io/library":{"auth":"Ym9iOng6eQ=="}}}' >"$d/authfile"
printf '{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:%s","size":12},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+zstd","digest":"sha256:%s","size":34,"urls":["x"]}]}' "$h" "$h" >"$d/manifest"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":5,"platform":{"os":"linux","architecture":"arm","variant":"v7"},"annotations":{"vnd.docker.reference.type":"attestation-manifest"}}]}' "$h" >"$d/index"
printf '{"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$h" >"$d/config"
printf '%s' '{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}' >"$d/errors"
