package main

import (
	"context"
	"time"

	"kirim/api"
	"kirim/provider"
	"kirim/template"
)

// setupTemplates builds the catalog sends are checked against, loaded from the
// provider's list of each WABA's templates.
func (m *Main) setupTemplates(ctx context.Context) api.TemplateCatalog {
	m.Catalog = api.NewMemoryCatalog()
	m.syncTemplates(ctx)
	return m.Catalog
}

// syncTemplates loads each WABA's templates from the provider into the catalog.
func (m *Main) syncTemplates(ctx context.Context) {
	seen := map[string]bool{}
	for _, n := range m.Config.Numbers {
		if seen[n.WABAID] {
			continue
		}
		seen[n.WABAID] = true
		cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defs, err := m.Clients[n.Alias].ListTemplates(cctx)
		cancel()
		if err != nil {
			m.Logger.Warn("kirim: cannot list templates; sends will be refused until they are known", "waba", n.WABAID, "err", err)
			continue
		}
		for _, d := range defs {
			t, err := template.FromDefinition(d)
			if err != nil {
				m.Logger.Warn("kirim: skipped a template the provider listed", "name", d.Name, "err", err)
				continue
			}
			m.Catalog.Put(n.WABAID, &t)
		}
	}
}

// applyOther handles webhook fields beyond messages: template status changes keep the
// catalog current.
func (m *Main) applyOther(_ context.Context, entryID, field string, value any) error {
	switch v := value.(type) {
	case *provider.TemplateStatusUpdate:
		if t, ok := m.Catalog.Lookup(entryID, v.MessageTemplateName, v.MessageTemplateLanguage); ok {
			c := *t
			c.Status = template.Status(v.Event)
			c.RejectedReason = v.Reason
			m.Catalog.Put(entryID, &c)
		} else {
			m.syncTemplates(context.Background())
		}
	case *provider.UnknownChange:
		m.Logger.Debug("kirim: skipped an unknown webhook field", "field", field)
	default:
		m.Logger.Info("kirim: webhook", "field", field, "entry", entryID)
	}
	return nil
}

