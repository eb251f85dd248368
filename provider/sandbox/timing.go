package sandbox

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// stageDelay is how long after the previous status the status stage of message wamid
// comes: the stage's delay plus a share of its jitter. The share is a hash of the
// seed, the wamid and the stage, so it does not depend on which goroutine got there
// first and a seeded run repeats exactly.
func (s *Sandbox) stageDelay(stage uint8, wamid uint64) time.Duration {
	var d, j time.Duration
	switch stage {
	case stSent:
		d, j = s.opts.SentDelay, s.opts.SentJitter
	case stDelivered, stFailed:
		d, j = s.opts.DeliveredDelay, s.opts.DeliveredJitter
	case stRead:
		d, j = s.opts.ReadDelay, s.opts.ReadJitter
	}
	if j <= 0 {
		return d
	}
	h := mix64(uint64(s.opts.Seed) ^ wamid*0x9E3779B97F4A7C15 ^ uint64(stage)<<56)
	return d + time.Duration(h%(uint64(j)+1))
}

// mix64 is SplitMix64's finaliser: a cheap, well-spread hash of one word.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xBF58476D1CE4E5B9
	x ^= x >> 27
	x *= 0x94D049BB133111EB
	return x ^ x>>31
}

// delayFlag reads a status delay: "2s" (exactly) or "1s..5s" (uniform in the range).
type delayFlag struct{ min, jitter *time.Duration }

func (f delayFlag) String() string {
	if f.min == nil {
		return "0s"
	}
	if *f.jitter > 0 {
		return f.min.String() + ".." + (*f.min + *f.jitter).String()
	}
	return f.min.String()
}

func (f delayFlag) Set(v string) error {
	lo, hi, ranged := strings.Cut(v, "..")
	dlo, err := time.ParseDuration(strings.TrimSpace(lo))
	if err != nil || dlo < 0 {
		return fmt.Errorf("want a duration such as 2s, or a range such as 1s..5s")
	}
	dhi := dlo
	if ranged {
		if dhi, err = time.ParseDuration(strings.TrimSpace(hi)); err != nil || dhi < dlo {
			return fmt.Errorf("want a range MIN..MAX with MAX at least MIN, such as 1s..5s")
		}
	}
	*f.min, *f.jitter = dlo, dhi-dlo
	return nil
}

// codeRatesFlag reads error codes with the fraction each applies to:
// "131026=0.05,131049=0.01".
type codeRatesFlag struct{ m *map[int]float64 }

func (f codeRatesFlag) String() string {
	if f.m == nil || len(*f.m) == 0 {
		return ""
	}
	codes := make([]int, 0, len(*f.m))
	for c := range *f.m {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	parts := make([]string, len(codes))
	for i, c := range codes {
		parts[i] = strconv.Itoa(c) + "=" + strconv.FormatFloat((*f.m)[c], 'g', -1, 64)
	}
	return strings.Join(parts, ",")
}

func (f codeRatesFlag) Set(v string) error {
	out := map[int]float64{}
	sum := 0.0
	for _, part := range strings.Split(v, ",") {
		code, rate, ok := strings.Cut(strings.TrimSpace(part), "=")
		c, err := strconv.Atoi(code)
		if !ok || err != nil || c <= 0 {
			return fmt.Errorf("%q: want CODE=FRACTION, such as 131026=0.05", part)
		}
		r, err := strconv.ParseFloat(rate, 64)
		if err != nil || r < 0 || r > 1 || r != r {
			return fmt.Errorf("%q: the fraction must be between 0 and 1", part)
		}
		out[c] = r
		sum += r
	}
	if sum > 1 {
		return fmt.Errorf("the fractions add up to %g, more than 1", sum)
	}
	*f.m = out
	return nil
}
