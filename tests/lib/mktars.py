#!/usr/bin/env python3
"""Write tar archives that cover the corners of the format, for tests.

    mktars.py DIR          one FILE.tar per case into DIR
    mktars.py --list       the case names

Headers are built block by block here rather than by a tar library, so a
case can hold exactly the bytes it means to: modes without type bits,
base-256 numbers, pax records with binary values, global headers, GNU long
names, duplicate names, typeflag NUL, data after the end blocks.
"""
import os
import random
import sys

BLOCK = 512


def octal(value, width):
    return ("%0*o" % (width - 1, value)).encode() + b"\0"


def base256(value, width):
    """GNU's base-256: top bit set, two's complement big-endian."""
    if value < 0:
        value += 1 << (8 * width - 1)
        out = bytearray(value.to_bytes(width, "big"))
        out[0] |= 0xC0
        return bytes(out)
    out = bytearray(value.to_bytes(width, "big"))
    out[0] |= 0x80
    return bytes(out)


def number(value, width, force256=False):
    if force256 or value < 0 or value >= 8 ** (width - 1):
        return base256(value, width)
    return octal(value, width)


def header(name, size=0, mode=0o644, uid=0, gid=0, mtime=1, typeflag=b"0",
           linkname=b"", uname=b"", gname=b"", devmajor=0, devminor=0,
           prefix=b"", magic=b"ustar\x0000", big=()):
    def field(b, n):
        b = b if isinstance(b, bytes) else b.encode()
        assert len(b) <= n, (b, n)
        return b + b"\0" * (n - len(b))

    blk = bytearray(BLOCK)
    blk[0:100] = field(name, 100)
    blk[100:108] = number(mode, 8, "mode" in big)
    blk[108:116] = number(uid, 8, "uid" in big)
    blk[116:124] = number(gid, 8, "gid" in big)
    blk[124:136] = number(size, 12, "size" in big)
    blk[136:148] = number(mtime, 12, "mtime" in big)
    blk[156:157] = typeflag
    blk[157:257] = field(linkname, 100)
    blk[257:265] = magic
    blk[265:297] = field(uname, 32)
    blk[297:329] = field(gname, 32)
    blk[329:337] = octal(devmajor, 8)
    blk[337:345] = octal(devminor, 8)
    blk[345:500] = field(prefix, 155)
    blk[148:156] = b" " * 8
    blk[148:156] = ("%06o\0 " % sum(blk)).encode()
    return bytes(blk)


def pad(data):
    return data + b"\0" * (-len(data) % BLOCK)


def entry(name, data=b"", **kw):
    return header(name, size=len(data), **kw) + pad(data)


def pax_record(key, value):
    key = key if isinstance(key, bytes) else key.encode()
    value = value if isinstance(value, bytes) else value.encode()
    body = b" " + key + b"=" + value + b"\n"
    n = len(body) + 1
    while len(str(n)) + len(body) != n:
        n = len(str(n)) + len(body)
    return str(n).encode() + body


def pax(records, typeflag=b"x", name="PaxHeader"):
    data = b"".join(pax_record(k, v) for k, v in records)
    return entry(name, data, typeflag=typeflag)


GNU_MAGIC = b"ustar  \0"


def gnu_long(kind, value):
    value = value if isinstance(value, bytes) else value.encode()
    return entry("././@LongLink", value + b"\0", typeflag=kind,
                 magic=GNU_MAGIC)


END = b"\0" * (2 * BLOCK)


def case_gnu_basic():
    return (entry("dir/", typeflag=b"5", mode=0o755, magic=GNU_MAGIC) +
            entry("dir/file", b"hello\n", magic=GNU_MAGIC, uname=b"root",
                  gname=b"wheel", uid=1000, gid=100, mtime=1500000000) +
            entry("dir/link", typeflag=b"2", linkname=b"file",
                  mode=0o777, magic=GNU_MAGIC) +
            entry("dir/hard", typeflag=b"1", linkname=b"dir/file",
                  magic=GNU_MAGIC) + END)


def case_gnu_longnames():
    long = "d/" + "x" * 150 + "/file"
    target = "t/" + "y" * 200
    return (gnu_long(b"L", long) + entry(long[:100], b"data",
                                         magic=GNU_MAGIC) +
            gnu_long(b"K", target) + gnu_long(b"L", long + "2") +
            entry("short", typeflag=b"2", linkname=target[:100],
                  magic=GNU_MAGIC) + END)


def case_pax_long():
    long = "p/" + "n" * 240
    target = "/abs/" + "l" * 180
    return (pax([("path", long), ("mtime", "1234567890.75")]) +
            entry("short", b"pax data\n") +
            pax([("linkpath", target), ("uid", "3000000"),
                 ("gid", "4000000"), ("uname", "u" * 40)]) +
            entry("ln", typeflag=b"2", linkname=b"x") +
            pax([("path", "")]) + entry("kept-ustar-name", b"z") + END)


def case_ustar_prefix():
    prefix = "a" * 60 + "/" + "b" * 60
    return (entry("file-with-prefix", b"1", prefix=prefix.encode()) +
            entry("d/", typeflag=b"5", prefix=prefix.encode(),
                  mode=0o700) + END)


def case_xattrs():
    return (pax([("SCHILY.xattr.user.b", "two"),
                 ("SCHILY.xattr.user.a", "one"),
                 ("SCHILY.xattr.security.capability",
                  b"\x01\x00\x00\x02\x00\x04\x00\x00\x00\x00\x00\x00"),
                 ("SCHILY.xattr.user.empty", ""),
                 ("SCHILY.xattr.user.bin", bytes(range(1, 256)))]) +
            entry("cap", b"binary") +
            pax([("SCHILY.xattr.trusted.overlay.opaque", "y")]) +
            entry("dir/", typeflag=b"5") + END)


def case_devices():
    return (entry("dev/null", typeflag=b"3", devmajor=1, devminor=3,
                  mode=0o666) +
            entry("dev/sda", typeflag=b"4", devmajor=8, devminor=0) +
            entry("dev/fifo", typeflag=b"6") +
            entry("dev/wh", typeflag=b"3", devmajor=0, devminor=0) + END)


def case_global():
    return (pax([("comment", "made for a test"), ("path", "global-path"),
                 ("SCHILY.xattr.user.g", "gx")], typeflag=b"g",
                name="pax_global_header") +
            entry("after-global", b"g") +
            pax([("comment", "second")], typeflag=b"g", name="g2") + END)


def case_dups():
    return (entry("same", b"first") + entry("./same", b"second") +
            entry("/same", b"third") + entry("other", b"o") +
            entry("same/", typeflag=b"5") + entry("a/../same", b"x") + END)


def case_dups_many():
    rnd = random.Random(7)
    out = b""
    names = ["n%d" % i for i in range(6)]
    for i in range(300):
        out += entry(rnd.choice(names), os.urandom(0) + bytes([i % 251]) *
                     rnd.randrange(0, 40))
    return out + END


def case_modes():
    return (entry("plain", b"m", mode=0o644) +
            entry("typebits", b"m", mode=0o100644) +
            entry("setuid", b"m", mode=0o4755) +
            entry("dirbits/", typeflag=b"5", mode=0o40755) + END)


def case_base256():
    return (entry("bigid", b"b", uid=1 << 40, gid=3, big=("uid",),
                  magic=GNU_MAGIC) +
            entry("negmtime", b"n", mtime=-1000, magic=GNU_MAGIC) +
            entry("b256size", b"s" * 10, big=("size",), magic=GNU_MAGIC) +
            entry("b256mode", b"s", mode=0o644, big=("mode",),
                  magic=GNU_MAGIC) + END)


def case_empty():
    return END


def case_trailing_data():
    return entry("f", b"data") + END + b"garbage after the end" * 100


def case_no_end():
    return entry("f", b"data") + entry("g", b"")


def case_nul_type():
    return (entry("v7file", b"v7", typeflag=b"\0") +
            entry("v7dir/", typeflag=b"\0") +
            entry("odd-type", b"", typeflag=b"Z") + END)


def case_v7():
    return (entry("old", b"old format", magic=b"\0" * 8, uname=b"",
                  gname=b"") + END)


def case_many():
    rnd = random.Random(42)
    out = b""
    for i in range(2000):
        n = rnd.choice([0, 1, 100, 511, 512, 513, 4096, 70000])
        out += entry("many/%04d/%s" % (i // 100, "f%d" % i),
                     rnd.randbytes(n), mode=rnd.choice([0o644, 0o755]))
    return out + END


CASES = {name[5:].replace("_", "-"): fn for name, fn in globals().items()
         if name.startswith("case_")}


def main():
    if sys.argv[1:] == ["--list"]:
        print("\n".join(sorted(CASES)))
        return
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, fn in CASES.items():
        with open(os.path.join(out, name + ".tar"), "wb") as f:
            f.write(fn())


if __name__ == "__main__":
    main()
