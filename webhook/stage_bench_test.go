package webhook

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"kirim/internal/benchmeter"
	"kirim/provider"
)

// statusesPerBody is how many statuses one benchmark webhook carries, as the sandbox
// and `kirim bench` batch them.
const statusesPerBody = 50

// statusBodies returns n statuses (sent, then delivered, of n/2 messages, with
// pricing) in signed webhook bodies of statusesPerBody each, and their signatures.
func statusBodies(tb testing.TB, n int) (bodies [][]byte, sigs []string) {
	tb.Helper()
	pricing := &provider.Pricing{PricingModel: "PMP", Type: provider.PricingRegular, Category: "utility"}
	for first := 0; first < n; first += statusesPerBody {
		v := provider.MessagesValue{MessagingProduct: "whatsapp", Metadata: provider.Metadata{DisplayPhoneNumber: "15550000001", PhoneNumberID: testPhoneID}}
		for i := first; i < min(first+statusesPerBody, n); i++ {
			st := provider.DeliverySent
			if i%2 == 1 {
				st = provider.DeliveryDelivered
			}
			v.Statuses = append(v.Statuses, provider.Status{ID: fmt.Sprintf("wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABEYEj%08d", i/2), Status: st,
				Timestamp: provider.FlexInt(t0.Unix()), RecipientID: fmt.Sprintf("62812%08d", i/2),
				BizOpaqueCallbackData: fmt.Sprintf("msg_bench%08d", i/2), Pricing: pricing})
		}
		raw, err := json.Marshal(v)
		if err != nil {
			tb.Fatal(err)
		}
		body, err := json.Marshal(provider.Notification{Object: provider.ObjectWhatsAppBusinessAccount,
			Entry: []provider.Entry{{ID: "200000000000001", Changes: []provider.Change{{Field: provider.FieldMessages, Value: raw}}}}})
		if err != nil {
			tb.Fatal(err)
		}
		bodies = append(bodies, body)
		sigs = append(sigs, provider.Sign(testSecret, body))
	}
	return bodies, sigs
}

// BenchmarkStageWebhookIngest measures the receiver's side of a provider's status
// webhook: Notify with the signature check over the raw body, the dedupe key and the
// inbox write in a synced group commit, answered 200. One op is one status; each POST
// carries statusesPerBody of them, signed before the timer starts, and as many POSTs
// are in progress at once as the receiver reads bodies at once by default. Nothing is
// applied (the applier is not started): that is BenchmarkStageApply in engine.
func BenchmarkStageWebhookIngest(b *testing.B) {
	rc := newReceiver(b, openDB(b, b.TempDir()), Applier{})
	bodies, sigs := statusBodies(b, b.N)
	var next atomic.Int64
	var wg sync.WaitGroup
	meter := benchmeter.Start(b)
	for range DefaultMaxConcurrentBodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(bodies) {
					return
				}
				if w := post(rc, bodies[i], sigs[i]); w.Code != http.StatusOK {
					b.Errorf("webhook answered %d: %s", w.Code, w.Body.Bytes())
					return
				}
			}
		}()
	}
	wg.Wait()
	meter.Stop(b.N, "op")
	if got := inboxDepth(b, rc); got != len(bodies) {
		b.Fatalf("inbox holds %d bodies, want %d", got, len(bodies))
	}
}
