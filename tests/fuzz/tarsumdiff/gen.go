// The inputs: tars built block by block from random headers, or taken
// from the seeds, then mutated.
package main

import (
	"bytes"
	"fmt"
	"math/rand"
	"strconv"
	"strings"
)

type gen struct {
	r     *rand.Rand
	seeds [][]byte
}

func (g *gen) n(k int) int       { return g.r.Intn(k) }
func (g *gen) chance(k int) bool { return g.r.Intn(k) == 0 }

func (g *gen) pick(s []string) string { return s[g.n(len(s))] }

var numbers = []int64{0, 1, 7, 8, 0644, 0755, 01777, 04755, 0o7777777, 0o10000000,
	1 << 21, 1<<21 - 1, 1 << 33, 1<<33 - 1, 1 << 56, 1<<56 - 1, -1, -2, 1 << 62,
	-1 << 62, 1<<63 - 1, -1 << 63, 123456789, -62135596800, 253402300799, 65534, 65535, 1 << 31}

func (g *gen) number() int64 {
	switch g.n(4) {
	case 0:
		return numbers[g.n(len(numbers))]
	case 1:
		return int64(g.n(1 << 20))
	case 2:
		return g.r.Int63() >> uint(g.n(63))
	default:
		return int64(g.n(4096))
	}
}

var names = []string{"a", "b", "dir/", "dir/f", "./x", "/abs", "a/../b", "", "/", ".", "..",
	"trailing/", "é", "\xff\xfe", "sp ace", "x//y", "GNUSparseFile.0/s", "dup", "dup"}

func (g *gen) name() string {
	switch g.n(6) {
	case 0:
		return strings.Repeat("n", 90+g.n(30))
	case 1:
		return strings.Repeat("d/", 40+g.n(60)) + g.pick(names)
	case 2:
		return strings.Repeat("p", 1+g.n(200)) + "/" + strings.Repeat("q", 1+g.n(110))
	default:
		return g.pick(names)
	}
}

// octal writes x in w bytes of octal, terminated in one of several ways.
func (g *gen) putNumber(f []byte, x int64) {
	w := len(f)
	for i := range f {
		f[i] = 0
	}
	switch k := g.n(12); {
	case k == 0: // base-256
		v := uint64(x)
		for i := w - 1; i >= 0; i-- {
			f[i] = byte(v)
			v >>= 8
		}
		f[0] |= 0x80
	case k == 1: // octal without a terminator
		s := strconv.FormatInt(x, 8)
		copy(f, fmt.Sprintf("%0*s", w, s))
	case k == 2: // space terminated, leading spaces
		s := strconv.FormatInt(x, 8)
		copy(f, fmt.Sprintf("%*s ", w-1, s))
	case k == 3: // garbage
		copy(f, g.pick([]string{"8", "x", "-1", " 1 2", "+7", "1\x002", "\x00\x001"}))
	case k == 4: // empty
	default:
		if x < 0 || (w < 12 && x >= 1<<(3*(w-1))) || (w == 12 && x >= 1<<33) {
			v := uint64(x)
			for i := w - 1; i >= 0; i-- {
				f[i] = byte(v)
				v >>= 8
			}
			f[0] |= 0x80
			if x < 0 {
				f[0] |= 0x40
			}
			return
		}
		copy(f, fmt.Sprintf("%0*o", w-1, x))
	}
}

type header struct {
	name, link, uname, gname, prefix string
	mode, uid, gid, size, mtime      int64
	major, minor                     int64
	typ                              byte
	magic                            int // 0 v7, 1 ustar, 2 gnu, 3 star
}

func checksum(b []byte) {
	for i := 148; i < 156; i++ {
		b[i] = ' '
	}
	var s int64
	for _, c := range b {
		s += int64(c)
	}
	copy(b[148:], fmt.Sprintf("%06o\x00", s))
}

func (g *gen) block(h header) []byte {
	b := make([]byte, 512)
	copy(b[0:100], h.name)
	g.putNumber(b[100:108], h.mode)
	g.putNumber(b[108:116], h.uid)
	g.putNumber(b[116:124], h.gid)
	g.putNumber(b[124:136], h.size)
	g.putNumber(b[136:148], h.mtime)
	b[156] = h.typ
	copy(b[157:257], h.link)
	switch h.magic {
	case 1, 3:
		copy(b[257:], "ustar\x0000")
	case 2:
		copy(b[257:], "ustar  \x00")
	}
	if h.magic != 0 {
		copy(b[265:297], h.uname)
		copy(b[297:329], h.gname)
		g.putNumber(b[329:337], h.major)
		g.putNumber(b[337:345], h.minor)
		copy(b[345:500], h.prefix)
	}
	if h.magic == 3 {
		copy(b[508:], "tar\x00")
	}
	checksum(b)
	return b
}

func (g *gen) header(typ byte, size int64) header {
	h := header{name: g.name(), mode: 0644, uid: int64(g.n(3000)), gid: int64(g.n(3000)),
		size: size, mtime: 1600000000 + int64(g.n(1000)), typ: typ, magic: 1}
	h.magic = []int{0, 1, 1, 1, 2, 2, 3}[g.n(7)]
	if g.chance(3) {
		h.mode = g.number()
	}
	if g.chance(4) {
		h.uid = g.number()
	}
	if g.chance(6) {
		h.gid = g.number()
	}
	if g.chance(4) {
		h.mtime = g.number()
	}
	if g.chance(3) {
		h.major, h.minor = g.number(), g.number()
	}
	if g.chance(4) {
		h.link = g.name()
	}
	if g.chance(3) {
		h.uname, h.gname = g.pick([]string{"root", "", "é", strings.Repeat("u", 32)}), "wheel"
	}
	if g.chance(5) {
		h.prefix = g.pick([]string{"pre", "a/b", "é", strings.Repeat("p", 155)})
	}
	return h
}

func pad(b []byte) []byte {
	if r := len(b) % 512; r != 0 {
		b = append(b, make([]byte, 512-r)...)
	}
	return b
}

func (g *gen) data(n int64) []byte {
	d := make([]byte, n)
	if !g.chance(3) {
		g.r.Read(d)
	}
	return d
}

var timeValues = []string{"0", "1", "-1", "1.5", "-1.5", "1.", ".5", "", "5\x00junk", "\x00",
	"1.0000000001", "1.999999999", "-0.5", "-9223372036854775808", "-9223372036854775808.5",
	"9223372036854775807", "9223372036854775807.9", "8589934592", "8589934591.5",
	"-62135596800", "-62135596800.5", "-62135596801.3", "-99999999999.7", "1.2.3", "+5", "1e3", " 1"}

var numValues = []string{"0", "1", "-1", "+5", "", "\x00", "5\x00", "2097152", "2097151",
	"8589934592", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
	"0x10", " 1", "1 ", "00000000000000000000000001"}

func (g *gen) record() (string, string) {
	switch g.n(18) {
	case 0:
		return "path", g.name()
	case 1:
		return "linkpath", g.name()
	case 2, 3:
		return g.pick([]string{"uid", "gid", "size"}), g.pick(numValues)
	case 4, 5:
		return g.pick([]string{"mtime", "atime", "ctime"}), g.pick(timeValues)
	case 6:
		return g.pick([]string{"uname", "gname"}), g.pick([]string{"", "root", strings.Repeat("g", 40), "é"})
	case 7, 8:
		return "SCHILY.xattr." + g.pick([]string{"", "user.a", "user.b", "security.capability", "a\xff"}),
			g.pick([]string{"", "v", "\x00\x01", strings.Repeat("x", 300)})
	case 9:
		return g.pick([]string{"GNU.sparse.major", "GNU.sparse.minor"}), g.pick([]string{"0", "1", "2", "", "0\x00"})
	case 10:
		return g.pick([]string{"GNU.sparse.name", "GNU.sparse.size", "GNU.sparse.realsize", "GNU.sparse.numblocks"}),
			g.pick([]string{"s", "", "10", "-1", "1024", "x\x00y", "0"})
	case 11:
		return g.pick([]string{"GNU.sparse.offset", "GNU.sparse.numbytes", "GNU.sparse.map"}),
			g.pick([]string{"0", "5", "0,5", "", "1,2,3", "-1"})
	case 12:
		return g.pick([]string{"comment", "charset", "LIBARCHIVE.x", "k"}), g.pick([]string{"", "v", "\x00"})
	case 13:
		return "path", strings.Repeat("P", 1000*(1+g.n(300)))
	default:
		return g.pick([]string{"path", "uid", "mtime", "SCHILY.xattr.user.x", "GNU.sparse.map", "size"}),
			g.pick(append(numValues, timeValues...))
	}
}

func paxRecord(k, v string, wrongLen int) string {
	size := len(k) + len(v) + 3
	size += len(strconv.Itoa(size))
	rec := strconv.Itoa(size) + " " + k + "=" + v + "\n"
	if len(rec) != size {
		size = len(rec)
		rec = strconv.Itoa(size) + " " + k + "=" + v + "\n"
	}
	if wrongLen != 0 {
		rec = strconv.Itoa(size+wrongLen) + " " + k + "=" + v + "\n"
	}
	return rec
}

func (g *gen) paxData(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		k, v := g.record()
		wrong := 0
		if g.chance(40) {
			wrong = g.n(5) - 2
		}
		b.WriteString(paxRecord(k, v, wrong))
	}
	if g.chance(30) {
		b.WriteString(g.pick([]string{"junk", "5 a\n", "0 \n", "06 a=\n"}))
	}
	return b.String()
}

func (g *gen) special(typ byte, data string) []byte {
	h := g.header(typ, int64(len(data)))
	h.name = g.pick([]string{"PaxHeaders.0/x", "././@LongLink", "", "GlobalHead.0.0"})
	h.mode = 0644
	if g.chance(2) {
		h.magic = 1
	}
	out := g.block(h)
	return append(out, pad([]byte(data))...)
}

// sparseMap makes fragments inside size, sometimes wrong.
func (g *gen) sparseMap(size int64) [][2]int64 {
	var m [][2]int64
	pos := int64(0)
	for i := g.n(6); i > 0 && pos < size; i-- {
		off := pos + int64(g.n(int(size-pos)+1))
		l := int64(g.n(int(size-off) + 1))
		m = append(m, [2]int64{off, l})
		pos = off + l
	}
	if g.chance(8) && len(m) > 0 {
		m[g.n(len(m))][g.n(2)] = g.number()
	}
	if g.chance(10) && len(m) > 1 {
		m[0], m[1] = m[1], m[0]
	}
	return m
}

func physical(m [][2]int64) int64 {
	var n int64
	for _, f := range m {
		if f[1] > 0 && f[1] < 1<<20 {
			n += f[1]
		}
	}
	return n
}

func (g *gen) gnuSparse() []byte {
	size := int64(g.n(6000))
	m := g.sparseMap(size)
	phys := physical(m)
	if g.chance(10) {
		phys += int64(g.n(3)) - 1
	}
	h := g.header('S', phys)
	h.magic = 2
	if g.chance(10) {
		h.magic = 1
	}
	h.prefix = ""
	b := g.block(h)
	ext := len(m) > 4 || g.chance(8)
	for i := 0; i < 4 && i < len(m); i++ {
		g.putNumber(b[386+24*i:398+24*i], m[i][0])
		g.putNumber(b[398+24*i:410+24*i], m[i][1])
	}
	if ext {
		b[482] = 1
	}
	g.putNumber(b[483:495], size)
	checksum(b)
	rest := m
	if len(rest) > 4 {
		rest = rest[4:]
	} else {
		rest = nil
	}
	for ext {
		e := make([]byte, 512)
		for i := 0; i < 21 && len(rest) > 0; i++ {
			g.putNumber(e[24*i:24*i+12], rest[0][0])
			g.putNumber(e[24*i+12:24*i+24], rest[0][1])
			rest = rest[1:]
		}
		ext = len(rest) > 0 || g.chance(10)
		if ext {
			e[504] = 1
		}
		b = append(b, e...)
	}
	if phys > 0 && phys < 1<<20 {
		b = append(b, pad(g.data(phys))...)
	}
	return b
}

func (g *gen) paxSparse() []byte {
	size := int64(g.n(6000))
	m := g.sparseMap(size)
	ver := g.n(4)
	var recs []string
	var mapData []byte
	switch ver {
	case 0: // 0.0: offset and numbytes records
		recs = append(recs, paxRecord("GNU.sparse.numblocks", strconv.Itoa(len(m)), 0))
		for _, f := range m {
			recs = append(recs, paxRecord("GNU.sparse.offset", strconv.FormatInt(f[0], 10), 0),
				paxRecord("GNU.sparse.numbytes", strconv.FormatInt(f[1], 10), 0))
		}
		if g.chance(2) {
			recs = append(recs, paxRecord("GNU.sparse.major", "0", 0), paxRecord("GNU.sparse.minor", "0", 0))
		}
	case 1, 3: // 0.1: a map record
		var s []string
		for _, f := range m {
			s = append(s, strconv.FormatInt(f[0], 10), strconv.FormatInt(f[1], 10))
		}
		recs = append(recs, paxRecord("GNU.sparse.numblocks", strconv.Itoa(len(m)), 0),
			paxRecord("GNU.sparse.map", strings.Join(s, ","), 0))
		if ver == 1 {
			recs = append(recs, paxRecord("GNU.sparse.major", "0", 0), paxRecord("GNU.sparse.minor", "1", 0))
		}
	case 2: // 1.0: the map in the data
		recs = append(recs, paxRecord("GNU.sparse.major", "1", 0), paxRecord("GNU.sparse.minor", "0", 0))
		var s bytes.Buffer
		fmt.Fprintf(&s, "%d\n", len(m))
		for _, f := range m {
			fmt.Fprintf(&s, "%d\n%d\n", f[0], f[1])
		}
		mapData = pad(s.Bytes())
		if g.chance(10) {
			mapData = mapData[:len(mapData)-512]
		}
	}
	key := g.pick([]string{"GNU.sparse.size", "GNU.sparse.realsize"})
	recs = append(recs, paxRecord(key, strconv.FormatInt(size, 10), 0))
	if g.chance(2) {
		recs = append(recs, paxRecord("GNU.sparse.name", g.name(), 0))
	}
	for i := g.n(3); i > 0; i-- {
		k, v := g.record()
		recs = append(recs, paxRecord(k, v, 0))
	}
	g.r.Shuffle(len(recs), func(i, j int) {
		if g.chance(6) {
			recs[i], recs[j] = recs[j], recs[i]
		}
	})
	out := g.special('x', strings.Join(recs, ""))
	phys := physical(m)
	total := phys + int64(len(mapData))
	if g.chance(10) {
		total += int64(g.n(3)) - 1
	}
	h := g.header(g.pick([]string{"0", "0", "0", "7", "5", "\x00"})[0], total)
	h.name = "GNUSparseFile.0/" + g.pick(names)
	out = append(out, g.block(h)...)
	body := append(mapData, g.data(phys)...)
	if total >= 0 && total <= int64(len(body))+2 {
		for int64(len(body)) < total {
			body = append(body, 0)
		}
		out = append(out, pad(body[:total])...)
	}
	return out
}

func (g *gen) entry() []byte {
	var out []byte
	switch g.n(14) {
	case 0, 1:
		out = append(out, g.special('x', g.paxData(1+g.n(6)))...)
	case 2:
		out = append(out, g.special('g', g.paxData(1+g.n(4)))...)
		if g.chance(2) {
			return out
		}
	case 3:
		out = append(out, g.special(g.pick([]string{"L", "K"})[0], g.name()+g.pick([]string{"", "\x00", "\x00junk"}))...)
	case 4:
		return g.gnuSparse()
	case 5:
		return g.paxSparse()
	case 6: // Go's pre-1.8 GNU header: prefix text where atime and ctime go
		h := g.header('0', 0)
		h.magic = 2
		h.prefix = g.pick([]string{"prefix", "a/b/c", "12345670123", "é"})
		return g.block(h)
	}
	typ := g.pick([]string{"0", "0", "0", "\x00", "1", "2", "3", "4", "5", "6", "7", "A", "S", "x", "g", "L"})[0]
	size := int64(g.n(1500))
	if g.chance(10) {
		size = g.number()
	}
	h := g.header(typ, size)
	out = append(out, g.block(h)...)
	if typ < '1' || typ > '6' {
		if size > 0 && size < 1<<20 {
			out = append(out, pad(g.data(size))...)
		}
	}
	return out
}

func (g *gen) build() []byte {
	var out []byte
	for i := 1 + g.n(5); i > 0; i-- {
		out = append(out, g.entry()...)
	}
	switch g.n(6) {
	case 0:
	case 1:
		out = append(out, make([]byte, 512)...)
	default:
		out = append(out, make([]byte, 1024)...)
	}
	return out
}

// mutate changes a few bytes, mostly in headers, and fixes checksums.
func (g *gen) mutate(b []byte) []byte {
	b = append([]byte(nil), b...)
	for i := g.n(4); i > 0 && len(b) > 0; i-- {
		switch g.n(6) {
		case 0, 1: // a header field byte, checksum fixed
			blk := g.n((len(b)+511)/512) * 512
			if blk+512 <= len(b) {
				b[blk+g.n(512)] = byte(g.n(256))
				if !g.chance(5) {
					checksum(b[blk : blk+512])
				}
			}
		case 2: // a byte anywhere
			b[g.n(len(b))] = byte(g.n(256))
		case 3: // truncate, often near a block boundary
			cut := g.n(len(b) + 1)
			if g.chance(2) {
				cut = cut / 512 * 512
				cut += []int{0, 0, 1, -1, 100, 511}[g.n(6)]
			}
			if cut >= 0 && cut <= len(b) {
				b = b[:cut]
			}
		case 4: // trailing data
			b = append(b, g.data(int64(g.n(1100)))...)
		case 5: // typeflag
			blk := g.n((len(b)+511)/512) * 512
			if blk+512 <= len(b) {
				b[blk+156] = "0125xgLKS7\x00"[g.n(11)]
				checksum(b[blk : blk+512])
			}
		}
	}
	return b
}

func (g *gen) input() []byte {
	var b []byte
	if len(g.seeds) > 0 && g.chance(4) {
		b = g.seeds[g.n(len(g.seeds))]
	} else {
		b = g.build()
	}
	if g.chance(2) {
		b = g.mutate(b)
	}
	return b
}
