package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"kirim/memory"
	"kirim/provider"
	"kirim/provider/sandbox"
)

const (
	// dispatchWarm is how long a dispatch phase lets the dispatchers reach their pace
	// before it measures.
	dispatchWarm = time.Second
	// startSlack bounds how long a child dispatches before the bench sees it started.
	startSlack = 2 * time.Second
	// backlogMargin is the share of backlog queued above what the phases drain.
	backlogMargin = 1.05
	// rssEvery is how often the RSS of the child is read while a phase runs.
	rssEvery = 100 * time.Millisecond
	// The goals, for a 2-core machine with config.example.toml's defaults.
	goalAccepts      = 20000 // per second, with 64 clients
	goalAcceptP99    = 15    // ms
	goalAcceptCPU    = 60    // us of Kirim CPU per accept
	goalRSS          = 128   // MB at every moment
	goalWebhooks     = 20000 // statuses per second
	goalOneNumber    = 990   // msg/s of one number at 1,000 msg/s
	goalFourNumbers  = 3950  // msg/s of four numbers at 1,000 msg/s
	goalDispatchCPU  = 150   // us per dispatched message, Kirim and sandbox
	goalSixteenRate  = 80    // msg/s of each of sixteen numbers
	goalSixteenSlack = 0.01  // each within 1% of it
	fastMPS          = 1000
)

// dispatchPlan is one dispatch phase: each number's rate, how long it is measured and
// the numbers measured (indexes into benchNumbers).
type dispatchPlan struct {
	name     string
	mps      []int
	d        time.Duration
	measured []int
}

// rates returns the rates of benchNumbers: the first n at fast, the others at rest.
func rates(n, fast, rest int) []int {
	out := make([]int, len(benchNumbers))
	for i := range out {
		out[i] = rest
		if i < n {
			out[i] = fast
		}
	}
	return out
}

// firstN returns the indexes 0 to n-1.
func firstN(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// holdRates holds every number to 1 msg/s, so accepted messages wait in the queue.
func holdRates() []int { return rates(0, 0, 1) }

// plans are the dispatch phases, in the order they run. Sixteen numbers at 80 msg/s go
// first: a number configured at Meta's standard 80 msg/s follows the level the provider
// last reported, and after a phase at 1,000 msg/s Kirim still knows it as HIGH until its
// first poll of the new child's sandbox.
func (b *bench) plans() []dispatchPlan {
	return []dispatchPlan{
		{name: "sixteen numbers", mps: rates(len(benchNumbers), goalSixteenRate, 1), d: b.window, measured: firstN(len(benchNumbers))},
		{name: "one number", mps: rates(1, fastMPS, 1), d: b.sustain, measured: firstN(1)},
		{name: "four numbers", mps: rates(4, fastMPS, 1), d: b.window, measured: firstN(4)},
	}
}

// backlogNeeds is how many messages each number needs waiting so that no phase of
// plans runs dry: each phase drains a number at its rate over the measured time, the
// warm-up and the child's start, and a margin is added.
func backlogNeeds(plans []dispatchPlan) []int {
	need := make([]int, len(benchNumbers))
	for _, p := range plans {
		span := (p.d + dispatchWarm + startSlack).Seconds()
		for i, r := range p.mps {
			need[i] += int(math.Ceil(float64(r) * span * backlogMargin))
		}
	}
	return need
}

// spread assigns n messages to numbers in proportion to weights, interleaved (smooth
// weighted round robin): over sum(weights) messages each number gets exactly its weight.
func spread(n int, weights []int) []uint8 {
	total := 0
	for _, w := range weights {
		total += max(w, 0)
	}
	out := make([]uint8, n)
	if total == 0 {
		for i := range out {
			out[i] = uint8(i % len(weights))
		}
		return out
	}
	cur := make([]int, len(weights))
	for i := range out {
		best := 0
		for j, w := range weights {
			cur[j] += max(w, 0)
			if cur[j] > cur[best] {
				best = j
			}
		}
		cur[best] -= total
		out[i] = uint8(best)
	}
	return out
}

// deficits is what each number lacks of need, given depth waiting, and their sum.
func deficits(need, depth []int) ([]int, int) {
	out := make([]int, len(need))
	total := 0
	for i := range need {
		if d := need[i] - depth[i]; d > 0 {
			out[i] = d
			total += d
		}
	}
	return out, total
}

type acceptResult struct {
	rate, p50, p99 float64
}

// accept posts n messages, message i from benchNumbers[from(i)], each to its own
// recipient with its own Idempotency-Key.
func (b *bench) accept(n int, from func(i int) int) (acceptResult, error) {
	first := b.next
	b.next += n
	rate, lats, err := b.run(b.apiAddr, n, 0, func(c *benchConn, i int) error {
		k := first + i
		body := fmt.Sprintf(`{"to":"+62812%08d","from":%q,"template":{"name":"hello_world","language":"en_US"}}`, k, benchNumbers[from(i)])
		// Each with its own Idempotency-Key, as a careful integration sends them: the
		// key is looked up, and stored with the answer, in the accept's commit.
		code, out, err := c.post("/v1/messages", []byte(body), "Authorization", "Bearer "+benchKey, "Idempotency-Key", "bench-"+strconv.Itoa(k))
		if err != nil {
			return err
		}
		if code != http.StatusAccepted {
			return fmt.Errorf("bench: accept answered %d: %s", code, out)
		}
		return nil
	})
	if err != nil {
		return acceptResult{}, err
	}
	return acceptResult{rate: rate, p50: percentile(lats, 0.5), p99: percentile(lats, 0.99)}, nil
}

// roundRobin spreads messages evenly over benchNumbers.
func roundRobin(i int) int { return i % len(benchNumbers) }

// holdPhase measures the accepts with every number held to 1 msg/s, the RSS during the
// burst and with the backlog waiting, and the webhook ingest; then it tops the backlog up
// to what the dispatch phases need.
func (b *bench) holdPhase(ctx context.Context, n, hooks int) error {
	need := backlogNeeds(b.plans())
	if err := b.writeConfig(holdRates()); err != nil {
		return err
	}
	child, err := b.startKirim(ctx)
	if err != nil {
		return err
	}
	defer child.stop()
	r := b.report
	b.progress("accepting %d messages with %d clients", n, b.clients)
	from := spread(n, need)
	watch := watchRSS(child.pid(), rssEvery, "burst")
	defer watch.end()
	cpu0, load0 := child.cpu(), procCPU(os.Getpid())
	acc, err := b.accept(n, func(i int) int { return int(from[i]) })
	if err != nil {
		return err
	}
	acceptCPU := usPer(child.cpu()-cpu0, n)
	loadCPU := usPer(procCPU(os.Getpid())-load0, n)
	written, err := b.written()
	if err != nil {
		return err
	}
	// The steady state with the backlog waiting comes once the burst's garbage is
	// collected and returned (memory.Trimmer does it once the server has been quiet for
	// a few seconds; Badger's compactions go on after the burst): every moment of it is
	// sampled.
	watch.next("settle")
	b.progress("waiting %s with the backlog queued", settle)
	time.Sleep(settle)
	settled, settledAnon := child.rssMB()
	peaks := watch.end()

	r.section("accepts", fmt.Sprintf("POST /v1/messages (auth, validation, idempotency, hold, synced), %d clients", b.clients))
	f := benchFigure{ID: "accepts_per_second", Label: "accepts", Value: math.Round(acc.rate), Unit: "/s", Goal: atLeast(goalAccepts)}
	if c := r.Ceilings; c != nil && c.GroupCommit > 0 && c.LoopbackHTTP > 0 {
		f.Ratios = map[string]float64{"group_commit": round2(acc.rate / c.GroupCommit), "loopback_http": round2(acc.rate / c.LoopbackHTTP)}
	}
	r.add(f)
	r.add(benchFigure{ID: "accept_p99_ms", Label: "latency p99", Value: round2(acc.p99), Unit: "ms", Digits: 1, Goal: below(goalAcceptP99),
		Note: fmt.Sprintf("p50 %.1f ms", acc.p50)})
	r.add(benchFigure{ID: "accept_cpu_us", Label: "kirim CPU per accept", Value: acceptCPU, Unit: "us", Goal: atMost(goalAcceptCPU),
		Note: fmt.Sprintf("%d cores / this = %.0f/s, the rate kirim alone could reach", r.Settings.CPUs, cpusOver(r.Settings.CPUs, acceptCPU))})
	r.add(benchFigure{ID: "loadgen_cpu_us", Label: "load generator CPU per accept", Value: loadCPU, Unit: "us",
		Note: "this process's clients, on the same cores"})
	per, parts := bytesPerMessage(written, n)
	r.add(benchFigure{ID: "accept_written_bytes", Label: "storage written per accept", Value: per, Unit: "B", Parts: parts, Note: topParts(parts, 5)})

	r.section("memory", fmt.Sprintf("RSS of kirim (VmRSS, read every %s)", rssEvery))
	r.add(benchFigure{ID: "rss_burst_mb", Label: fmt.Sprintf("RSS during the burst of %d accepts", n), Value: float64(peaks["burst"].total), Unit: "MB",
		Goal: below(goalRSS), Note: fmt.Sprintf("anonymous at most %d MB", peaks["burst"].anon)})
	r.add(benchFigure{ID: "rss_waiting_mb", Label: fmt.Sprintf("RSS with %d waiting, %s after the burst", n, settle), Value: float64(max(peaks["settle"].total, settled)), Unit: "MB",
		Goal: below(goalRSS), Note: fmt.Sprintf("the highest of the %s; %d MB at its end (anonymous %d MB)", settle, settled, settledAnon)})

	b.progress("posting %d signed webhooks", hooks)
	cpu0 = child.cpu()
	whRate, err := b.webhookPhase(ctx, hooks)
	if err != nil {
		return err
	}
	r.section("webhooks", "webhook ingest (signed, durable before 200)")
	r.add(benchFigure{ID: "webhook_statuses_per_second", Label: "webhook statuses", Value: math.Round(whRate), Unit: "/s", Goal: atLeast(goalWebhooks)})
	r.add(benchFigure{ID: "webhook_cpu_us", Label: "kirim CPU per webhook status (ingest, apply)", Value: usPer(child.cpu()-cpu0, hooks*50), Unit: "us", Digits: 1})

	// The dispatch phases must not run dry: what the numbers lack (the measured accepts
	// were fewer, or the held numbers sent some meanwhile) is accepted now.
	depth, err := b.queueDepths()
	if err != nil {
		return err
	}
	lack, more := deficits(need, depth)
	if more > 0 {
		b.progress("accepting %d more so no dispatch phase runs dry", more)
		extra := spread(more, lack)
		if _, err := b.accept(more, func(i int) int { return int(extra[i]) }); err != nil {
			return err
		}
		if depth, err = b.queueDepths(); err != nil {
			return err
		}
	}
	r.section("backlog", "backlog for the dispatch phases")
	waiting := benchFigure{ID: "backlog_messages", Label: "messages waiting, all numbers", Unit: "msgs", Parts: map[string]float64{},
		Note: fmt.Sprintf("%d accepted after the figures above", more)}
	for i, d := range depth {
		waiting.Value += float64(d)
		waiting.Parts[benchNumbers[i]] = float64(d)
	}
	r.add(waiting)
	return nil
}

// webhookPhase posts signed status batches and returns the statuses acknowledged per
// second.
func (b *bench) webhookPhase(_ context.Context, posts int) (float64, error) {
	const perPost = 50
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	rate, _, err := b.run(b.apiAddr, posts, 0, func(c *benchConn, i int) error {
		v := provider.MessagesValue{MessagingProduct: "whatsapp", Metadata: provider.Metadata{DisplayPhoneNumber: "15550000001", PhoneNumberID: numberID(0)}}
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

// dispatched is what one dispatch phase measured.
type dispatched struct {
	rate      float64   // messages per second, all numbers
	perNumber []float64 // messages per second, by number
	cpu       float64   // us of child CPU per message
	written   map[string]int64
	msgs      int
	throttled uint64 // refusals for throughput (130429) and limit errors, over the child's run
}

// dispatchPhases measures the dispatch rates: sixteen numbers at 80 msg/s each, one
// number at 1,000 msg/s sustained, four at 1,000 msg/s each.
func (b *bench) dispatchPhases(ctx context.Context) error {
	r := b.report
	r.section("dispatch", "dispatch through the sandbox (counted by the sandbox)")
	plans := b.plans()
	sixteen, err := b.dispatchPhase(ctx, plans[0])
	if err != nil {
		return err
	}
	lo, hi := extremes(sixteen.perNumber)
	top := round2(sixteen.perNumber[hi])
	r.add(benchFigure{ID: "dispatch_sixteen_per_number", Label: fmt.Sprintf("sixteen numbers at %d msg/s, each, over %s", goalSixteenRate, b.window),
		Value: round2(sixteen.perNumber[lo]), Max: &top, Unit: "msg/s", Digits: 2, Goal: within(goalSixteenRate, goalSixteenSlack),
		Parts: numberParts(sixteen.perNumber), Note: fmt.Sprintf("min %s, max %s; %.0f msg/s in all", benchNumbers[lo], benchNumbers[hi], sixteen.rate)})
	one, err := b.dispatchPhase(ctx, plans[1])
	if err != nil {
		return err
	}
	r.add(benchFigure{ID: "dispatch_one_per_second", Label: fmt.Sprintf("one number at %d msg/s, over %s", fastMPS, b.sustain), Value: round1(one.rate), Unit: "msg/s",
		Digits: 1, Goal: atLeast(goalOneNumber)})
	r.add(benchFigure{ID: "dispatch_one_throttled", Label: "one number: throttling errors (130429, limit)", Value: float64(one.throttled), Unit: "errors",
		Goal: exactly(0), Note: "over the child's whole run"})
	four, err := b.dispatchPhase(ctx, plans[2])
	if err != nil {
		return err
	}
	lo, hi = extremes(four.perNumber[:4])
	r.add(benchFigure{ID: "dispatch_four_per_second", Label: fmt.Sprintf("four numbers at %d msg/s each, over %s", fastMPS, b.window), Value: round1(four.rate), Unit: "msg/s",
		Digits: 1, Goal: atLeast(goalFourNumbers), Parts: numberParts(four.perNumber[:4]),
		Note: fmt.Sprintf("per number %.1f (%s) to %.1f (%s)", four.perNumber[lo], benchNumbers[lo], four.perNumber[hi], benchNumbers[hi])})
	r.add(benchFigure{ID: "dispatch_cpu_us", Label: "four numbers: CPU per message, kirim and sandbox", Value: four.cpu, Unit: "us", Goal: atMost(goalDispatchCPU),
		Note: "statuses included"})
	per, parts := bytesPerMessage(four.written, four.msgs)
	r.add(benchFigure{ID: "dispatch_written_bytes", Label: "four numbers: storage written per message", Value: per, Unit: "B", Parts: parts,
		Note: "statuses included; " + topParts(parts, 5)})
	return nil
}

// extremes returns the indexes of the lowest and the highest of v.
func extremes(v []float64) (lo, hi int) {
	for i := range v {
		if v[i] < v[lo] {
			lo = i
		}
		if v[i] > v[hi] {
			hi = i
		}
	}
	return lo, hi
}

func numberParts(rates []float64) map[string]float64 {
	out := make(map[string]float64, len(rates))
	for i, v := range rates {
		out[benchNumbers[i]] = round2(v)
	}
	return out
}

// dispatchPhase starts a child with p's rates and counts, at the sandbox, what it sends
// over p.d once its dispatchers reached their pace. A measured number that has too few
// waiting, or none left at the end, is an error: a phase that ran dry measures the
// backlog, not the dispatch.
func (b *bench) dispatchPhase(ctx context.Context, p dispatchPlan) (dispatched, error) {
	b.progress("dispatch: %s, measured over %s", p.name, p.d)
	if err := b.writeConfig(p.mps); err != nil {
		return dispatched{}, err
	}
	c, err := b.startKirim(ctx)
	if err != nil {
		return dispatched{}, err
	}
	defer c.stop()
	depth, err := b.queueDepths()
	if err != nil {
		return dispatched{}, err
	}
	for _, i := range p.measured {
		if want := int(math.Ceil(float64(p.mps[i]) * (p.d + dispatchWarm + time.Second).Seconds())); depth[i] < want {
			return dispatched{}, fmt.Errorf("bench: %s: %s has %d messages waiting and would run dry: it needs %d", p.name, benchNumbers[i], depth[i], want)
		}
	}
	time.Sleep(dispatchWarm)
	s0, err := b.sandboxStats()
	if err != nil {
		return dispatched{}, err
	}
	w0, err := b.written()
	if err != nil {
		return dispatched{}, err
	}
	t0, cpu0 := time.Now(), c.cpu()
	time.Sleep(p.d)
	s1, err := b.sandboxStats()
	if err != nil {
		return dispatched{}, err
	}
	el, cpu := time.Since(t0).Seconds(), c.cpu()-cpu0
	w1, err := b.written()
	if err != nil {
		return dispatched{}, err
	}
	if depth, err = b.queueDepths(); err != nil {
		return dispatched{}, err
	}
	for _, i := range p.measured {
		if depth[i] == 0 {
			return dispatched{}, fmt.Errorf("bench: %s: %s ran dry during the measurement", p.name, benchNumbers[i])
		}
	}
	out := dispatched{msgs: int(s1.Accepted - s0.Accepted), perNumber: make([]float64, len(benchNumbers)), written: w1,
		throttled: s1.LimitErrors + s1.RefusedByCode[provider.CodeThroughput]}
	if out.msgs == 0 {
		return dispatched{}, fmt.Errorf("bench: %s: nothing was dispatched", p.name)
	}
	out.rate = float64(out.msgs) / el
	out.cpu = usPer(cpu, out.msgs)
	for i := range benchNumbers {
		id := numberID(i)
		out.perNumber[i] = float64(s1.AcceptedByNumber[id]-s0.AcceptedByNumber[id]) / el
	}
	for k, v := range w0 {
		out.written[k] -= v
	}
	return out, nil
}

// sandboxStats reads the embedded sandbox's counters.
func (b *bench) sandboxStats() (*sandbox.Stats, error) {
	var s sandbox.Stats
	resp, err := http.Get("http://" + b.sbAddr + "/_sandbox/stats")
	if err != nil {
		return nil, fmt.Errorf("bench: sandbox stats: %w", err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return nil, fmt.Errorf("bench: sandbox stats: %w", err)
	}
	return &s, nil
}

// queueDepths reads each number's messages waiting from the child's /metrics.
func (b *bench) queueDepths() ([]int, error) {
	resp, err := http.Get("http://" + b.apiAddr + "/metrics")
	if err != nil {
		return nil, fmt.Errorf("bench: queue depths: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("bench: queue depths: /metrics answered %s", resp.Status)
	}
	return parseQueueDepths(resp.Body)
}

// parseQueueDepths reads kirim_queue_messages of each of benchNumbers from Prometheus's
// text format.
func parseQueueDepths(r io.Reader) ([]int, error) {
	const name = "kirim_queue_messages{number=\""
	got := map[string]int{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, name)
		if !ok {
			continue
		}
		alias, value, ok := strings.Cut(rest, "\"} ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return nil, fmt.Errorf("bench: queue depth of %s: %w", alias, err)
		}
		got[alias] = int(v)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("bench: queue depths: %w", err)
	}
	out := make([]int, len(benchNumbers))
	for i, alias := range benchNumbers {
		v, ok := got[alias]
		if !ok {
			return nil, fmt.Errorf("bench: queue depths: no kirim_queue_messages for %s", alias)
		}
		out[i] = v
	}
	return out, nil
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

// rssPeak is the highest RSS seen, in MB, and the highest anonymous part.
type rssPeak struct{ total, anon int }

// rssWatch reads a process's RSS every interval and keeps the highest of each stage.
type rssWatch struct {
	pid   int
	mu    sync.Mutex
	stage string
	peaks map[string]rssPeak
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once
}

func watchRSS(pid int, every time.Duration, stage string) *rssWatch {
	w := &rssWatch{pid: pid, stage: stage, peaks: map[string]rssPeak{}, stop: make(chan struct{}), done: make(chan struct{})}
	w.sample()
	go func() {
		defer close(w.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-t.C:
				w.sample()
			}
		}
	}()
	return w
}

func (w *rssWatch) sample() {
	total, anon := memory.RSSMB(w.pid)
	if total == 0 {
		return // the process is gone
	}
	w.mu.Lock()
	p := w.peaks[w.stage]
	w.peaks[w.stage] = rssPeak{max(p.total, total), max(p.anon, anon)}
	w.mu.Unlock()
}

// next reads once more to end the stage, and starts the next one.
func (w *rssWatch) next(stage string) {
	w.sample()
	w.mu.Lock()
	w.stage = stage
	w.mu.Unlock()
}

// end reads once more, stops and returns the peaks by stage. Later calls return them
// again.
func (w *rssWatch) end() map[string]rssPeak {
	w.once.Do(func() {
		w.sample()
		close(w.stop)
		<-w.done
	})
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]rssPeak, len(w.peaks))
	for k, v := range w.peaks {
		out[k] = v
	}
	return out
}

// usPer is d divided over n, in microseconds.
func usPer(d time.Duration, n int) float64 {
	if n <= 0 {
		return 0
	}
	return math.Round(float64(d.Nanoseconds())/float64(n)/100) / 10
}

// cpusOver is the operations per second cpus cores could do at us each.
func cpusOver(cpus int, us float64) float64 {
	if us <= 0 {
		return 0
	}
	return float64(cpus) * 1e6 / us
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }
func round2(v float64) float64 { return math.Round(v*100) / 100 }
