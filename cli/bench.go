package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"kirim/memory"
	"kirim/provider"
	"kirim/storage"
)

// cmdBench measures this machine: the ceilings (a bare loopback HTTP round trip, and
// Badger synced writes through the same group commit Kirim uses) and, beside them in
// the same run, Kirim's own figures, with Kirim running as a child `kirim serve` on
// loopback with the embedded sandbox as its provider. Users run it to size a VPS.
func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", "kirim bench [flags]", `Measures this machine: the ceilings (loopback HTTP, Badger group commit) and, in the same
run, Kirim's accepts, webhook ingest, dispatch rates and memory, with a child kirim serve on
loopback and the embedded sandbox as its provider.`)
	accepts := fs.Int("accepts", 100000, "messages accepted in the accept phase (they then wait in the queue)")
	clients := fs.Int("clients", 64, "concurrent HTTP clients")
	window := fs.Duration("window", 10*time.Second, "how long each dispatch rate is measured")
	hooks := fs.Int("webhooks", 2000, "signed status webhooks posted (50 statuses each)")
	keep := fs.Bool("keep", false, "keep the temporary data directory")
	memLimit := fs.Int("memory-limit-mb", -1, "server.memory_limit_mb of the measured kirim (GOMEMLIMIT and the page-out budget); 0 turns both off, -1 keeps the default derived from [storage], as config.example.toml does")
	small := fs.Bool("small", false, "measure the small-memory settings for a 1 GB VPS (config.example.toml), memory limit included")
	callbacks := fs.Int("callbacks", 20000, "events in the callback delivery phases (0 skips them)")
	pending := fs.Int("pending", 0, "also read RSS with this many events pending for a dead endpoint (0 skips it)")
	only := fs.String("only", "", "run one part only: \"callbacks\"")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef(fs, "bench: unexpected argument %q", fs.Arg(0))
	}
	b := &bench{out: stdout, clients: *clients, memLimit: *memLimit}
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
	fmt.Fprintf(stdout, "kirim bench: %d clients, data in %s\n\n", *clients, dir)
	switch *only {
	case "":
	case "callbacks":
		if err := b.printCallbacks(ctx, *callbacks); err != nil {
			return err
		}
		if *pending > 0 {
			return b.pendingPhase(ctx, *pending)
		}
		return nil
	default:
		return usagef(fs, "bench: --only %q: want callbacks", *only)
	}

	fmt.Fprintln(stdout, "ceilings (same run)")
	httpRate, err := b.bareHTTP(ctx, 3*time.Second)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "  bare loopback HTTP round trip     %10.0f req/s\n", httpRate)
	dbRate, err := b.groupCommit(ctx, 3*time.Second)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "  Badger synced writes, group commit %9.0f writes/s\n\n", dbRate)

	// Phase 1: four numbers held to 1 msg/s, so accepted messages wait in the queue.
	if err := b.writeConfig(1, 1); err != nil {
		return err
	}
	child, err := b.startKirim(ctx)
	if err != nil {
		return err
	}
	cpu0, loadCPU0 := child.cpu(), procCPU(os.Getpid())
	rate, p50, p99, ids, err := b.acceptPhase(ctx, *accepts)
	if err != nil {
		child.stop()
		return err
	}
	acceptCPU := (child.cpu() - cpu0) / time.Duration(len(ids))
	loadCPU := (procCPU(os.Getpid()) - loadCPU0) / time.Duration(len(ids))
	acceptWritten, err := b.written()
	if err != nil {
		child.stop()
		return err
	}
	fmt.Fprintf(stdout, "POST /v1/messages (auth, validation, idempotency, hold, synced)\n")
	fmt.Fprintf(stdout, "  accepts                           %10.0f /s   (%.2f of the group-commit ceiling) target >= 10000\n", rate, rate/dbRate)
	fmt.Fprintf(stdout, "  latency p50 / p99                 %7.1f ms / %.1f ms   target p99 < 20 ms\n", p50, p99)
	fmt.Fprintf(stdout, "  kirim CPU per accept              %7.0f us   (2 cores / this = the rate kirim alone could reach)\n", float64(acceptCPU.Microseconds()))
	fmt.Fprintf(stdout, "  load generator CPU per accept     %7.0f us   (this process's clients, on the same cores)\n", float64(loadCPU.Microseconds()))
	fmt.Fprintf(stdout, "  storage written per accept        %s\n", perMessage(acceptWritten, len(ids)))
	peak, peakAnon := child.rssMB()
	// The figure that matters is the steady state with the backlog waiting, after the
	// burst's garbage is collected and returned (memory.Trimmer does it once the server
	// has been quiet for a few seconds; Badger's compactions go on after the burst).
	time.Sleep(settle)
	rss, anon := child.rssMB()
	fmt.Fprintf(stdout, "  RSS of kirim with %d waiting      %7d MB   (anonymous %d MB, %s after the burst; right after it %d MB, anonymous %d MB) target < 150 MB\n\n", len(ids), rss, anon, settle, peak, peakAnon)

	cpu0 = child.cpu()
	whRate, err := b.webhookPhase(ctx, *hooks)
	if err != nil {
		child.stop()
		return err
	}
	whCPU := (child.cpu() - cpu0) / time.Duration(*hooks*50)
	fmt.Fprintf(stdout, "webhook ingest (signed, durable before 200)\n")
	fmt.Fprintf(stdout, "  statuses                          %10.0f /s   target >= 20000\n", whRate)
	fmt.Fprintf(stdout, "  kirim CPU per status (ingest and apply so far) %4.1f us\n\n", float64(whCPU.Nanoseconds())/1000)
	child.stop()

	// Phase 2: one number at 1,000 msg/s drains its backlog.
	if err := b.writeConfig(1000, 1); err != nil {
		return err
	}
	if child, err = b.startKirim(ctx); err != nil {
		return err
	}
	one, _, _, err := b.dispatchRate(ctx, *window, child)
	child.stop()
	if err != nil {
		return err
	}
	// Phase 3: four numbers at 1,000 msg/s each.
	if err := b.writeConfig(1000, 1000); err != nil {
		return err
	}
	if child, err = b.startKirim(ctx); err != nil {
		return err
	}
	four, fourCPU, fourWritten, err := b.dispatchRate(ctx, *window, child)
	child.stop()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "dispatch through the sandbox (counted by the sandbox)\n")
	fmt.Fprintf(stdout, "  one number at 1000 msg/s          %10.0f msg/s target >= 950\n", one)
	fmt.Fprintf(stdout, "  four numbers at 1000 msg/s each   %10.0f msg/s target >= 3000\n", four)
	fmt.Fprintf(stdout, "  CPU per message (kirim and the embedded sandbox, statuses included) %.0f us\n", float64(fourCPU.Microseconds()))
	fmt.Fprintf(stdout, "  storage written per message (statuses included) %s\n\n", fourWritten)
	if *callbacks > 0 {
		if err := b.printCallbacks(ctx, *callbacks); err != nil {
			return err
		}
	}
	if *pending > 0 {
		return b.pendingPhase(ctx, *pending)
	}
	return nil
}

type bench struct {
	out      io.Writer
	dir      string
	clients  int
	cfgPath  string
	apiAddr  string
	sbAddr   string
	runs     int
	memLimit int
	storage  map[string]string // [storage] settings; nil for the defaults
	extra    string            // TOML appended to the config (callback endpoints)
}

// settle is how long the bench waits after the accept burst before it reads the RSS of
// the backlog waiting: compactions run on for some seconds, and the trimmer then needs
// two quiet looks.
const settle = 30 * time.Second

// The settings config.example.toml and the README give for a 1 GB VPS running large
// campaigns: small memtables and tables, compressed, under a tight memory limit.
const SmallVPSMemoryLimitMB = 100

var SmallVPSStorage = map[string]string{"memtable_mb": "4", "table_mb": "0.25", "compression": "zstd", "block_cache_mb": "8"}

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

var benchNumbers = []string{"n1", "n2", "n3", "n4"}

func (b *bench) writeConfig(firstMPS, otherMPS int) error {
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
		mps := otherMPS
		if i == 0 {
			mps = firstMPS
		}
		fmt.Fprintf(&sb, "[[numbers]]\nalias = %q\nphone_number_id = \"10000000000000%d\"\nwaba_id = \"200000000000001\"\nthroughput_mps = %d\npair_gap = \"0s\"\n", alias, i+1, mps)
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

// rssMB reads the child's resident set (see rssMB).
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

func (b *bench) acceptPhase(_ context.Context, n int) (float64, float64, float64, []string, error) {
	ids := make([]string, n)
	rate, lats, err := b.run(b.apiAddr, n, 0, func(c *benchConn, i int) error {
		body := fmt.Sprintf(`{"to":"+62812%08d","from":%q,"template":{"name":"hello_world","language":"en_US"}}`, i, benchNumbers[i%len(benchNumbers)])
		// Each with its own Idempotency-Key, as a careful integration sends them: the
		// key is looked up, and stored with the answer, in the accept's commit.
		code, out, err := c.post("/v1/messages", []byte(body), "Authorization", "Bearer "+benchKey, "Idempotency-Key", "bench-"+strconv.Itoa(i))
		if err != nil {
			return err
		}
		if code != http.StatusAccepted {
			return fmt.Errorf("bench: accept answered %d: %s", code, out)
		}
		var v struct{ ID string }
		if err := json.Unmarshal(out, &v); err != nil {
			return err
		}
		ids[i] = v.ID
		return nil
	})
	if err != nil {
		return 0, 0, 0, nil, err
	}
	return rate, percentile(lats, 0.5), percentile(lats, 0.99), ids, nil
}

// webhookPhase posts signed status batches and returns the
// statuses acknowledged per second.
func (b *bench) webhookPhase(_ context.Context, posts int) (float64, error) {
	const perPost = 50
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	rate, _, err := b.run(b.apiAddr, posts, 0, func(c *benchConn, i int) error {
		v := provider.MessagesValue{MessagingProduct: "whatsapp", Metadata: provider.Metadata{DisplayPhoneNumber: "15550000001", PhoneNumberID: "100000000000001"}}
		for j := 0; j < perPost; j++ {
			// Statuses of messages this Kirim never sent: the ingest path (signature,
			// inbox, sync, apply lookup) is the same, and the queued backlog stays
			// queued for the dispatch phases.
			v.Statuses = append(v.Statuses, provider.Status{ID: fmt.Sprintf("wamid.bench%d_%d", i, j), Status: "sent", Timestamp: provider.FlexInt(0), RecipientID: "6281200000000",
				Pricing: &provider.Pricing{PricingModel: "PMP", Type: "regular", Category: "utility"}})
		}
		raw, _ := json.Marshal(v)
		body, _ := json.Marshal(provider.Notification{Object: provider.ObjectWhatsAppBusinessAccount, Entry: []provider.Entry{{ID: "200000000000001", Changes: []provider.Change{{Field: "messages", Value: raw}}}}})
		body = bytes.Replace(body, []byte(`"timestamp":"0"`), []byte(`"timestamp":"`+ts+`"`), -1)
		code, out, err := c.post("/webhook", body, provider.SignatureHeader, provider.Sign("bench-secret", body))
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return fmt.Errorf("bench: webhook answered %d: %s", code, out)
		}
		return nil
	})
	return rate * perPost, err
}

// dispatchRate samples the sandbox's accepted count over d; it also returns the child's
// CPU per dispatched message.
func (b *bench) dispatchRate(_ context.Context, d time.Duration, c *child) (float64, time.Duration, string, error) {
	read := func() (int, error) {
		resp, err := http.Get("http://" + b.sbAddr + "/_sandbox/stats")
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		var s struct {
			Accepted int `json:"accepted"`
		}
		err = json.NewDecoder(resp.Body).Decode(&s)
		return s.Accepted, err
	}
	// Let the dispatchers reach their pace before measuring.
	time.Sleep(time.Second)
	a0, err := read()
	if err != nil {
		return 0, 0, "", err
	}
	w0, err := b.written()
	if err != nil {
		return 0, 0, "", err
	}
	t0, cpu0 := time.Now(), c.cpu()
	time.Sleep(d)
	a1, err := read()
	if err != nil {
		return 0, 0, "", err
	}
	w1, err := b.written()
	if err != nil {
		return 0, 0, "", err
	}
	if a1 == a0 {
		return 0, 0, "", errors.New("bench: nothing was dispatched; is the queue empty?")
	}
	for p, n := range w0 {
		w1[p] -= n
	}
	return float64(a1-a0) / time.Since(t0).Seconds(), (c.cpu() - cpu0) / time.Duration(a1-a0), perMessage(w1, a1-a0), nil
}

// written reads the bytes the child has written to storage, by key prefix.
func (b *bench) written() (map[string]int64, error) {
	var v struct {
		Written map[string]int64 `json:"written_bytes"`
	}
	err := callServer(context.Background(), http.DefaultClient, http.MethodGet, "http://"+b.apiAddr+"/v1/admin/storage", benchOperatorKey, "", nil, http.StatusOK, &v)
	if err != nil {
		return nil, fmt.Errorf("bench: storage figures: %w", err)
	}
	return v.Written, nil
}

// perMessage formats bytes written per message: the total, then the five largest
// prefixes.
func perMessage(written map[string]int64, n int) string {
	if n == 0 {
		return "-"
	}
	var total int64
	prefixes := make([]string, 0, len(written))
	for p, v := range written {
		total += v
		prefixes = append(prefixes, p)
	}
	sort.Slice(prefixes, func(i, j int) bool { return written[prefixes[i]] > written[prefixes[j]] })
	var sb strings.Builder
	fmt.Fprintf(&sb, "%d B (", total/int64(n))
	for i, p := range prefixes[:min(5, len(prefixes))] {
		if i > 0 {
			sb.WriteString(", ")
		}
		fmt.Fprintf(&sb, "%s %d", p, written[p]/int64(n))
	}
	sb.WriteString(")")
	return sb.String()
}
