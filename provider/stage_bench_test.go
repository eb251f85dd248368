package provider_test

import (
	"context"
	"log/slog"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"

	"kirim/internal/benchmeter"
	"kirim/provider/sandbox"
	"kirim/provider/sandbox/sandboxtest"
)

// BenchmarkStageClientSend measures the client's request for one template message, as
// the engine's workers make it: SendMessageJSON with a body already encoded, over
// keep-alive loopback HTTP to the sandbox in the same process, answer decoded. One op
// is one message; 64 goroutines send at once, as a number's 64 workers do. The figures
// hold both ends (client and the sandbox's handler); BenchmarkAccept in provider/sandbox
// has the sandbox's side alone.
func BenchmarkStageClientSend(b *testing.B) {
	sb := sandbox.New(sandbox.Options{ThroughputMPS: 1 << 30, PairGap: -1, PortfolioLimit: -1, Logger: slog.New(slog.DiscardHandler)})
	sb.Start()
	client := sandboxtest.Serve(b, sb)
	prefix := []byte(`{"messaging_product":"whatsapp","recipient_type":"individual","to":"+62812`)
	middle := []byte(`","type":"template","template":{"name":"hello_world","language":{"code":"en_US"}},"biz_opaque_callback_data":"msg_`)
	var next atomic.Int64
	b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
	meter := benchmeter.Start(b)
	b.RunParallel(func(pb *testing.PB) {
		body := make([]byte, 0, 256)
		for pb.Next() {
			n := strconv.FormatInt(10_000_000+next.Add(1), 10)
			body = append(append(append(append(body[:0], prefix...), n...), middle...), n...)
			body = append(body, `"}`...)
			resp, err := client.SendMessageJSON(context.Background(), body)
			if err != nil {
				b.Error(err)
				return
			}
			if len(resp.Messages) != 1 || resp.Messages[0].ID == "" {
				b.Errorf("answer without a message id: %+v", resp)
				return
			}
		}
	})
	meter.Stop(b.N, "op")
	if st := sb.Stats(); st.Accepted != uint64(b.N) {
		b.Fatalf("sandbox accepted %d of %d", st.Accepted, b.N)
	}
}
