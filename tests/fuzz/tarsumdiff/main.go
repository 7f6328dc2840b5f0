// tarsumdiff runs di's tarsum and Docker's Go tarsum side by side on tars it
// makes and mutates, for v0, v1 and dev, and keeps every input on which
// they disagree.
//
// Usage: tarsumdiff -batch PATH [-n CASES] [-t SECONDS] [-seed N]
//
//	[-out DIR] [-replay] [SEEDFILE...]
//
// PATH is tests/fuzz/tarsum_batch built against di's common/ code: it reads
// length-prefixed tars and answers one line of sums each.  The Go side is
// computed here, in-process, with github.com/docker/docker/pkg/tarsum and
// Go's own archive/tar.  Inputs are built entry by entry from random
// headers (every format, numbers written every way, pax records, long
// names, sparse files of each version, global headers), some from the
// SEEDFILEs, then mutated (bytes, checksums, truncations, trailing data).
// Inputs whose files add up to more than 8 MiB are skipped (both sides
// would only hash zeros for long).  With -replay, only the SEEDFILEs are
// run, as they are: a disagreement on any fails.
package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/docker/docker/pkg/tarsum"
)

const maxLogical = 8 << 20

var versions = []tarsum.Version{tarsum.Version0, tarsum.Version1, tarsum.VersionDev}

// goSum is the Go tarsum of b, or "ERR".
func goSum(b []byte, v tarsum.Version) string {
	ts, err := tarsum.NewTarSum(bytes.NewReader(b), true, v)
	if err == nil {
		_, err = io.Copy(io.Discard, ts)
	}
	if err != nil {
		return "ERR"
	}
	return ts.Sum(nil)
}

// logicalSize adds up the sizes Go's Reader reports, until it fails.
func logicalSize(b []byte) int64 {
	var total int64
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err != nil {
			return total
		}
		if h.Size > 0 {
			total += h.Size
		}
		if total > maxLogical || total < 0 {
			return maxLogical + 1
		}
	}
}

type batch struct {
	cmd *exec.Cmd
	in  *bufio.Writer
	out *bufio.Reader
}

func startBatch(path string) *batch {
	cmd := exec.Command(path)
	cmd.Stderr = os.Stderr
	w, err := cmd.StdinPipe()
	check(err)
	r, err := cmd.StdoutPipe()
	check(err)
	check(cmd.Start())
	return &batch{cmd, bufio.NewWriterSize(w, 1<<20), bufio.NewReader(r)}
}

func (b *batch) sums(data []byte) (string, bool) {
	var n [4]byte
	binary.LittleEndian.PutUint32(n[:], uint32(len(data)))
	b.in.Write(n[:])
	b.in.Write(data)
	check(b.in.Flush())
	line, err := b.out.ReadString('\n')
	check(err)
	line = strings.TrimSuffix(line, "\n")
	nondet := strings.HasSuffix(line, " nondet")
	return strings.TrimSuffix(line, " nondet"), nondet
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "tarsumdiff:", err)
		os.Exit(2)
	}
}

// agree compares one input; a Go answer that rests on map order is asked
// for again until it matches di's choice or 256 tries have not.
func agree(b *batch, data []byte) (bool, bool) {
	line, nondet := b.sums(data)
	di := strings.Split(line, " ")
	out := make([]string, 3)
	for i, v := range versions {
		out[i] = goSum(data, v)
		for k := 0; nondet && len(di) == 3 && out[i] != di[i] && k < 256; k++ {
			out[i] = goSum(data, v)
		}
	}
	g := strings.Join(out, " ")
	if g != line {
		fmt.Fprintf(os.Stderr, "disagree: go=%s\n          di=%s\n", g, line)
	}
	return g == line, nondet
}

func save(dir string, data []byte) string {
	sum := sha256.Sum256(data)
	name := filepath.Join(dir, hex.EncodeToString(sum[:8])+".tar")
	check(os.MkdirAll(dir, 0o755))
	check(os.WriteFile(name, data, 0o644))
	return name
}

func readSeeds(paths []string) [][]byte {
	var seeds [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err == nil && len(b) < 1<<20 {
			seeds = append(seeds, b)
		}
	}
	return seeds
}

func main() {
	batchPath := flag.String("batch", "", "the tarsum_batch program")
	cases := flag.Int64("n", 10000, "cases to run")
	seconds := flag.Int("t", 0, "stop after this many seconds (0: no limit)")
	seed := flag.Int64("seed", time.Now().UnixNano(), "random seed")
	outDir := flag.String("out", "tests/fuzz/regressions/tarsum-diff", "where disagreements go")
	replay := flag.Bool("replay", false, "run the seed files only")
	flag.Parse()
	b := startBatch(*batchPath)
	seeds := readSeeds(flag.Args())

	if *replay {
		bad := 0
		for i, s := range seeds {
			if ok, _ := agree(b, s); !ok {
				fmt.Fprintf(os.Stderr, "disagreement on %s\n", flag.Arg(i))
				bad++
			}
		}
		fmt.Printf("%d inputs replayed, %d disagreements\n", len(seeds), bad)
		if bad > 0 {
			os.Exit(1)
		}
		return
	}

	g := &gen{r: rand.New(rand.NewSource(*seed)), seeds: seeds}
	deadline := time.Now().Add(time.Duration(*seconds) * time.Second)
	var ran, skipped, nondet, bad int64
	start := time.Now()
	for ran < *cases && (*seconds == 0 || time.Now().Before(deadline)) {
		data := g.input()
		if logicalSize(data) > maxLogical {
			skipped++
			continue
		}
		ok, nd := agree(b, data)
		ran++
		if nd {
			nondet++
		}
		if !ok {
			bad++
			fmt.Fprintf(os.Stderr, "kept %s\n", save(*outDir, data))
		}
		if ran%100000 == 0 {
			fmt.Fprintf(os.Stderr, "%d cases, %d disagreements, %.0f/s\n",
				ran, bad, float64(ran)/time.Since(start).Seconds())
		}
	}
	fmt.Printf("seed %d: %d cases, %d disagreements, %d on Go's random map order, %d skipped (over %d MiB), %.0fs\n",
		*seed, ran, bad, nondet, skipped, maxLogical>>20, time.Since(start).Seconds())
	if bad > 0 {
		os.Exit(1)
	}
}
