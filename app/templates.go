package app

import (
	"context"
	"fmt"
	"time"

	"kirim/api"
	"kirim/provider"
	"kirim/template"
)

// templateListTimeout bounds one pull of a WABA's template list from the provider.
const templateListTimeout = 15 * time.Second

// setupTemplates opens the template store, which is also the catalog sends are checked
// against, and pulls each WABA's list from the provider so templates made elsewhere are
// known.
func (m *Main) setupTemplates(ctx context.Context) api.TemplateCatalog {
	store, err := template.OpenStore(m.DB, template.StoreOptions{Now: m.Clock.Now, Logger: m.Logger, OnEvent: m.templateEvent, OnEventTx: m.templateEventTx,
		ReplyTTL: m.Config.Engine.IdempotencyTTL.Duration})
	if err != nil {
		// Without the store every template send is refused as unknown and the template
		// endpoints answer 503; messages and the rest keep working.
		m.Logger.Error("kirim: cannot load templates", "err", err)
		return api.NewMemoryCatalog()
	}
	m.Catalog = store
	m.syncTemplates(ctx)
	return store
}

// templateProviders are the provider clients the template endpoints use, by number alias.
func (m *Main) templateProviders() map[string]api.TemplateProvider {
	out := make(map[string]api.TemplateProvider, len(m.Clients))
	for alias, c := range m.Clients {
		out[alias] = c
	}
	return out
}

// mediaSources fetch inbound media files from the provider, by number alias: each
// number's own client, with its token.
func (m *Main) mediaSources() map[string]api.MediaSource {
	out := make(map[string]api.MediaSource, len(m.Clients))
	for alias, c := range m.Clients {
		out[alias] = c
	}
	return out
}

// templateEvent records a template change; customer callbacks will hang off it.
func (m *Main) templateEvent(e template.Event) {
	m.Logger.Info("kirim: template", "event", e.Type, "waba", e.WABAID, "name", e.Name, "language", e.Language,
		"status", e.Status, "previous_status", e.PreviousStatus, "reason", e.Reason, "quality", e.Quality, "category", e.Category)
}

// syncTemplates pulls every WABA's template list from the provider into the store.
func (m *Main) syncTemplates(ctx context.Context) {
	seen := map[string]bool{}
	for _, n := range m.Config.Numbers {
		if seen[n.WABAID] {
			continue
		}
		seen[n.WABAID] = true
		m.syncWABA(ctx, n.WABAID)
	}
}

// syncWABA pulls one WABA's template list; failures are logged, as a later webhook or
// `kirim templates sync` tries again.
func (m *Main) syncWABA(ctx context.Context, waba string) {
	if m.Catalog == nil {
		return
	}
	var client *provider.Client
	for _, n := range m.Config.Numbers {
		if n.WABAID == waba && m.Clients[n.Alias] != nil {
			client = m.Clients[n.Alias]
			break
		}
	}
	if client == nil {
		m.Logger.Warn("kirim: template update for a WABA no configured number belongs to", "waba", waba)
		return
	}
	cctx, cancel := context.WithTimeout(ctx, templateListTimeout)
	defs, err := client.ListTemplates(cctx)
	cancel()
	if err != nil {
		m.Logger.Warn("kirim: cannot list templates; sends of unknown ones are refused until they are known", "waba", waba, "err", err)
		return
	}
	res, err := m.Catalog.Sync(ctx, waba, defs)
	if err != nil {
		m.Logger.Error("kirim: template sync", "waba", waba, "err", err)
		return
	}
	m.Logger.Info("kirim: templates synced", "waba", waba, "added", res.Added, "updated", res.Updated, "removed", res.Removed, "unchanged", res.Unchanged)
}

// applyOther handles webhook fields beyond messages: template status, quality and
// category updates go to the store (a template it does not know yet is learnt by a
// sync); other fields are logged.
func (m *Main) applyOther(ctx context.Context, entryID, field string, value any) error {
	if ok, err := m.applyTier(ctx, entryID, value); ok {
		return err
	}
	var known bool
	var err error
	switch v := value.(type) {
	case *provider.TemplateStatusUpdate:
		if m.Catalog == nil {
			return nil
		}
		known, err = m.Catalog.ApplyStatus(ctx, entryID, *v)
		// A deletion of a template Kirim never knew leaves nothing to learn.
		known = known || template.Status(v.Event) == template.StatusDeleted
	case *provider.TemplateQualityUpdate:
		if m.Catalog == nil {
			return nil
		}
		known, err = m.Catalog.ApplyQuality(ctx, entryID, *v)
	case *provider.TemplateCategoryUpdate:
		if m.Catalog == nil {
			return nil
		}
		known, err = m.Catalog.ApplyCategory(ctx, entryID, *v)
	case *provider.UnknownChange:
		m.Logger.Debug("kirim: skipped an unknown webhook field", "field", field)
		return nil
	default:
		m.Logger.Info("kirim: webhook", "field", field, "entry", entryID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("kirim: apply %s: %w", field, err)
	}
	if !known {
		m.syncWABA(ctx, entryID)
	}
	return nil
}
