package events

import (
	"context"
	"slices"
)

// ReloadConfig replaces the configuration's endpoints, as a SIGHUP does: an endpoint
// whose entry changed takes its new URL, secret, filters and account at once (its
// queue and retries go on; its disabled state holds only while the URL stays), a new
// entry starts delivering, and one the configuration no longer names stops and loses
// its queue. It is all or nothing: an invalid entry changes nothing. It returns how
// many entries were added, changed or removed.
func (o *Outbox) ReloadConfig(ctx context.Context, cfg []ConfigEndpoint) (int, error) {
	recs := make([]endpointRec, len(cfg))
	now := o.clk.Now().UTC()
	for i, c := range cfg {
		rec, err := o.configRec(i, c, now)
		if err != nil {
			return 0, err
		}
		recs[i] = rec
	}
	o.mu.Lock()
	changed := 0
	for _, rec := range recs {
		e, ok := o.eps[rec.ID]
		if !ok {
			ne, err := newEndpoint(rec)
			if err != nil {
				o.mu.Unlock()
				return changed, err
			}
			o.eps[rec.ID] = ne
			o.startLoop(ne)
			changed++
			continue
		}
		old := e.cur.Load().endpointRec
		if old.URL == rec.URL {
			rec.Disabled, rec.DisabledReason = old.Disabled, old.DisabledReason
		}
		rec.CreatedAt = old.CreatedAt
		if old.URL == rec.URL && old.Secret == rec.Secret && old.Account == rec.Account && slices.Equal(old.Events, rec.Events) {
			continue
		}
		if err := e.set(rec); err != nil {
			o.mu.Unlock()
			return changed, err
		}
		changed++
	}
	type stopped struct {
		id   string
		stop context.CancelFunc
		done chan struct{}
	}
	var gone []stopped
	for id, e := range o.eps {
		if e.cur.Load().Source != SourceConfig || slices.ContainsFunc(recs, func(r endpointRec) bool { return r.ID == id }) {
			continue
		}
		delete(o.eps, id)
		gone = append(gone, stopped{id, e.stop, e.done})
	}
	o.publish()
	o.mu.Unlock()
	for _, g := range gone {
		if g.stop != nil {
			g.stop()
			<-g.done
		}
		if err := o.dropQueues(ctx, g.id); err != nil {
			return changed + len(gone), err
		}
	}
	return changed + len(gone), nil
}
