#!/usr/bin/env python3
"""Layer sharing: di-closure --layers against the two nixpkgs algorithms.

    layers.py DIR [SEEDS]

For each seed, makes the synthetic closures of tests/lib/synthstore.py
(an application, the same rebuilt, the same with one small dependency
added, a sibling application over the same base) as sparse stores under
DIR, plans each with di-closure --layers N --list and with the two
algorithms of nixpkgs' dockerTools written here from their descriptions,
and prints, for N = 10, 50, 100, the share of the second image's bytes
that are in layers the first image has (a layer is the same when it holds
the same store paths, since its bytes are a function of them):

  popularity   referencesByPopularity: paths ordered by how many paths
               reach them (their own included), most first; the first
               N - 1 get a layer each, the rest share the last one.
  auto-layer   auto-layer.py: the R largest paths are layer roots; every
               other path is grouped with those reached by the same set of
               roots; the two smallest groups merge until N are left.  R
               is not fixed by the description: "auto N/2" takes R = N/2,
               "auto best" the best of R = N/4, N/2, 3N/4 and N in each
               cell (a choice no single setting makes).
  ideal        a layer per store path, whatever N: the bound.
"""
import os
import subprocess
import sys
from collections import defaultdict

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import synthstore  # noqa: E402

SCENARIOS = [("leaf change", "app", "app-rebuilt"),
             ("added dependency", "app", "app-dep"),
             ("sibling apps", "app", "sibling")]
NS = (10, 50, 100)


def down_sets(graph):
    memo = {}

    def down(p):
        if p not in memo:
            s = {p}
            for r in graph[p][1]:
                if r != p:
                    s |= down(r)
            memo[p] = frozenset(s)
        return memo[p]

    for p in graph:
        down(p)
    return memo


def popularity(graph, n):
    pop = defaultdict(int)
    for p, below in down_sets(graph).items():
        for q in below:
            pop[q] += 1
    order = sorted(graph, key=lambda p: (-pop[p], p))
    layers = [frozenset([p]) for p in order[:n - 1]]
    if order[n - 1:]:
        layers.append(frozenset(order[n - 1:]))
    return layers


def auto_layer(graph, n, roots_share):
    size = lambda p: graph[p][0]
    by_size = sorted(graph, key=lambda p: (-size(p), p))
    roots = by_size[:max(1, int(n * roots_share))]
    rootset, down = set(roots), down_sets(graph)
    reach = defaultdict(set)
    for r in roots:
        for q in down[r]:
            if q not in rootset:
                reach[q].add(r)
    groups = defaultdict(set)
    for p in graph:
        groups[("root", p) if p in rootset else
               ("set", frozenset(reach[p]))].add(p)
    groups = list(groups.values())
    while len(groups) > n:
        groups.sort(key=lambda g: (sum(map(size, g)), min(g)))
        groups = groups[2:] + [groups[0] | groups[1]]
    return [frozenset(g) for g in groups]


def ours(store, graphfile, roots, n):
    out = subprocess.run(["di-closure", "--store", store, "--graph",
                          graphfile, "--layers", str(n), "--list"] + roots,
                         check=True, capture_output=True, text=True).stdout
    return [frozenset(line.split()[2:]) for line in out.splitlines()]


def shared(old_graph, old_layers, new_graph, new_layers):
    old = set(old_layers)
    total = sum(s for s, _ in new_graph.values())
    kept = sum(sum(new_graph[p][0] for p in layer)
               for layer in new_layers if layer in old)
    return kept / total


def make(dirname, seed):
    store = os.path.join(dirname, "store%d" % seed)
    os.makedirs(store, exist_ok=True)
    made = {}
    for which in ("app", "app-rebuilt", "app-dep", "sibling"):
        spec, roots = synthstore.scenario(which, seed)
        graph, rootpaths = synthstore.realize(spec, roots, store)
        gfile = os.path.join(dirname, "%s-%d.graph" % (which, seed))
        synthstore.write_graph(graph, gfile)
        synthstore.write_store(graph, 1.0, True)
        made[which] = (graph, gfile, rootpaths)
    return store, made


def main():
    dirname = sys.argv[1]
    seeds = [int(s) for s in sys.argv[2:]] or [1, 2, 3]
    cells = defaultdict(list)
    for seed in seeds:
        store, made = make(dirname, seed)
        for label, a, b in SCENARIOS:
            (ga, fa, ra), (gb, fb, rb) = made[a], made[b]
            for n in NS:
                cells[label, n, "popularity"].append(
                    shared(ga, popularity(ga, n), gb, popularity(gb, n)))
                cells[label, n, "auto N/2"].append(
                    shared(ga, auto_layer(ga, n, 0.5), gb,
                           auto_layer(gb, n, 0.5)))
                cells[label, n, "auto best"].append(max(
                    shared(ga, auto_layer(ga, n, r), gb, auto_layer(gb, n, r))
                    for r in (0.25, 0.5, 0.75, 1.0)))
                cells[label, n, "di-closure"].append(
                    shared(ga, ours(store, fa, ra, n), gb,
                           ours(store, fb, rb, n)))
                one = lambda g: [frozenset([p]) for p in g]
                cells[label, n, "ideal"].append(shared(ga, one(ga), gb,
                                                       one(gb)))
    mean = lambda v: 100 * sum(v) / len(v)
    print("shared bytes, %% of the new image (mean of %d seeds):" %
          len(seeds))
    print("%-18s %4s %11s %10s %10s %11s %7s" %
          ("case", "N", "popularity", "auto N/2", "auto best", "di-closure",
           "ideal"))
    for label, _, _ in SCENARIOS:
        for n in NS:
            v = [mean(cells[label, n, a]) for a in
                 ("popularity", "auto N/2", "auto best", "di-closure",
                  "ideal")]
            best = "" if v[3] > max(v[:3]) else "  (not ahead)"
            print("%-18s %4d %10.1f%% %9.1f%% %9.1f%% %10.1f%% %6.1f%%%s" %
                  ((label, n) + tuple(v) + (best,)))


if __name__ == "__main__":
    main()
