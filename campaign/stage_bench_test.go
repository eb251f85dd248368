package campaign

import (
	"testing"

	"kirim/engine"
	"kirim/internal/benchmeter"
	"kirim/storage"
)

// stageRecipients is the audience of each campaign BenchmarkStageCampaignLaunch
// launches.
const stageRecipients = 10_000

// BenchmarkStageCampaignLaunch measures a campaign's expansion: Launch (the quote over
// the audience and the reserve, in one commit with the run), then the feeder writing
// one row per recipient and handing the rows to the engine 256 to a commit, each a
// queued message with its hold, until every recipient of a 10,000-row imported list
// is queued. One op is one campaign; the per-recipient figures are ns/recipient,
// B/recipient and allocs/recipient. The engine is not started, so nothing is sent;
// the list is imported and the campaigns defined before the timer starts. The store is
// on disk.
func BenchmarkStageCampaignLaunch(b *testing.B) {
	db, err := storage.Open(storage.Options{Dir: b.TempDir(), GCInterval: -1, Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	e := newEnv(b, envOptions{db: db, idle: true, inFlight: stageRecipients, balance: 1_000_000_000 * idr})
	list := e.importCSV("stage", phones(0, stageRecipients)...)
	ids := make([]string, b.N)
	for i := range ids {
		ids[i] = e.create(CreateRequest{ListIDs: []string{list}}).ID
	}
	meter := benchmeter.Start(b)
	for _, id := range ids {
		if _, err := e.svc.Load().Launch(e.ctx, testAccount, id); err != nil {
			b.Fatal(err)
		}
		p := e.waitRun(id, "every recipient queued", func(_ *Campaign, r *Run) bool {
			return r.Resolved && r.Counts[RowPending] == 0
		})
		if q := p.Run.Counts[string(engine.Queued)]; p.Run.Total != stageRecipients || q != stageRecipients {
			b.Fatalf("run of %d recipients has %d queued, want %d", p.Run.Total, q, stageRecipients)
		}
	}
	meter.Stop(b.N*stageRecipients, "recipient")
}
