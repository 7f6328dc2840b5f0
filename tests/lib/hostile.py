#!/usr/bin/env python3
"""Hostile inputs for the bad-input suite (tests/bad-input.bats).

    hostile.py tar CASE              one tar case on stdout
    hostile.py tars DIR              every tar case as DIR/CASE.tar
    hostile.py list                  the tar cases' names
    hostile.py image CASE DIR        an image case as DIR/image.tar (and
                                     what goes with it)
    hostile.py wrap LAYER.tar...     each as the one layer of LAYER.image
    hostile.py many N                N small entries, a tar on stdout
    hostile.py deep N                N nested directories, a tar on stdout
    hostile.py bomb MIB              a gzip'd tar: one small file, then MIB
                                     MiB of zeros after the end-of-archive
    hostile.py serve FAULT PORTFILE  a registry that misbehaves as FAULT says

Tar headers come from tests/lib/mktars.py's block builder, so that a case
holds exactly the bytes it means to, however wrong.
"""
import gzip
import hashlib
import http.server
import io
import json
import os
import sys
import zlib

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mktars import (BLOCK, END, GNU_MAGIC, entry, gnu_long, header, pad,  # noqa: E402
                    pax, pax_record)


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def with_checksum(blk, value):
    """BLK with its checksum field set to VALUE (an int) as written."""
    b = bytearray(blk)
    b[148:156] = ("%06o\0 " % value).encode()
    return bytes(b)


def rechecksum(blk):
    b = bytearray(blk)
    b[148:156] = b" " * 8
    return with_checksum(b, sum(b))


def set_field(blk, off, raw):
    b = bytearray(blk)
    b[off:off + len(raw)] = raw
    return rechecksum(b)


GOOD = entry("ok", b"fine\n")

# --- tar cases: malformed archives -----------------------------------------


def case_truncated_header():
    return GOOD + entry("cut", b"x")[:300]


def case_truncated_body():
    return GOOD + entry("cut", b"y" * 10000)[:BLOCK + 3000]


def case_bad_checksum():
    blk = header("bad", size=5)
    return GOOD + with_checksum(blk, sum(blk) + 1) + pad(b"12345") + END


def case_size_past_end():
    # 8 GiB announced, 1 KiB there.
    return GOOD + header("huge", size=8 << 30) + b"z" * 1024


def case_negative_size():
    return GOOD + header("neg", size=-5, magic=GNU_MAGIC) + END


def case_base256_overflow():
    blk = header("over", size=0, magic=GNU_MAGIC)
    return GOOD + set_field(blk, 124, b"\x80" + b"\xff" * 11) + END


def case_octal_garbage():
    blk = header("garbage", size=3)
    return GOOD + set_field(blk, 124, b"0000000x003\0") + pad(b"abc") + END


def case_pax_huge_length():
    rec = b"99999999999999999999999 path=x\n"
    return GOOD + entry("PaxHeader", rec, typeflag=b"x") + entry("f", b"a") + END


def case_pax_wrong_length():
    rec = pax_record("path", "named-by-pax")
    bad = str(int(rec.split(b" ")[0]) + 3).encode() + rec[rec.index(b" "):]
    return GOOD + entry("PaxHeader", bad, typeflag=b"x") + entry("f", b"a") + END


def case_pax_huge_header():
    # An extended header that claims 1 TiB: no reader may try to hold it.
    return GOOD + header("PaxHeader", size=1 << 40, typeflag=b"x") + \
        b"20 path=aaaaaaaaaaa\n" + END


def case_pax_no_equals():
    return GOOD + entry("PaxHeader", b"11 novalue\n", typeflag=b"x") + \
        entry("f", b"a") + END


def case_zero_block_then_header():
    return GOOD + b"\0" * BLOCK + entry("after", b"x") + END


def case_not_a_tar():
    return b"This is not a tar archive, only some text.\n" * 40


def case_gzip_corrupt():
    z = bytearray(gzip.compress(GOOD + entry("more", os.urandom(4000)) + END,
                                mtime=0))
    z[len(z) // 2] ^= 0xFF
    return bytes(z)


def case_gzip_truncated():
    z = gzip.compress(GOOD + entry("more", b"m" * 100000) + END, mtime=0)
    return z[:len(z) // 2]


def case_sparse_old_gnu():
    """An old-GNU sparse entry (typeflag S), as GNU tar --sparse writes."""
    blk = bytearray(header("sparse", size=512, typeflag=b"S",
                           magic=GNU_MAGIC))
    # One sparse map entry (offset 10 GiB - 512, 512 bytes), real size 10 GiB.
    blk[386:398] = ("%011o\0" % ((10 << 30) - 512)).encode()
    blk[398:410] = ("%011o\0" % 512).encode()
    blk[483:495] = ("%011o\0" % (10 << 30)).encode()
    return GOOD + rechecksum(blk) + pad(b"s" * 512) + END


def case_sparse_pax():
    """A pax 0.0 sparse entry, as GNU tar --sparse --format=pax writes."""
    return GOOD + pax([("GNU.sparse.size", str(10 << 30)),
                       ("GNU.sparse.numblocks", "1"),
                       ("GNU.sparse.offset", str((10 << 30) - 512)),
                       ("GNU.sparse.numbytes", "512")]) + \
        entry("sparse", b"s" * 512) + END


# --- tar cases: well formed, but unsafe or odd -----------------------------


def case_dotdot():
    return GOOD + entry("../di-hostile-escaped", b"evil\n") + END


def case_dotdot_deep():
    return GOOD + entry("a/b/../../../di-hostile-escaped", b"evil\n") + END


def case_dotdot_pax():
    return GOOD + pax([("path", "../../di-hostile-escaped")]) + entry("innocent", b"e") + END


def case_dotdot_longname():
    return GOOD + gnu_long(b"L", "../" * 40 + "di-hostile-escaped") + \
        entry("innocent", b"e", magic=GNU_MAGIC) + END


def case_absolute():
    return (entry("/abs/", typeflag=b"5", mode=0o755) +
            entry("/abs/file", b"absolute\n") + END)


def case_symlink_through():
    """A link out of the tree, then a file through it."""
    return (GOOD + entry("link", typeflag=b"2", linkname=b"/tmp") +
            entry("link/di-hostile-through", b"written through a link\n") + END)


def case_symlink_through_dotdot():
    return (GOOD + entry("up", typeflag=b"2", linkname=b"../../../..") +
            entry("up/di-hostile-through", b"written through a link\n") + END)


def case_hardlink_outside():
    return GOOD + entry("hard", typeflag=b"1", linkname=b"../../etc/passwd") + END


def case_hardlink_absolute():
    return GOOD + entry("hard", typeflag=b"1", linkname=b"/etc/passwd") + END


def case_hardlink_missing():
    return GOOD + entry("hard", typeflag=b"1", linkname=b"not-there") + END


def case_hardlink_to_dir():
    return (GOOD + entry("d/", typeflag=b"5") +
            entry("hard", typeflag=b"1", linkname=b"d") + END)


def case_dir_then_file():
    """A directory with a file in it, then a file of the same name."""
    return (GOOD + entry("d/", typeflag=b"5", mode=0o755) +
            entry("d/inner", b"inner\n") + entry("d", b"now a file\n") + END)


def case_file_then_dir():
    return (GOOD + entry("d", b"a file first\n") +
            entry("d/", typeflag=b"5", mode=0o700) +
            entry("d/inner", b"inner\n") + END)


def case_file_then_child():
    """A file, then an entry under it: malformed in every tool."""
    return GOOD + entry("a", b"a file\n") + entry("a/b", b"under it\n") + END


def case_newline_name():
    return GOOD + entry("new\nline", b"nl\n") + END


def case_non_utf8_name():
    return GOOD + entry(b"bad-\xff\xfe-utf8", b"bytes\n") + END


def case_base256_numbers():
    return (GOOD + entry("bigid", b"big\n", uid=1 << 40, gid=3, big=("uid",),
                         magic=GNU_MAGIC) +
            entry("negmtime", b"neg\n", mtime=-1000, magic=GNU_MAGIC) +
            entry("b256size", b"s" * 10, big=("size",), magic=GNU_MAGIC) + END)


def case_orphan_longname():
    """A GNU long name with no entry after it, then the end."""
    return GOOD + gnu_long(b"L", "l" * 200) + END


def case_orphan_pax():
    return GOOD + pax([("path", "p" * 200)]) + END


def case_longname_then_truncated():
    return GOOD + gnu_long(b"L", "l" * 200) + entry("x", b"x")[:200]


def case_data_after_end():
    return GOOD + END + b"trailing garbage, not a header\n" * 50


def case_no_end():
    return GOOD + entry("last", b"last\n")


def case_unknown_type():
    return GOOD + entry("odd", b"odd", typeflag=b"Z") + END


def case_setuid_device():
    return (GOOD + entry("dev/mem", typeflag=b"3", devmajor=1, devminor=1,
                         mode=0o4666) + END)


TARS = {name[5:].replace("_", "-"): fn for name, fn in list(globals().items())
        if name.startswith("case_")}


# --- big trees, made fast -------------------------------------------------


class Headers:
    """Header blocks for many entries that differ only in name."""

    def __init__(self, typeflag=b"0", mode=0o644):
        self.template = bytearray(header("", typeflag=typeflag, mode=mode))
        self.template[148:156] = b" " * 8
        self.base = sum(self.template)

    def make(self, name):
        b = self.template[:]
        b[0:len(name)] = name
        b[148:156] = b"%06o\0 " % (self.base + sum(name))
        return b


def write_many(n, out):
    files = Headers()
    buf = io.BytesIO()
    for i in range(n):
        buf.write(files.make(b"d%04d/f%07d" % (i // 1000, i)))
        if buf.tell() >= 1 << 20:
            out.write(buf.getvalue())
            buf = io.BytesIO()
    buf.write(END)
    out.write(buf.getvalue())


def write_deep(n, out):
    """A file under N nested directories (a/a/a/.../bottom), named in a pax
    header; the directories are implied, as in a layer that lists files
    only."""
    out.write(pax([("path", "a/" * n + "bottom")]))
    out.write(entry("bottom", b"the bottom\n"))
    out.write(END)


def write_bomb(mib, out):
    """GOOD and the end, then MIB MiB of zeros, gzip'd: small on disk,
    large when inflated; a reader has no reason to inflate the zeros."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    out.write(z.compress(GOOD + END))
    zeros = b"\0" * (1 << 20)
    for _ in range(mib):
        out.write(z.compress(zeros))
    out.write(z.flush())


# --- images ----------------------------------------------------------------


def tar_of(members):
    """A tar of MEMBERS: (name, bytes) or (name, None) for a directory."""
    out = b""
    for name, data in members:
        if data is None:
            out += entry(name, typeflag=b"5", mode=0o755)
        else:
            out += entry(name, data)
    return out + END


def config_of(diff_ids, extra=None):
    c = {"architecture": "amd64", "os": "linux",
         "created": "1970-01-01T00:00:01Z", "config": {},
         "rootfs": {"type": "layers", "diff_ids": diff_ids},
         "history": [{"created_by": "layer"} for _ in diff_ids]}
    c.update(extra or {})
    return json.dumps(c, sort_keys=True).encode()


def docker_archive(layers, config=None, manifest=None, extra=()):
    """A docker save archive of LAYERS (bytes each)."""
    members = []
    names = []
    for lay in layers:
        d = sha256(lay)
        members.append((d + "/layer.tar", lay))
        names.append(d + "/layer.tar")
    if config is None:
        config = config_of(["sha256:" + sha256(lay) for lay in layers])
    cname = sha256(config) + ".json"
    members.append((cname, config))
    if manifest is None:
        manifest = json.dumps([{"Config": cname, "RepoTags": ["hostile:1"],
                                "Layers": names}]).encode()
    members.append(("manifest.json", manifest))
    members.extend(extra)
    return tar_of(members)


LAYER = tar_of([("etc/", None), ("etc/hostname", b"hostile\n")])
LAYER2 = tar_of([("etc/motd", b"second\n")])


def legacy_layer(id_, parent, lay):
    j = {"id": id_}
    if parent:
        j["parent"] = parent
    return [(id_ + "/VERSION", b"1.0"), (id_ + "/json", json.dumps(j).encode()),
            (id_ + "/layer.tar", lay)]


def image_invalid_json():
    return docker_archive([LAYER], manifest=b'[{"Config": "x.json", "Layers": [')


def image_wrong_shape():
    return docker_archive([LAYER], manifest=b'{"Config": "x.json"}')


def image_layers_not_strings():
    cfg = config_of(["sha256:" + sha256(LAYER)])
    man = json.dumps([{"Config": sha256(cfg) + ".json", "Layers": [7]}])
    return docker_archive([LAYER], config=cfg, manifest=man.encode())


def image_config_not_object():
    cfg = b'["not", "an", "object"]'
    man = json.dumps([{"Config": sha256(cfg) + ".json",
                       "Layers": [sha256(LAYER) + "/layer.tar"]}])
    return docker_archive([LAYER], config=cfg, manifest=man.encode())


def image_missing_layer():
    cfg = config_of(["sha256:" + sha256(LAYER)] * 2)
    man = json.dumps([{"Config": sha256(cfg) + ".json",
                       "Layers": [sha256(LAYER) + "/layer.tar",
                                  "f" * 64 + "/layer.tar"]}])
    return docker_archive([LAYER], config=cfg, manifest=man.encode())


def image_missing_config():
    man = json.dumps([{"Config": "a" * 64 + ".json",
                       "Layers": [sha256(LAYER) + "/layer.tar"]}])
    return tar_of([(sha256(LAYER) + "/layer.tar", LAYER),
                   ("manifest.json", man.encode())])


def image_count_mismatch():
    cfg = config_of(["sha256:" + sha256(LAYER)] * 3)
    return docker_archive([LAYER, LAYER2], config=cfg)


def image_diff_id_mismatch():
    cfg = config_of(["sha256:" + sha256(LAYER), "sha256:" + "0" * 64])
    return docker_archive([LAYER, LAYER2], config=cfg)


def image_diff_id_not_digest():
    cfg = config_of(["sha256:" + sha256(LAYER), "md5:abc"])
    return docker_archive([LAYER, LAYER2], config=cfg)


def image_parent_cycle():
    a, b = "a" * 64, "b" * 64
    members = legacy_layer(a, b, LAYER) + legacy_layer(b, a, LAYER2)
    members.append(("repositories",
                    json.dumps({"hostile": {"1": a}}).encode()))
    return tar_of(members)


def image_parent_missing():
    a, b = "a" * 64, "b" * 64
    members = legacy_layer(a, b, LAYER)
    members.append(("repositories",
                    json.dumps({"hostile": {"1": a}}).encode()))
    return tar_of(members)


def image_bad_legacy_id():
    members = legacy_layer("../../x", None, LAYER)
    members.append(("repositories",
                    json.dumps({"hostile": {"1": "../../x"}}).encode()))
    return tar_of(members)


def image_repositories_invalid():
    return tar_of([("repositories", b'{"hostile": {"1": ')])


def write_huge_config(path):
    """A config of 100 MB (a long label), written straight to the file."""
    diff = "sha256:" + sha256(LAYER)
    head = ('{"architecture":"amd64","os":"linux","config":{"Labels":{"x":"')
    tail = ('"}},"rootfs":{"type":"layers","diff_ids":["%s"]}}' % diff)
    size = 100 * 1000 * 1000
    fill = size - len(head) - len(tail)
    h = hashlib.sha256()
    h.update(head.encode())
    chunk = b"x" * (1 << 20)
    left = fill
    while left > 0:
        h.update(chunk[:min(left, len(chunk))])
        left -= min(left, len(chunk))
    h.update(tail.encode())
    cname = h.hexdigest() + ".json"
    man = json.dumps([{"Config": cname, "RepoTags": ["hostile:1"],
                       "Layers": [sha256(LAYER) + "/layer.tar"]}]).encode()
    with open(path, "wb") as f:
        f.write(entry(sha256(LAYER) + "/layer.tar", LAYER))
        f.write(header(cname, size=size))
        f.write(head.encode())
        left = fill
        while left > 0:
            f.write(chunk[:min(left, len(chunk))])
            left -= min(left, len(chunk))
        f.write(tail.encode())
        f.write(b"\0" * (-size % BLOCK))
        f.write(entry("manifest.json", man))
        f.write(END)


def oci_archive(index=None, blob_fix=None):
    """An oci-archive of LAYER; BLOB_FIX may change the blobs' bytes."""
    blobs = {}

    def put(b):
        blobs[sha256(b)] = b
        return {"digest": "sha256:" + sha256(b), "size": len(b)}

    cfg = put(config_of(["sha256:" + sha256(LAYER)]))
    lay = put(LAYER)
    man = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": dict(cfg, mediaType="application/vnd.oci.image.config.v1+json"),
        "layers": [dict(lay, mediaType="application/vnd.oci.image.layer.v1.tar")],
    }).encode()
    mdesc = put(man)
    if index is None:
        index = json.dumps({"schemaVersion": 2, "manifests": [dict(
            mdesc, mediaType="application/vnd.oci.image.manifest.v1+json",
            annotations={"org.opencontainers.image.ref.name": "hostile:1"})]}
        ).encode()
    if blob_fix:
        blob_fix(blobs, mdesc["digest"][7:])
    members = [("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'),
               ("index.json", index), ("blobs/", None), ("blobs/sha256/", None)]
    members += [("blobs/sha256/" + d, b) for d, b in sorted(blobs.items())]
    return tar_of(members)


def image_oci_index_invalid():
    return oci_archive(index=b'{"manifests": [}')


def image_oci_no_manifests():
    return oci_archive(index=b'{"schemaVersion": 2, "manifests": []}')


def image_oci_manifest_changed():
    def fix(blobs, mdigest):
        blobs[mdigest] = blobs[mdigest].replace(b'"schemaVersion": 2',
                                                b'"schemaVersion":  2')
    return oci_archive(blob_fix=fix)


def image_oci_digest_escape():
    index = json.dumps({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": "sha256:../../../etc/passwd", "size": 10}]}).encode()
    return oci_archive(index=index)


def image_not_an_image():
    return tar_of([("etc/hostname", b"just a tree\n")])


def image_truncated():
    return docker_archive([LAYER, LAYER2])[:BLOCK * 5 + 100]


IMAGES = {name[6:].replace("_", "-"): fn for name, fn in list(globals().items())
          if name.startswith("image_")}


def legacy_archive():
    a, b = "a" * 64, "b" * 64
    members = legacy_layer(a, None, LAYER) + legacy_layer(b, a, LAYER2)
    members.append(("repositories", json.dumps({"hostile": {"1": b}}).encode()))
    return tar_of(members)


def write_fuzz_seeds(d):
    """Seeds for tests/fuzz/fuzz_image.c: a selector byte (which image to
    ask for), then an image archive: every form, good and bad, small."""
    os.makedirs(d, exist_ok=True)
    seeds = {"docker": docker_archive([LAYER, LAYER2]),
             "oci": oci_archive(), "legacy": legacy_archive(),
             "gzip-layer": docker_archive([gzip.compress(LAYER, mtime=0)],
                                          config=config_of(
                                              ["sha256:" + sha256(LAYER)])),
             "compressed": gzip.compress(docker_archive([LAYER]), mtime=0)}
    for name, fn in IMAGES.items():
        seeds["bad-" + name] = fn()
    for name, data in seeds.items():
        for pick in (0, 2):
            with open(os.path.join(d, "%s-%d" % (name, pick)), "wb") as f:
                f.write(bytes([pick]) + data)


# --- bundles (VERSION, json, layer.tar) ------------------------------------

BJSON = b'{"architecture":"amd64","os":"linux","config":null}'


def bundle_version_wrong():
    return tar_of([("VERSION", b"2.0"), ("json", BJSON), ("layer.tar", LAYER)])


def bundle_json_invalid():
    return tar_of([("VERSION", b"1.0"), ("json", b'{"os": '),
                   ("layer.tar", LAYER)])


def bundle_json_not_object():
    return tar_of([("VERSION", b"1.0"), ("json", b'"a string"'),
                   ("layer.tar", LAYER)])


def bundle_no_layer():
    return tar_of([("VERSION", b"1.0"), ("json", BJSON)])


def bundle_wrong_order():
    return tar_of([("VERSION", b"1.0"), ("layer.tar", LAYER), ("json", BJSON)])


def bundle_layer_corrupt():
    bad = bytearray(LAYER)
    bad[100] ^= 0x01  # the first header's mode: its checksum no longer holds
    return tar_of([("VERSION", b"1.0"), ("json", BJSON),
                   ("layer.tar", bytes(bad))])


def bundle_layer_cut():
    return tar_of([("VERSION", b"1.0"), ("json", BJSON),
                   ("layer.tar", LAYER)])[:3 * BLOCK + 2 * BLOCK + 100]


BUNDLES = {name[7:].replace("_", "-"): fn
           for name, fn in list(globals().items())
           if name.startswith("bundle_")}


# --- a registry that misbehaves --------------------------------------------


def serve(fault, portfile):
    """One image (repository "hostile", tag "1"); FAULT decides how it
    goes wrong:
      auth-loop        every answer is 401, tokens or not
      token-garbage    the token endpoint answers with bytes, not JSON
      token-empty      the token endpoint answers {} (no token)
      big-manifest     the manifest is 5 MiB
      long-blob        the layer blob has bytes beyond its descriptor's size
      short-blob       the layer blob ends before its size
      redirect-loop    every blob request redirects to itself
      challenge-garbage a 401 whose WWW-Authenticate makes no sense
      manifest-garbage the manifest is not JSON (its digest is right)
      none             behaves
    """
    lay = LAYER
    cfg = config_of(["sha256:" + sha256(lay)])
    blobs = {"sha256:" + sha256(lay): lay, "sha256:" + sha256(cfg): cfg}
    man = {"schemaVersion": 2,
           "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
           "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                      "digest": "sha256:" + sha256(cfg), "size": len(cfg)},
           "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar",
                       "digest": "sha256:" + sha256(lay), "size": len(lay)}]}
    if fault == "big-manifest":
        man["annotations"] = {"x": "y" * (5 << 20)}
    if fault == "long-blob":
        # The blob holds more than its descriptor says: a client that reads
        # on would find the digest of the longer bytes.
        longer = lay + b"\0" * 4096
        blobs = {"sha256:" + sha256(longer): longer,
                 "sha256:" + sha256(cfg): cfg}
        man["layers"][0]["digest"] = "sha256:" + sha256(longer)
    if fault == "short-blob":
        man["layers"][0]["size"] = len(lay) + 4096
    manifest = json.dumps(man).encode()
    if fault == "manifest-garbage":
        manifest = b"\x00\x01 not json at all"
    mtype = man["mediaType"]

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def send(self, status, body=b"", headers=()):
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def challenge(self):
            port = self.server.server_port
            value = ('Bearer realm="http://127.0.0.1:%d/token",'
                     'service="hostile"' % port)
            if fault == "challenge-garbage":
                value = 'Bearer realm=, ,,="'
            self.send(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}',
                      [("WWW-Authenticate", value),
                       ("Content-Type", "application/json")])

        def do_HEAD(self):
            self.do_GET()

        def do_GET(self):
            p = self.path.split("?")[0]
            if p == "/token":
                if fault == "token-garbage":
                    return self.send(200, b"\x89PNG garbage \xff{{{",
                                     [("Content-Type", "application/json")])
                if fault == "token-empty":
                    return self.send(200, b"{}",
                                     [("Content-Type", "application/json")])
                return self.send(200, b'{"token":"t0k3n"}',
                                 [("Content-Type", "application/json")])
            bearer_faults = ("auth-loop", "token-garbage", "token-empty",
                             "challenge-garbage")
            if fault in bearer_faults:
                if fault == "auth-loop" or \
                        self.headers.get("Authorization") != "Bearer t0k3n":
                    return self.challenge()
            if p == "/v2/" or p == "/v2":
                return self.send(200, b"{}")
            if p.startswith("/v2/hostile/manifests/"):
                return self.send(200, manifest, [
                    ("Content-Type", mtype),
                    ("Docker-Content-Digest", "sha256:" + sha256(manifest))])
            if p.startswith("/v2/hostile/blobs/"):
                d = p.rsplit("/", 1)[1]
                if fault == "redirect-loop":
                    return self.send(307, b"", [("Location", self.path)])
                if d not in blobs:
                    return self.send(404, b'{"errors":[{"code":"BLOB_UNKNOWN"}]}')
                b = blobs[d]
                if fault == "short-blob" and d == "sha256:" + sha256(lay):
                    return self.send(200, b)
                return self.send(200, b, [("Content-Type",
                                           "application/octet-stream")])
            self.send(404, b'{"errors":[{"code":"NAME_UNKNOWN"}]}')

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    srv.daemon_threads = True
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_port)
    os.rename(portfile + ".tmp", portfile)
    srv.timeout = 1
    import time
    end = time.monotonic() + 120
    while time.monotonic() < end:
        srv.handle_request()


# --- the command line ------------------------------------------------------


def main():
    cmd = sys.argv[1]
    out = sys.stdout.buffer
    if cmd == "list":
        print("\n".join(sorted(TARS)))
    elif cmd == "tar":
        out.write(TARS[sys.argv[2]]())
    elif cmd == "tars":
        os.makedirs(sys.argv[2], exist_ok=True)
        for name, fn in TARS.items():
            with open(os.path.join(sys.argv[2], name + ".tar"), "wb") as f:
                f.write(fn())
    elif cmd == "image":
        name, d = sys.argv[2], sys.argv[3]
        os.makedirs(d, exist_ok=True)
        if name == "huge-config":
            write_huge_config(os.path.join(d, "image.tar"))
        else:
            with open(os.path.join(d, "image.tar"), "wb") as f:
                f.write(IMAGES[name]())
    elif cmd == "all-images":
        os.makedirs(sys.argv[2], exist_ok=True)
        for name, fn in IMAGES.items():
            with open(os.path.join(sys.argv[2], name + ".tar"), "wb") as f:
                f.write(fn())
    elif cmd == "bundles":
        os.makedirs(sys.argv[2], exist_ok=True)
        for name, fn in BUNDLES.items():
            with open(os.path.join(sys.argv[2], name + ".tar"), "wb") as f:
                f.write(fn())
    elif cmd == "images":
        print("\n".join(sorted(IMAGES)))
    elif cmd == "fuzz-seeds":
        write_fuzz_seeds(sys.argv[2])
    elif cmd == "wrap":
        # Each LAYER.tar as the one layer of an image LAYER.image.
        for path in sys.argv[2:]:
            with open(path, "rb") as f:
                lay = f.read()
            with open(path[:-4] + ".image", "wb") as f:
                f.write(docker_archive([lay]))
    elif cmd == "many":
        write_many(int(sys.argv[2]), out)
    elif cmd == "deep":
        write_deep(int(sys.argv[2]), out)
    elif cmd == "bomb":
        write_bomb(int(sys.argv[2]), out)
    elif cmd == "serve":
        serve(sys.argv[2], sys.argv[3])
    else:
        sys.exit("hostile.py: unknown command " + cmd)


if __name__ == "__main__":
    main()
