package cli

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"kirim/memory"
	"kirim/storage"
)

// cmdBench measures this machine: the ceilings (a bare loopback HTTP round trip, and
// Badger synced writes through the same group commit Kirim uses) and, beside them in
// the same run, Kirim's own figures against their goals, with Kirim running as a child
// `kirim serve` on loopback with the embedded sandbox as its provider. Users run it to
// size a VPS; --json writes the same report as one JSON document, to track it over time.
func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", "kirim bench [flags]", `Measures this machine: the ceilings (loopback HTTP, Badger group commit) and, in the same
run, Kirim's accepts, webhook ingest, dispatch rates, memory and a campaign, each figure beside
its goal, with a child kirim serve on loopback and the embedded sandbox as its provider.`)
	accepts := fs.Int("accepts", 100000, "messages accepted in the accept phase (they then wait in the queue)")
	clients := fs.Int("clients", 64, "concurrent HTTP clients")
	sustain := fs.Duration("sustain", 60*time.Second, "how long one number's dispatch at 1,000 msg/s is measured")
	window := fs.Duration("window", 10*time.Second, "how long the other dispatch rates are measured")
	hooks := fs.Int("webhooks", 2000, "signed status webhooks posted (50 statuses each)")
	campaignN := fs.Int("campaign", 100000, "recipients of the campaign phase (0 skips it)")
	keep := fs.Bool("keep", false, "keep the temporary data directory")
	memLimit := fs.Int("memory-limit-mb", -1, "server.memory_limit_mb of the measured kirim (GOMEMLIMIT and the page-out budget); 0 turns both off, -1 keeps the default derived from [storage], as config.example.toml does")
	small := fs.Bool("small", false, "measure the small-memory settings for a 1 GB VPS (config.example.toml), memory limit included")
	callbacks := fs.Int("callbacks", 20000, "events in the callback delivery phases (0 skips them)")
	pending := fs.Int("pending", 0, "also read RSS with this many events pending for a dead endpoint (0 skips it)")
	only := fs.String("only", "", "run one part only: \"callbacks\"")
	asJSON := fs.Bool("json", false, "print the report as one JSON document instead of text")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef(fs, "bench: unexpected argument %q", fs.Arg(0))
	}
	if *only != "" && *only != "callbacks" {
		return usagef(fs, "bench: --only %q: want callbacks", *only)
	}
	if *accepts < 1 || *clients < 1 || *sustain <= 0 || *window <= 0 || *hooks < 1 || *campaignN < 0 || *callbacks < 0 || *pending < 0 {
		return usagef(fs, "bench: --accepts, --clients, --webhooks, --sustain and --window must be positive; --campaign, --callbacks and --pending not negative")
	}
	b := &bench{log: stderr, clients: *clients, memLimit: *memLimit, sustain: *sustain, window: *window}
	if *small {
		b.storage = SmallVPSStorage
		limitSet := false
		fs.Visit(func(f *flag.Flag) { limitSet = limitSet || f.Name == "memory-limit-mb" })
		if !limitSet {
			b.memLimit = SmallVPSMemoryLimitMB
		}
	}
	dir, err := os.MkdirTemp("", "kirim-bench-")
	if err != nil {
		return err
	}
	if !*keep {
		defer os.RemoveAll(dir)
	}
	b.dir = dir
	r := &benchReport{Settings: benchSettings{
		Started: time.Now().UTC().Format(time.RFC3339), CPUs: runtime.NumCPU(), Clients: *clients, Accepts: *accepts,
		Sustain: sustain.String(), Window: window.String(), Settle: settle.String(), Webhooks: *hooks, Campaign: *campaignN,
		Callbacks: *callbacks, Pending: *pending, Only: *only, Small: *small, MemoryLimitMB: b.memLimit, Storage: b.storage, DataDir: dir,
	}}
	b.report = r
	runErr := b.all(ctx, *accepts, *hooks, *campaignN, *callbacks, *pending, *only)
	if runErr != nil {
		r.Error = runErr.Error()
	}
	var err2 error
	if *asJSON {
		err2 = r.writeJSON(stdout)
	} else {
		err2 = r.writeText(stdout)
	}
	if runErr != nil {
		return runErr
	}
	return err2
}

// all runs the phases in order, each adding its figures to the report.
func (b *bench) all(ctx context.Context, accepts, hooks, campaignN, callbacks, pending int, only string) error {
	if only == "callbacks" {
		if err := b.callbacks(ctx, callbacks); err != nil {
			return err
		}
		return b.pendingPhase(ctx, pending)
	}
	if err := b.ceilings(ctx); err != nil {
		return err
	}
	if err := b.holdPhase(ctx, accepts, hooks); err != nil {
		return err
	}
	if err := b.dispatchPhases(ctx); err != nil {
		return err
	}
	if err := b.campaignPhase(ctx, campaignN); err != nil {
		return err
	}
	if err := b.callbacks(ctx, callbacks); err != nil {
		return err
	}
	return b.pendingPhase(ctx, pending)
}

// progress tells stderr what the bench is doing: the report comes at the end.
func (b *bench) progress(format string, args ...any) {
	fmt.Fprintf(b.log, "bench: "+format+"\n", args...)
}

func (b *bench) ceilings(ctx context.Context) error {
	b.progress("ceilings: loopback HTTP and Badger group commit, 3 s each")
	httpRate, err := b.bareHTTP(ctx, 3*time.Second)
	if err != nil {
		return err
	}
	dbRate, err := b.groupCommit(ctx, 3*time.Second)
	if err != nil {
		return err
	}
	b.report.Ceilings = &benchCeilings{LoopbackHTTP: math.Round(httpRate), GroupCommit: math.Round(dbRate)}
	return nil
}

type bench struct {
	log      io.Writer // progress
	report   *benchReport
	dir      string
	clients  int
	sustain  time.Duration
	window   time.Duration
	cfgPath  string
	apiAddr  string
	sbAddr   string
	runs     int
	memLimit int
	storage  map[string]string // [storage] settings; nil for the defaults
	extra    string            // TOML appended to the config (callback endpoints)
	next     int               // the index of the next accepted message: each has its own key
}

// settle is how long the bench waits after the accept burst before it reads the RSS of
// the backlog waiting: compactions run on for some seconds, and the trimmer then needs
// two quiet looks.
const settle = 30 * time.Second

// The settings config.example.toml and the README give for a 1 GB VPS running large
// campaigns: small memtables and tables, compressed, under a tight memory limit.
const SmallVPSMemoryLimitMB = -1 // derived from the settings: 83

var SmallVPSStorage = map[string]string{"memtable_mb": "4", "num_memtables": "2", "table_mb": "0.25", "compression": "none"}

// tomlValue writes v as a TOML number or boolean when it is one, else as a string.
func tomlValue(v string) string {
	if _, err := strconv.ParseFloat(v, 64); err == nil {
		return v
	}
	if _, err := strconv.ParseBool(v); err == nil {
		return v
	}
	return strconv.Quote(v)
}

const (
	benchKey         = "bench_key_0123456789abcdef"
	benchOperatorKey = "bench_operator_0123456789abcdef"
)

// benchNumbers are the numbers of every configuration the bench writes: a message
// waiting for one of them stays queued from one child to the next.
var benchNumbers = func() []string {
	out := make([]string, 16)
	for i := range out {
		out[i] = fmt.Sprintf("n%d", i+1)
	}
	return out
}()

// numberID is the phone_number_id of benchNumbers[i].
func numberID(i int) string { return fmt.Sprintf("1000000000000%02d", i+1) }

// writeConfig writes the child's configuration, each number held to its rate in mps
// (messages per second, one per number in benchNumbers).
func (b *bench) writeConfig(mps []int) error {
	if b.apiAddr == "" {
		b.apiAddr, b.sbAddr = loopbackAddr(), loopbackAddr()
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "[server]\nlisten = %q\ndata_dir = %q\nlog_level = \"warn\"\nshutdown_timeout = \"30s\"\n", b.apiAddr, filepath.Join(b.dir, "data"))
	if b.memLimit >= 0 {
		fmt.Fprintf(&sb, "memory_limit_mb = %d\n", b.memLimit)
	}
	fmt.Fprintf(&sb, "[provider]\nkind = \"sandbox\"\nportfolio_limit = -1\n[sandbox]\nlisten = %q\nreview_delay = \"0s\"\nstatus_delay = \"0s\"\n", b.sbAddr)
	sb.WriteString("[webhook]\napp_secret = \"bench-secret\"\nverify_token = \"bench\"\n[engine]\nworkers = 64\n")
	if len(b.storage) > 0 {
		sb.WriteString("[storage]\n")
		for _, k := range slices.Sorted(maps.Keys(b.storage)) {
			fmt.Fprintf(&sb, "%s = %s\n", k, tomlValue(b.storage[k]))
		}
	}
	for i, alias := range benchNumbers {
		fmt.Fprintf(&sb, "[[numbers]]\nalias = %q\nphone_number_id = %q\nwaba_id = \"200000000000001\"\nthroughput_mps = %d\npair_gap = \"0s\"\n", alias, numberID(i), mps[i])
	}
	// Every accept passes the ledger's hold, as in production: a funded account and a card.
	fmt.Fprintf(&sb, "[[accounts]]\nid = \"bench\"\nopening_balance = 1_000_000_000\n  [[accounts.keys]]\n  key = %q\n  scopes = [\"admin\"]\n[[operators]]\nname = \"bench\"\nkey = %q\n", benchKey, benchOperatorKey)
	sb.WriteString("[[rate_cards]]\neffective = 2025-01-01\ncurrency = \"IDR\"\n  [[rate_cards.prices]]\n  category = \"utility\"\n  up_to = [250_000]\n  amounts = [514, 510]\n")
	sb.WriteString(b.extra)
	b.cfgPath = filepath.Join(b.dir, "kirim.toml")
	return os.WriteFile(b.cfgPath, []byte(sb.String()), 0o600)
}

func loopbackAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "127.0.0.1:18080"
	}
	defer ln.Close()
	return ln.Addr().String()
}

type child struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once Wait returned: a bad config ends it at start
}

func (b *bench) startKirim(ctx context.Context) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe, "serve", "--config", b.cfgPath)
	if p := os.Getenv("KIRIM_BENCH_PROFILE"); p != "" {
		b.runs++
		cmd.Env = append(os.Environ(), fmt.Sprintf("KIRIM_CPUPROFILE=%s.%d", p, b.runs))
	}
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(c.exited)
	}()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + b.apiAddr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return c, nil
			}
		}
		select {
		case <-c.exited:
			return nil, fmt.Errorf("bench: kirim ended at start: %s", logs.String())
		default:
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-c.exited
			return nil, fmt.Errorf("bench: kirim did not start: %s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *child) stop() {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	<-c.exited
}

// cpu returns the child's user plus system CPU time so far, from /proc: per-operation
// CPU cost is a figure a shared, noisy machine does not distort the way rates are.
func (c *child) cpu() time.Duration { return procCPU(c.cmd.Process.Pid) }

// procCPU returns a process's user plus system CPU time so far, from /proc.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which is in parentheses and may hold spaces).
	rest := string(b[strings.LastIndexByte(string(b), ')')+2:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	const ticksPerSecond = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / ticksPerSecond
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// rssMB reads the child's resident set (see memory.RSSMB).
func (c *child) rssMB() (total, anon int) { return memory.RSSMB(c.cmd.Process.Pid) }

// run calls do from b.clients goroutines until n calls were made or d passed (n or d
// may be zero), and returns the calls per second and their latencies. Each goroutine
// has its own connection to addr (dialled at its first post, closed at the end), which
// do gets with the call's number.
func (b *bench) run(addr string, n int, d time.Duration, do func(c *benchConn, i int) error) (float64, []time.Duration, error) {
	var (
		next   atomic.Int64
		wg     sync.WaitGroup
		mu     sync.Mutex
		lats   []time.Duration
		firstE error
	)
	start := time.Now()
	end := start.Add(d)
	for range b.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &benchConn{addr: addr}
			defer c.close()
			local := make([]time.Duration, 0, 1024)
			for {
				i := int(next.Add(1)) - 1
				if (n > 0 && i >= n) || (d > 0 && time.Now().After(end)) {
					break
				}
				t0 := time.Now()
				if err := do(c, i); err != nil {
					mu.Lock()
					if firstE == nil {
						firstE = err
					}
					mu.Unlock()
					break
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			lats = append(lats, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	el := time.Since(start)
	return float64(len(lats)) / el.Seconds(), lats, firstE
}

func percentile(l []time.Duration, p float64) float64 {
	if len(l) == 0 {
		return 0
	}
	sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
	return float64(l[int(float64(len(l)-1)*p)].Microseconds()) / 1000
}

func (b *bench) bareHTTP(_ context.Context, d time.Duration) (float64, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	body := []byte(`{"to":"+6281234567890","template":{"name":"hello_world","language":"en_US"}}`)
	rate, _, err := b.run(ln.Addr().String(), 0, d, func(c *benchConn, _ int) error {
		_, _, err := c.post("/", body)
		return err
	})
	return rate, err
}

func (b *bench) groupCommit(ctx context.Context, d time.Duration) (float64, error) {
	db, err := storage.Open(storage.Options{Dir: filepath.Join(b.dir, "ceiling"), MemTableSize: 16 << 20})
	if err != nil {
		return 0, err
	}
	defer db.Close()
	val := bytes.Repeat([]byte("x"), 1024)
	rate, _, err := b.run("", 0, d, func(_ *benchConn, i int) error {
		return db.Commit(ctx, func(tx storage.Txn) error {
			return tx.Set(storage.Key(storage.PrefixMeta, []byte("bench/"), storage.U64(uint64(i))), val)
		})
	})
	return rate, err
}
