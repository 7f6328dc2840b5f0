// gotarsum prints the tarsum of the tar on standard input, computed by
// Docker's own Go package (github.com/docker/docker/pkg/tarsum). The tests
// use it as the reference that di-tarsum must match byte for byte.
//
// Usage: gotarsum [-v v0|v1|dev] [-e EXTRA] < layer.tar
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/docker/docker/pkg/tarsum"
)

var versions = map[string]tarsum.Version{
	"v0":  tarsum.Version0,
	"v1":  tarsum.Version1,
	"dev": tarsum.VersionDev,
}

func main() {
	v := flag.String("v", "v1", "tarsum version: v0, v1 or dev")
	e := flag.String("e", "", "file whose contents are hashed as extra data")
	flag.Parse()
	if err := run(*v, *e); err != nil {
		fmt.Fprintln(os.Stderr, "gotarsum:", err)
		os.Exit(1)
	}
}

func run(v, extraFile string) error {
	version, ok := versions[v]
	if !ok {
		return fmt.Errorf("unknown version %q", v)
	}
	var extra []byte
	if extraFile != "" {
		var err error
		if extra, err = os.ReadFile(extraFile); err != nil {
			return err
		}
	}
	ts, err := tarsum.NewTarSum(os.Stdin, true, version)
	if err != nil {
		return err
	}
	if _, err := io.Copy(io.Discard, ts); err != nil {
		return err
	}
	fmt.Println(ts.Sum(extra))
	return nil
}
