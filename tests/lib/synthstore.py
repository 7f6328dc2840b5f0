#!/usr/bin/env python3
"""A synthetic Nix store with real references, for di-closure --layers.

    synthstore.py STORE OUT SCENARIO [--scale S] [--seed N] [--sparse]

Writes under STORE the store paths of SCENARIO's closure (a directory per
path: a file of the path's size, and a file naming the store paths it
references, so that a scan finds the same references) and OUT.graph (an
exportReferencesGraph file) and OUT.roots (its roots).  Hashes are made as
Nix makes them: from the name and the hashes of what a path references, so
a changed path changes everything above it.  Sizes are realistic (a 30 MB
libc, a 110 MB language runtime, 160 modules of a few hundred KB with a
few large ones, a 5 MB application) times S (default 1/1000 for tests).

--sparse makes each data file a hole of its size (for plans: no data
read).  Scenarios: app (the application), app-rebuilt (the same, rebuilt), app-dep
(one small dependency added), sibling (another application over the same
base).
"""
import hashlib
import os
import random
import sys

ALPHABET = "0123456789abcdfghijklmnpqrsvwxyz"  # Nix's base32


def nixhash(text):
    d = hashlib.sha256(text.encode()).digest()
    return "".join(ALPHABET[b % 32] for b in d[:32])


def base_spec(rnd):
    spec = {}

    def p(name, mb, refs):
        spec[name] = (int(mb * 1e6), refs, "")

    p("glibc-2.37", 30, [])
    p("gcc-libs-12", 8, ["glibc-2.37"])
    p("zlib-1.3", 0.2, ["glibc-2.37"])
    p("openssl-3.0", 6, ["glibc-2.37"])
    p("ncurses-6.4", 3, ["glibc-2.37"])
    p("readline-8.2", 1, ["ncurses-6.4", "glibc-2.37"])
    p("bash-5.2", 8, ["glibc-2.37", "readline-8.2"])
    p("coreutils-9.3", 9, ["glibc-2.37", "openssl-3.0"])
    p("tzdata-2023c", 2, [])
    p("cacert-3.9", 0.3, [])
    p("libffi-3.4", 0.1, ["glibc-2.37"])
    p("expat-2.5", 0.5, ["glibc-2.37"])
    p("sqlite-3.42", 2, ["glibc-2.37", "zlib-1.3"])
    p("xz-5.4", 0.5, ["glibc-2.37"])
    p("bzip2-1.0", 0.2, ["glibc-2.37"])
    p("libxcrypt-4.4", 0.3, ["glibc-2.37"])
    p("mailcap-2.1", 0.1, [])
    p("python3-3.11", 110,
      ["glibc-2.37", "openssl-3.0", "zlib-1.3", "readline-8.2",
       "ncurses-6.4", "sqlite-3.42", "libffi-3.4", "expat-2.5", "xz-5.4",
       "bzip2-1.0", "tzdata-2023c", "mailcap-2.1", "libxcrypt-4.4",
       "gcc-libs-12", "bash-5.2"])
    mods = []
    for i in range(160):
        name = "python3.11-mod%03d-1.%d" % (i, i % 7)
        size = rnd.lognormvariate(12.6, 1.4)  # a median of 300 KB
        size = {7: 40e6, 23: 60e6, 41: 15e6}.get(i, size)
        refs = ["python3-3.11"] + rnd.sample(mods,
                                             min(len(mods), rnd.randint(0, 4)))
        if rnd.random() < 0.2:
            refs.append("openssl-3.0")
        spec[name] = (int(size), refs, "")
        mods.append(name)
    return spec, mods


def with_app(spec, name, mods, salt="", size=5e6, extra=()):
    spec = dict(spec)
    spec[name] = (int(size), ["python3-3.11", "bash-5.2"] + mods + list(extra),
                  salt)
    spec[name + "-wrapper"] = (10000, [name, "bash-5.2"], salt)
    return spec, [name + "-wrapper"]


def scenario(which, seed=1):
    rnd = random.Random(seed)
    base, mods = base_spec(rnd)
    mods_a = rnd.sample(mods, 60)
    mods_b = rnd.sample(mods, 60)
    if which == "app":
        return with_app(base, "appa-1.0", mods_a)
    if which == "app-rebuilt":
        return with_app(base, "appa-1.0", mods_a, salt="rebuilt", size=5.05e6)
    if which == "app-dep":
        b = dict(base)
        b["python3.11-newdep-0.1"] = (200000, ["python3-3.11"], "")
        return with_app(b, "appa-1.0", mods_a, salt="dep",
                        extra=["python3.11-newdep-0.1"])
    if which == "sibling":
        return with_app(base, "appb-2.0", mods_b)
    raise SystemExit("unknown scenario " + which)


def realize(spec, roots, store):
    """The closure of ROOTS as {path: (size, [ref paths])}."""
    hashes = {}

    def h(n):
        if n not in hashes:
            size, refs, salt = spec[n]
            hashes[n] = nixhash(n + "|" + "|".join(sorted(h(r) for r in refs))
                                + "|" + salt)
        return hashes[n]

    seen, todo = set(), list(roots)
    while todo:
        n = todo.pop()
        if n not in seen:
            seen.add(n)
            todo.extend(spec[n][1])
    path = lambda n: "%s/%s-%s" % (store, h(n), n)
    graph = {path(n): (spec[n][0], sorted(set(path(r) for r in spec[n][1])))
             for n in seen}
    return graph, [path(r) for r in roots]


def write_graph(graph, out):
    with open(out, "w") as f:
        for p in sorted(graph):
            refs = graph[p][1]
            f.write("%s\n\n%d\n" % (p, len(refs)))
            f.writelines(r + "\n" for r in refs)


def write_store(graph, scale, sparse):
    for p, (size, refs) in sorted(graph.items()):
        if os.path.isdir(p):
            continue
        os.makedirs(p + ".tmp/lib")
        with open(p + ".tmp/nix-support-refs", "w") as f:
            f.writelines(r + "\n" for r in refs)
        n = max(1, int(size * scale))
        with open(p + ".tmp/lib/data", "wb") as f:
            if sparse:  # the size alone, for plans that read no data
                f.truncate(n)
            else:  # bytes of the path's own, a block at a time
                block = hashlib.sha256(p.encode()).digest() * 2048
                for off in range(0, n, len(block)):
                    f.write(block[:min(len(block), n - off)])
        os.rename(p + ".tmp", p)


def main():
    args = sys.argv[1:]
    scale, seed, sparse = 1e-3, 1, False
    if "--sparse" in args:
        args.remove("--sparse")
        sparse = True
    if "--scale" in args:
        i = args.index("--scale")
        scale = float(args[i + 1])
        del args[i:i + 2]
    if "--seed" in args:
        i = args.index("--seed")
        seed = int(args[i + 1])
        del args[i:i + 2]
    store, out, which = args
    spec, roots = scenario(which, seed)
    graph, rootpaths = realize(spec, roots, store)
    write_graph(graph, out + ".graph")
    with open(out + ".roots", "w") as f:
        f.writelines(r + "\n" for r in rootpaths)
    if scale > 0:
        write_store(graph, scale, sparse)


if __name__ == "__main__":
    main()
