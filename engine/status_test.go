package engine

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"kirim/provider"
	"kirim/storage"
)

func regular(category string) *provider.Pricing {
	billable := true
	return &provider.Pricing{Billable: &billable, PricingModel: "PMP", Type: provider.PricingRegular, Category: category}
}

func free(typ, category string) *provider.Pricing {
	billable := false
	return &provider.Pricing{Billable: &billable, PricingModel: "PMP", Type: typ, Category: category}
}

// TestStatusesAndBilling sends one message, applies a sequence of statuses (each in its
// own ApplyStatuses call unless together), and checks the final state and the money.
func TestStatusesAndBilling(t *testing.T) {
	type step struct {
		status  string
		pricing *provider.Pricing
		errs    []provider.WebhookError
		// byWAMID names the message by wamid only, as a status without our callback data.
		byWAMID bool
	}
	undeliverable := []provider.WebhookError{{Code: 131026, Title: "Message undeliverable", Message: "Message undeliverable",
		ErrorData: &provider.ErrorData{Details: "Message Undeliverable."}}}
	tests := []struct {
		name     string
		steps    []step
		together bool
		want     State
		captures []string
		releases []string
		result   StatusResult
	}{
		{name: "delivered regular captures", steps: []step{{status: "delivered", pricing: regular("marketing")}},
			want: Delivered, captures: []string{"marketing"}, result: StatusResult{Applied: 1}},
		{name: "pricing on sent, none on delivered", steps: []step{{status: "sent", pricing: regular("utility")}, {status: "delivered"}},
			want: Delivered, captures: []string{"utility"}, result: StatusResult{Applied: 1, Duplicate: 1}},
		{name: "sent alone does not capture", steps: []step{{status: "sent", pricing: regular("marketing")}},
			want: Sent, result: StatusResult{Duplicate: 1}},
		{name: "delivered then read captures once", steps: []step{{status: "delivered", pricing: regular("marketing")}, {status: "read", pricing: regular("marketing")}},
			want: Read, captures: []string{"marketing"}, result: StatusResult{Applied: 2}},
		{name: "read, delivered, sent out of order", steps: []step{{status: "read"}, {status: "delivered", pricing: regular("marketing")}, {status: "sent", pricing: regular("marketing")}},
			want: Read, captures: []string{"marketing"}, result: StatusResult{Applied: 1, Duplicate: 2}},
		{name: "read, delivered, sent in one batch", together: true, steps: []step{{status: "read"}, {status: "delivered", pricing: regular("marketing")}, {status: "sent", pricing: regular("marketing")}},
			want: Read, captures: []string{"marketing"}, result: StatusResult{Applied: 1, Duplicate: 2}},
		{name: "duplicate delivered", steps: []step{{status: "delivered", pricing: regular("authentication")}, {status: "delivered", pricing: regular("authentication")}},
			want: Delivered, captures: []string{"authentication"}, result: StatusResult{Applied: 1, Duplicate: 1}},
		{name: "played is read", steps: []step{{status: "played", pricing: regular("marketing")}},
			want: Read, captures: []string{"marketing"}, result: StatusResult{Applied: 1}},
		{name: "failed releases", steps: []step{{status: "failed", errs: undeliverable}},
			want: Failed, releases: []string{"failed"}, result: StatusResult{Applied: 1}},
		{name: "failed twice releases once", steps: []step{{status: "failed", errs: undeliverable}, {status: "failed", errs: undeliverable}},
			want: Failed, releases: []string{"failed"}, result: StatusResult{Applied: 1, Duplicate: 1}},
		{name: "failed after delivered is ignored", steps: []step{{status: "delivered", pricing: regular("marketing")}, {status: "failed", errs: undeliverable}},
			want: Delivered, captures: []string{"marketing"}, result: StatusResult{Applied: 1, Duplicate: 1}},
		{name: "delivered after failed is ignored", steps: []step{{status: "failed", errs: undeliverable}, {status: "delivered", pricing: regular("marketing")}},
			want: Failed, releases: []string{"failed"}, result: StatusResult{Applied: 1, Duplicate: 1}},
		{name: "free customer service releases", steps: []step{{status: "sent", pricing: free(provider.PricingFreeCustomerService, "service")}, {status: "delivered"}, {status: "read"}},
			want: Read, releases: []string{"free_customer_service"}, result: StatusResult{Applied: 2, Duplicate: 1}},
		{name: "free entry point releases", steps: []step{{status: "delivered", pricing: free(provider.PricingFreeEntryPoint, "marketing")}},
			want: Delivered, releases: []string{"free_entry_point"}, result: StatusResult{Applied: 1}},
		{name: "by wamid only", steps: []step{{status: "delivered", pricing: regular("utility"), byWAMID: true}, {status: "read", byWAMID: true}},
			want: Read, captures: []string{"utility"}, result: StatusResult{Applied: 2}},
		{name: "status name not known", steps: []step{{status: "deleted"}},
			want: Sent, result: StatusResult{Duplicate: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil, nil, alwaysAccept, nil).start()
			m := e.submit("+6281234567890", nil)
			e.rec.waitState(t, m.ID, Sent, 1)
			var batch []StatusUpdate
			for i, s := range tt.steps {
				u := StatusUpdate{WAMID: wamidFor(m.ID), CallbackData: m.ID, Status: s.status, At: t0.Add(time.Duration(i+1) * time.Second),
					RecipientID: "6281234567890", Pricing: s.pricing, Errors: s.errs}
				if s.byWAMID {
					u.CallbackData = ""
				}
				batch = append(batch, u)
			}
			var total StatusResult
			add := func(batch []StatusUpdate) {
				res, err := e.eng.ApplyStatuses(context.Background(), batch)
				if err != nil {
					t.Fatal(err)
				}
				total.Applied += res.Applied
				total.Duplicate += res.Duplicate
				total.Orphan += res.Orphan
			}
			if tt.together {
				add(batch)
			} else {
				for _, u := range batch {
					add([]StatusUpdate{u})
				}
			}
			got := e.get(m.ID)
			if got.State != tt.want {
				t.Errorf("state %s, want %s (history %v)", got.State, tt.want, got.History)
			}
			if total != tt.result {
				t.Errorf("results %+v, want %+v", total, tt.result)
			}
			if c := e.biller.captured(m.ID); !slices.Equal(c, tt.captures) {
				t.Errorf("captures %v, want %v", c, tt.captures)
			}
			if r := e.biller.released(m.ID); !slices.Equal(r, tt.releases) {
				t.Errorf("releases %v, want %v", r, tt.releases)
			}
			if settled := len(tt.captures)+len(tt.releases) > 0; got.Settled != settled {
				t.Errorf("Settled = %v, want %v", got.Settled, settled)
			}
			if len(tt.captures) > 0 && got.Charged != 514_000_000 {
				t.Errorf("charged %d, want the captured amount", got.Charged)
			}
			if tt.want == Failed {
				want := MessageError{Code: 131026, Title: "Message undeliverable", Detail: "Message Undeliverable.", Class: "fatal"}
				if got.Error == nil || *got.Error != want {
					t.Errorf("error %+v, want %+v", got.Error, want)
				}
			}
			// States never go back in the history either.
			for i := 1; i < len(got.History); i++ {
				a, b := got.History[i-1].State, got.History[i].State
				if b != Failed && rank[b] < rank[a] && !(a == Dispatching && b == Queued) {
					t.Errorf("history moves back from %s to %s: %v", a, b, got.History)
				}
			}
		})
	}
}

func TestStatusOrphans(t *testing.T) {
	e := newEnv(t, nil, nil, alwaysAccept, nil)
	res, err := e.eng.ApplyStatuses(context.Background(), []StatusUpdate{
		{WAMID: "wamid.never-sent-by-kirim", Status: "delivered"},
		{CallbackData: "msg_00000000000000000000000000", Status: "delivered"},
		{CallbackData: "a customer's own data", Status: "read"},
		{Status: "sent"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res != (StatusResult{Orphan: 4}) {
		t.Errorf("result %+v, want 4 orphans", res)
	}
}

// TestStatusNotifiesOnce: several statuses of one message in one batch report it once,
// in its final state.
func TestStatusNotifiesOnce(t *testing.T) {
	e := newEnv(t, nil, nil, alwaysAccept, nil).start()
	m := e.submit("+6281234567890", nil)
	e.rec.waitState(t, m.ID, Sent, 1)
	before := e.rec.count(func(x Message) bool { return x.ID == m.ID })
	_, err := e.eng.ApplyStatuses(context.Background(), []StatusUpdate{
		{CallbackData: m.ID, Status: "delivered", Pricing: regular("marketing")},
		{CallbackData: m.ID, Status: "read"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := e.rec.count(func(x Message) bool { return x.ID == m.ID }) - before; n != 1 {
		t.Errorf("reported %d times, want once", n)
	}
	if last := e.rec.waitNth(t, m.ID, before+1); last.State != Read {
		t.Errorf("reported as %s, want read", last.State)
	}
}

// TestStatusBatchOutgrowingATransaction: a batch of statuses whose writes do not fit in
// one transaction of the smallest memtable is applied in parts, every status once.
func TestStatusBatchOutgrowingATransaction(t *testing.T) {
	db, err := storage.Open(storage.Options{InMemory: true, MemTableSize: storage.MinMemTableSize, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	e := newEnv(t, db, nil, alwaysAccept, nil)
	const n = 2500
	updates := make([]StatusUpdate, n)
	for i := range updates {
		m := e.submit(fmt.Sprintf("+62812%08d", i), nil)
		updates[i] = StatusUpdate{CallbackData: m.ID, WAMID: fmt.Sprintf("wamid.%d", i), Status: "sent"}
	}
	res, err := e.eng.ApplyStatuses(context.Background(), updates)
	if err != nil {
		t.Fatal(err)
	}
	if res != (StatusResult{Applied: n}) {
		t.Fatalf("result %+v, want %d applied", res, n)
	}
	for _, u := range []StatusUpdate{updates[0], updates[n-1]} {
		m, err := e.eng.Get(u.CallbackData)
		if err != nil || m.State != Sent || m.WAMID != u.WAMID {
			t.Fatalf("message %s: %+v, %v", u.CallbackData, m, err)
		}
	}
}
