package events

import (
	"context"
	"encoding/json"
	"runtime"
	"testing"

	"kirim/clock"
	"kirim/internal/benchmeter"
	"kirim/storage"
)

// sentEventData is the shape of a message.sent event's data (a message as GET
// /v1/messages/{id} shows it, with its account).
const sentEventData = `{"id":"msg_01KJP4ZQ7S0000000000000000","status":"sent","status_history":[{"state":"queued","at":"2026-03-02T10:00:00.000Z"},` +
	`{"state":"dispatching","at":"2026-03-02T10:00:00.120Z"},{"state":"sent","at":"2026-03-02T10:00:00.380Z"}],` +
	`"to":"+6281234567890","from":"main","type":"template","template":{"name":"hello_world","language":"en_US"},"category":"utility",` +
	`"price":{"amount":"514","amount_micros":514000000,"currency":"IDR","display":"IDR 514"},` +
	`"charged":{"amount":"0","amount_micros":0,"currency":"IDR","display":"IDR 0"},` +
	`"wamid":"wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABEYEjdDRjNFQjBDNzE4RjM1N0Q2OAA=","attempts":1,` +
	`"created_at":"2026-03-02T10:00:00.000Z","updated_at":"2026-03-02T10:00:00.380Z","account_id":"acme"}`

// BenchmarkStageEventEmit measures recording a message event for an endpoint that is
// subscribed to it: Emit inside the caller's commit (routing, the event log record
// under the next sequence number, the endpoint's queue entry and counters), as the
// engine writes an event beside the message's change. One op is one event, each in its
// own commit from 64 goroutines, so the commits share syncs as the accepts' do.
// Delivery is not running: BenchmarkDelivery measures it.
func BenchmarkStageEventEmit(b *testing.B) {
	db := openDB(b, b.TempDir())
	b.Cleanup(func() { _ = db.Close() })
	o, err := New(Options{DB: db, Clock: clock.Real{}, AllowPrivate: true})
	if err != nil {
		b.Fatal(err)
	}
	c := newCounter(b, 0)
	if _, _, err := o.CreateEndpoint(context.Background(), "acme", EndpointSpec{URL: c.srv.URL, Events: []string{"message.*"}}); err != nil {
		b.Fatal(err)
	}
	data := json.RawMessage(sentEventData)
	b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
	st0 := db.Stats()
	meter := benchmeter.Start(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			err := db.Commit(context.Background(), func(tx storage.Txn) error {
				return o.Emit(tx, Event{Type: "message.sent", Account: "acme", Data: data})
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	meter.Stop(b.N, "op")
	st := db.Stats()
	b.ReportMetric(float64(st.Commits-st0.Commits)/float64(max(1, st.Syncs-st0.Syncs)), "commits/sync")
	var head uint64
	if err := db.View(func(r storage.Reader) error {
		cs, err := readCounters(r, o.Endpoints("acme")[0].ID)
		head = cs.head
		return err
	}); err != nil {
		b.Fatal(err)
	}
	if head != uint64(b.N) {
		b.Fatalf("the endpoint's queue has %d events, want %d", head, b.N)
	}
}
