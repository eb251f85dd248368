package api

import (
	"sync"

	"kirim/template"
)

// TemplateCatalog finds the templates a send may use.
type TemplateCatalog interface {
	// Lookup returns the template name in language of the WABA, if known.
	Lookup(wabaID, name, language string) (*template.Template, bool)
}

// MemoryCatalog is a TemplateCatalog held in memory, filled from the provider's list.
type MemoryCatalog struct {
	mu sync.RWMutex
	m  map[[3]string]*template.Template
}

// NewMemoryCatalog returns an empty catalog.
func NewMemoryCatalog() *MemoryCatalog {
	return &MemoryCatalog{m: map[[3]string]*template.Template{}}
}

// Put adds or replaces the template of wabaID.
func (c *MemoryCatalog) Put(wabaID string, t *template.Template) {
	c.mu.Lock()
	c.m[[3]string{wabaID, t.Name, t.Language}] = t
	c.mu.Unlock()
}

func (c *MemoryCatalog) Lookup(wabaID, name, language string) (*template.Template, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	t, ok := c.m[[3]string{wabaID, name, language}]
	return t, ok
}
