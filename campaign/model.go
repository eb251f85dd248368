package campaign

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"kirim/campaign/schedule"
	"kirim/engine"
	"kirim/storage"
)

// Campaign is a campaign's definition and standing.
type Campaign struct {
	ID       string      `json:"id"`
	Account  string      `json:"account"`
	Name     string      `json:"name"`
	Template TemplateRef `json:"template"`
	// Category is the template's category when the campaign was made (what it is
	// priced as).
	Category string   `json:"category"`
	From     string   `json:"from"`
	ListIDs  []string `json:"list_ids"`
	Filters  []Filter `json:"filters,omitempty"`
	// Header, Body and Buttons give the template's parameters per recipient: a
	// "{{column}}" is replaced by the recipient's value of that list column (name and
	// phone always exist), anything else is literal.
	Header   string         `json:"header,omitempty"`
	Body     []string       `json:"body,omitempty"`
	Buttons  []ButtonValue  `json:"buttons,omitempty"`
	Schedule *schedule.Spec `json:"schedule,omitempty"`

	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
	// Run is the current (or last) run; Runs counts them.
	Run       uint64    `json:"run"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// TemplateRef names a template.
type TemplateRef struct {
	Name     string `json:"name"`
	Language string `json:"language"`
}

// ButtonValue is the parameter of a button that takes one (a URL suffix).
type ButtonValue struct {
	Index int    `json:"index"`
	Text  string `json:"text"`
}

// Filter keeps the recipients whose column matches. Ops: eq, ne (case-insensitive),
// contains, prefix, empty, not_empty.
type Filter struct {
	Column string `json:"column"`
	Op     string `json:"op"`
	Value  string `json:"value,omitempty"`
}

// Run is one sending of a campaign to its audience.
type Run struct {
	Campaign string    `json:"campaign"`
	Seq      uint64    `json:"seq"`
	At       time.Time `json:"at"`      // the scheduled instant, or the launch time
	Trigger  string    `json:"trigger"` // launch, schedule
	State    string    `json:"state"`   // running, paused, completed, cancelled
	Reason   string    `json:"reason,omitempty"`
	// Resolved is set once every row is written; Total counts them.
	Resolved bool             `json:"resolved"`
	Total    int64            `json:"total"`
	Skipped  map[string]int64 `json:"skipped,omitempty"`
	// Cursor is the last phone handed to the engine in the first pass over the rows;
	// rows given back (a pause, a retry) wait in the requeue index.
	Cursor    string `json:"cursor,omitempty"`
	Exhausted bool   `json:"exhausted,omitempty"` // the first pass reached the last row
	Requeued  int64  `json:"requeued,omitempty"`
	// FailBase and SettledBase are the failed and settled counts when the run last
	// resumed: the failure-rate auto-pause looks at what happened since. A failure Kirim
	// decided itself (a message left unconfirmed by a crash) is added to both, since it
	// says nothing of the audience or the template.
	FailBase    int64 `json:"fail_base,omitempty"`
	SettledBase int64 `json:"settled_base,omitempty"`
	// Counts are rows by status: pending (not in the engine) or the message's state.
	// Counts and Spend are stored apart from the rest (see countsKey).
	Counts map[string]int64 `json:"-"`
	// Money, in micro-units of Currency.
	Quoted    int64  `json:"quoted"`
	Reserved  int64  `json:"reserved"`
	Spend     int64  `json:"-"`
	Currency  string `json:"currency,omitempty"`
	ReserveID string `json:"reserve_id,omitempty"`

	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
}

// Row statuses beyond the engine's message states.
const (
	RowPending = "pending" // not handed to the engine (yet, or again)
)

// inEngine reports whether a row's message is in the engine and not settled.
func inEngine(status string) bool {
	switch engine.State(status) {
	case engine.Queued, engine.Waiting, engine.Dispatching, engine.Unknown:
		return true
	}
	return false
}

// unclaimed reports whether a row's message may still be taken back (cancelled).
func unclaimed(status string) bool {
	return status == string(engine.Queued) || status == string(engine.Waiting)
}

// Row is one recipient of one run. The phone is its key.
type Row struct {
	Phone     string               `json:"-"`
	Name      string               `json:"n,omitempty"`
	Header    string               `json:"h,omitempty"`
	Params    []string             `json:"p,omitempty"`
	Buttons   []string             `json:"b,omitempty"`
	Status    string               `json:"s"`
	MessageID string               `json:"m,omitempty"`
	Error     *engine.MessageError `json:"e,omitempty"`
	Charged   int64                `json:"c,omitempty"`
	// Fed counts the messages made for the row (more than one after a pause or retry).
	Fed int `json:"f,omitempty"`
}

// Keys. Every key is under the campaign prefixes of storage/keys.go.
const (
	keyCampaignPrefix = storage.PrefixCampaign + "c"
	keyRunPrefix      = storage.PrefixCampaign + "r"
	keyRunAtPrefix    = storage.PrefixCampaign + "t"
	keyRowPrefix      = storage.PrefixCampaignRecipient + "r"
	keyRequeuePrefix  = storage.PrefixCampaignRecipient + "q"
	keyUnclaimed      = storage.PrefixCampaignRecipient + "e"
	keyRunCounts      = storage.PrefixCampaign + "k"
)

// countsKey holds a run's counts and spend. Every change of every message of the run
// moves them, so they are a few bytes under a key of their own: rewriting the run's
// whole record at each change wrote about 600 bytes per status, which for a
// 100,000-recipient run was most of what Badger had to flush and compact.
func countsKey(id string, seq uint64) []byte {
	return storage.Key(keyRunCounts, storage.Str(id), storage.U64(seq))
}

// countNames are the statuses a row can have, in their order in the counts record.
var countNames = []string{
	RowPending, string(engine.Queued), string(engine.Waiting), string(engine.Dispatching),
	string(engine.Unknown), string(engine.Held), string(engine.Sent), string(engine.Delivered),
	string(engine.Read), string(engine.Failed), string(engine.Cancelled),
}

// encodeCounts writes spend and then each of countNames' counts as varints.
func encodeCounts(counts map[string]int64, spend int64) ([]byte, error) {
	for name := range counts {
		if !slices.Contains(countNames, name) {
			return nil, fmt.Errorf("campaign: no count for status %q", name)
		}
	}
	b := binary.AppendVarint(make([]byte, 0, 2*len(countNames)+8), spend)
	for _, name := range countNames {
		b = binary.AppendVarint(b, counts[name])
	}
	return b, nil
}

func decodeCounts(b []byte) (map[string]int64, int64, error) {
	spend, n := binary.Varint(b)
	if n <= 0 {
		return nil, 0, errors.New("campaign: bad counts record")
	}
	b = b[n:]
	counts := make(map[string]int64, 4)
	for _, name := range countNames {
		v, n := binary.Varint(b)
		if n <= 0 {
			return nil, 0, errors.New("campaign: bad counts record")
		}
		b = b[n:]
		if v != 0 {
			counts[name] = v
		}
	}
	return counts, spend, nil
}

// loadCounts reads a run's counts and spend (none yet: zero).
func loadCounts(r storage.Reader, id string, seq uint64) (map[string]int64, int64, error) {
	b, err := r.Get(countsKey(id, seq))
	if errors.Is(err, storage.ErrNotFound) {
		return map[string]int64{}, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("campaign: load counts %s/%d: %w", id, seq, err)
	}
	return decodeCounts(b)
}

func putCounts(tx storage.Txn, id string, seq uint64, counts map[string]int64, spend int64) error {
	b, err := encodeCounts(counts, spend)
	if err != nil {
		return err
	}
	return tx.Set(countsKey(id, seq), b)
}

func campaignKey(id string) []byte { return storage.Key(keyCampaignPrefix, storage.Str(id)) }

func runKey(id string, seq uint64) []byte {
	return storage.Key(keyRunPrefix, storage.Str(id), storage.U64(seq))
}

func runAtKey(id string, at time.Time) []byte {
	return storage.Key(keyRunAtPrefix, storage.Str(id), storage.U64(uint64(at.UnixNano())))
}

// runRows is the prefix of a run's rows (or requeue or unclaimed entries with
// another base prefix); the phone follows.
func runRows(base, id string, seq uint64) []byte {
	return storage.Key(base, storage.Str(id), storage.U64(seq))
}

func rowKey(base, id string, seq uint64, phone string) []byte {
	return storage.Key(base, storage.Str(id), storage.U64(seq), []byte(phone))
}

func decodeCampaign(b []byte) (*Campaign, error) {
	var c Campaign
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("campaign: decode: %w", err)
	}
	return &c, nil
}

func loadCampaign(r storage.Reader, id string) (*Campaign, error) {
	b, err := r.Get(campaignKey(id))
	if err == storage.ErrNotFound {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("campaign: load %s: %w", id, err)
	}
	return decodeCampaign(b)
}

// loadOwned loads a campaign of account; another account's is not found.
func loadOwned(r storage.Reader, account, id string) (*Campaign, error) {
	c, err := loadCampaign(r, id)
	if err != nil {
		return nil, err
	}
	if c.Account != account {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return c, nil
}

// putCampaign writes c and, when its state changed, tells the OnState hook in the same
// transaction, so the campaign.state event commits with the change.
func (s *Service) putCampaign(tx storage.Txn, c *Campaign) error {
	if s.opts.OnState != nil {
		prev := ""
		old, err := tx.Get(campaignKey(c.ID))
		switch {
		case err == nil:
			var was struct {
				State string `json:"state"`
			}
			if err := json.Unmarshal(old, &was); err != nil {
				return err
			}
			prev = was.State
		case !errors.Is(err, storage.ErrNotFound):
			return err
		}
		if prev != c.State {
			if err := s.opts.OnState(tx, c, prev); err != nil {
				return fmt.Errorf("campaign %s: on state: %w", c.ID, err)
			}
		}
	}
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return tx.Set(campaignKey(c.ID), b)
}

func loadRun(r storage.Reader, id string, seq uint64) (*Run, error) {
	run, err := loadRunHead(r, id, seq)
	if err != nil {
		return nil, err
	}
	if run.Counts, run.Spend, err = loadCounts(r, id, seq); err != nil {
		return nil, err
	}
	return run, nil
}

// loadRunHead loads a run without its counts and spend (Counts empty).
func loadRunHead(r storage.Reader, id string, seq uint64) (*Run, error) {
	b, err := r.Get(runKey(id, seq))
	if err == storage.ErrNotFound {
		return nil, fmt.Errorf("%w: run %d of %s", ErrNotFound, seq, id)
	}
	if err != nil {
		return nil, fmt.Errorf("campaign: load run %s/%d: %w", id, seq, err)
	}
	var run Run
	if err := json.Unmarshal(b, &run); err != nil {
		return nil, fmt.Errorf("campaign: decode run %s/%d: %w", id, seq, err)
	}
	if run.Counts == nil {
		run.Counts = map[string]int64{}
	}
	return &run, nil
}

// putRun writes the run with its counts and spend.
func putRun(tx storage.Txn, run *Run) error {
	if err := putRunHead(tx, run); err != nil {
		return err
	}
	return putCounts(tx, run.Campaign, run.Seq, run.Counts, run.Spend)
}

// putRunHead writes the run but not its counts and spend.
func putRunHead(tx storage.Txn, run *Run) error {
	b, err := json.Marshal(run)
	if err != nil {
		return err
	}
	return tx.Set(runKey(run.Campaign, run.Seq), b)
}

func loadRow(r storage.Reader, key []byte, phone string) (*Row, error) {
	b, err := r.Get(key)
	if err != nil {
		return nil, err
	}
	return decodeRow(b, phone)
}

func decodeRow(b []byte, phone string) (*Row, error) {
	var row Row
	if err := json.Unmarshal(b, &row); err != nil {
		return nil, fmt.Errorf("campaign: decode row %s: %w", phone, err)
	}
	row.Phone = phone
	return &row, nil
}

func encodeRow(row *Row) []byte {
	b, _ := json.Marshal(row)
	return b
}

// move counts a row leaving status from for status to.
func (run *Run) move(from, to string) { moveCount(run.Counts, from, to) }

func moveCount(counts map[string]int64, from, to string) {
	if from == to {
		return
	}
	counts[from]--
	if counts[from] == 0 {
		delete(counts, from)
	}
	counts[to]++
}

// inFlight counts the run's rows whose message is in the engine and unsettled.
func (run *Run) inFlight() int64 {
	var n int64
	for st, c := range run.Counts {
		if inEngine(st) {
			n += c
		}
	}
	return n
}

// unclaimedCount counts rows whose message waits in the engine's queue.
func (run *Run) unclaimedCount() int64 {
	return run.Counts[string(engine.Queued)] + run.Counts[string(engine.Waiting)]
}
