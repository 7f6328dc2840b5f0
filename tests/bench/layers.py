#!/usr/bin/env python3
"""Layer sharing: di-closure --layers against the two nixpkgs algorithms.

    layers.py DIR [SEEDS]

For each seed, makes the synthetic closures of tests/lib/synthstore.py
(an application, the same rebuilt, the same with one small dependency
added, a sibling application over the same base) as sparse stores under
DIR, plans each with di-closure --layers N --list and with the algorithms
of nixpkgs' dockerTools written here from what their sources do, and
prints, for N = 10, 50, 100, the share of the second image's bytes that
are in layers the first image has (a layer is the same when it holds the
same store paths, since its bytes are a function of them).  Every
algorithm gets the same graphs and the same N, all of it for store paths.

  popularity   referencesByPopularity (closure-graph.py): the reference
               graph unrolled into a tree from the roots, a path's
               popularity the sum, over the subtrees it heads, of their
               depth below each ancestor (so deep, shared paths come
               first); paths by popularity, most first, ties by name then
               hash; the first N - 1 a layer each, the rest in the last.
  auto-layer   auto-layer.py: paths by size, largest first, become layer
               roots one at a time; a path's layer is the set of roots
               that reach it with no other root in between (a root's own
               is itself); it stops before the root that would make more
               than N layers.
  summary      auto-layer as its one-line summary reads ("the R largest
               paths are layer roots; every other path is grouped with
               those reached by the same set of roots; the two smallest
               groups merge until N are left"), kept beside the real one
               because it shares more at small N: "N/2" takes R = N/2,
               "best R" the best of R = N/4, N/2, 3N/4 and N in each cell
               (a choice no single setting makes).
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


def package_key(p):
    """closure-graph.py's tie order: the name after the hash, then the hash."""
    h, _, name = os.path.basename(p).partition("-")
    return name + "-" + h


def popularity(graph, n):
    refs = {p: sorted(set(r for r in graph[p][1] if r != p)) for p in graph}
    referenced = {r for p in graph for r in refs[p]}
    memo = {}

    def contest(p):
        """Popularity within the tree of P's references (P not counted)."""
        if p not in memo:
            pop = defaultdict(int)
            for c in refs[p]:
                pop[c] += 1
                for q, v in contest(c).items():
                    pop[q] += v + 1
            memo[p] = pop
        return memo[p]

    pop = defaultdict(int)
    for root in (p for p in graph if p not in referenced):
        pop[root] += 1
        for q, v in contest(root).items():
            pop[q] += v + 1
    order = sorted(graph, key=lambda p: (-pop[p], package_key(p)))
    layers = [frozenset([p]) for p in order[:n - 1]]
    if order[n - 1:]:
        layers.append(frozenset(order[n - 1:]))
    return layers


def auto_layer_py(graph, n):
    refs = {p: set(r for r in graph[p][1] if r != p) for p in graph}
    users = defaultdict(set)
    for p in graph:
        for r in refs[p]:
            users[r].add(p)

    def strictly(p, step):
        seen, todo = set(), set(step(p))
        while todo:
            q = todo.pop()
            if q not in seen:
                seen.add(q)
                todo |= step(q)
        return seen

    by_size = sorted(graph, key=lambda p: (-graph[p][0], package_key(p)))
    key = {p: frozenset() for p in graph}
    for root in by_size:
        new = dict(key)
        new[root] = frozenset([root])
        below = strictly(root, lambda q: refs[q])
        above = strictly(root, lambda q: users[q])
        for q in below:
            k = new[q] - above  # roots above this one: not the nearest
            if not k & below:  # no root between this one and q
                k |= {root}
            new[q] = k
        if len(set(new.values())) > n:
            break
        key = new
    groups = defaultdict(set)
    for p, k in key.items():
        groups[k].add(p)
    return [frozenset(g) for g in groups.values()]


def auto_layer_summary(graph, n, roots_share):
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


COLUMNS = ("popularity", "auto-layer", "summary N/2", "summary best R",
           "di-closure", "ideal")


def plans(made, which, n, store):
    graph, gfile, roots = made[which]
    return {
        "popularity": [popularity(graph, n)],
        "auto-layer": [auto_layer_py(graph, n)],
        "summary N/2": [auto_layer_summary(graph, n, 0.5)],
        "summary best R": [auto_layer_summary(graph, n, r)
                           for r in (0.25, 0.5, 0.75, 1.0)],
        "di-closure": [ours(store, gfile, roots, n)],
        "ideal": [[frozenset([p]) for p in graph]],
    }


def main():
    dirname = sys.argv[1]
    seeds = [int(s) for s in sys.argv[2:]] or [1, 2, 3]
    cells = defaultdict(list)
    for seed in seeds:
        store, made = make(dirname, seed)
        for n in NS:
            plan = {w: plans(made, w, n, store) for w in made}
            for label, a, b in SCENARIOS:
                ga, gb = made[a][0], made[b][0]
                for col in COLUMNS:
                    # "best R": the best of the settings, each on both.
                    cells[label, n, col].append(max(
                        shared(ga, pa, gb, pb)
                        for pa, pb in zip(plan[a][col], plan[b][col])))
    mean = lambda v: 100 * sum(v) / len(v)
    print("shared bytes, %% of the new image (mean of %d seeds):" %
          len(seeds))
    print("%-17s %4s" % ("case", "N") +
          "".join(" %*s" % (max(7, len(c)), c) for c in COLUMNS))
    for label, _, _ in SCENARIOS:
        for n in NS:
            v = [mean(cells[label, n, c]) for c in COLUMNS]
            ours_v, others = v[4], v[:4]
            note = ("" if ours_v > max(others) else
                    "  (at the bound)" if ours_v >= v[5] - 0.05 else
                    "  (not ahead)")
            print("%-17s %4d" % (label, n) +
                  "".join(" %*.1f%%" % (max(7, len(c)) - 1, x)
                          for c, x in zip(COLUMNS, v)) + note)


if __name__ == "__main__":
    main()
