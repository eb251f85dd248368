package campaign

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"kirim/campaign/lists"
	"kirim/campaign/schedule"
	"kirim/storage"
	"kirim/template"
)

// CreateRequest is a new campaign.
type CreateRequest struct {
	Account  string
	Name     string
	Template TemplateRef
	From     string
	ListIDs  []string
	Filters  []Filter
	Header   string
	Body     []string
	Buttons  []ButtonValue
	Schedule *schedule.Spec
}

// varPattern finds {{column}} references in a parameter value.
var varPattern = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)

// builtinColumns exist for every recipient whatever the list's columns.
var builtinColumns = []string{"name", "phone"}

var filterOps = []string{"eq", "ne", "contains", "prefix", "empty", "not_empty"}

// Create checks a campaign against its template and lists and stores it: a draft, or
// scheduled when it has a schedule. Every problem is found here, naming the field,
// rather than as a failure per recipient later.
func (s *Service) Create(ctx context.Context, req CreateRequest) (*Campaign, error) {
	c := &Campaign{
		Account: req.Account, Name: strings.TrimSpace(req.Name), Template: req.Template, From: req.From,
		ListIDs: req.ListIDs, Filters: req.Filters, Header: req.Header, Body: req.Body, Buttons: req.Buttons,
		Schedule: req.Schedule,
	}
	if c.From == "" {
		c.From = s.eng.DefaultNumberOf(c.Account)
	}
	if err := s.check(c); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	if c.Schedule != nil {
		if err := c.Schedule.Validate(now); err != nil {
			return nil, &InvalidError{Field: "schedule", Message: err.Error()}
		}
	}
	c.ID = storage.NewID("cmp", now)
	c.State = StateDraft
	if c.Schedule != nil {
		c.State = StateScheduled
	}
	c.CreatedAt, c.UpdatedAt = now, now
	if err := s.db.Commit(ctx, func(tx storage.Txn) error { return s.putCampaign(tx, c) }); err != nil {
		return nil, fmt.Errorf("campaign: create: %w", err)
	}
	if c.Schedule != nil {
		if err := s.sched.Set(ctx, c.ID, *c.Schedule); err != nil {
			return nil, fmt.Errorf("campaign: schedule %s: %w", c.ID, err)
		}
	}
	return c, nil
}

// check validates a definition: sender, template (approved, parameters), lists and
// the columns every parameter and filter names.
func (s *Service) check(c *Campaign) error {
	if c.Name == "" {
		return invalid("name", "is required")
	}
	if len(c.Name) > MaxNameLength {
		return invalid("name", "is longer than %d bytes", MaxNameLength)
	}
	num, ok := s.eng.Number(c.From)
	if !ok {
		return invalid("from", "%q is not a configured number", c.From)
	}
	if num.Account != "" && num.Account != c.Account {
		return fmt.Errorf("from %q: %w", c.From, ErrNumberNotOwned)
	}
	if c.Template.Name == "" {
		return invalid("template.name", "is required")
	}
	if c.Template.Language == "" {
		return invalid("template.language", "is required")
	}
	tpl, err := s.template(num.WABAID, c.Template)
	if err != nil {
		return err
	}
	c.Category = strings.ToLower(string(tpl.Category))
	if len(c.ListIDs) == 0 {
		return invalid("list_ids", "name at least one list")
	}
	if len(c.ListIDs) > MaxLists {
		return invalid("list_ids", "at most %d lists", MaxLists)
	}
	columns := map[string]bool{}
	for _, b := range builtinColumns {
		columns[b] = true
	}
	// A column must exist in every list: a recipient from a list without it would
	// have no value.
	for i, id := range c.ListIDs {
		if slices.Contains(c.ListIDs[:i], id) {
			return invalid(fmt.Sprintf("list_ids[%d]", i), "%q is named twice", id)
		}
		l, err := s.opts.Lists.List(c.Account, id)
		if errors.Is(err, lists.ErrNotFound) {
			return invalid(fmt.Sprintf("list_ids[%d]", i), "no list %q", id)
		}
		if err != nil {
			return fmt.Errorf("campaign: list %s: %w", id, err)
		}
		have := map[string]bool{}
		for _, col := range l.Columns {
			have[col] = true
		}
		if i == 0 {
			for col := range have {
				columns[col] = true
			}
			continue
		}
		for col := range columns {
			if !have[col] && !slices.Contains(builtinColumns, col) {
				delete(columns, col)
			}
		}
	}
	refs := func(field, value string) error {
		for _, m := range varPattern.FindAllStringSubmatch(value, -1) {
			if col := lists.NormalizeHeader(m[1]); !columns[col] {
				return invalid(field, "column %q is not in every list (columns: %s)", m[1], strings.Join(slices.Sorted(maps.Keys(columns)), ", "))
			}
		}
		return nil
	}
	spec := tpl.Params()
	switch spec.Header.Kind {
	case template.HeaderParamNone:
		if c.Header != "" {
			return invalid("header", "template %q has no header parameter", c.Template.Name)
		}
	case template.HeaderParamText:
		if c.Header == "" {
			return invalid("header", "template %q needs a header value", c.Template.Name)
		}
		if err := refs("header", c.Header); err != nil {
			return err
		}
	default:
		return invalid("header", "templates with a media or location header are not supported in campaigns")
	}
	if len(c.Body) != spec.Body.Count {
		return &InvalidError{Field: "body", Code: "param_count_mismatch",
			Message: fmt.Sprintf("template %q takes %d body parameters, the campaign gives %d", c.Template.Name, spec.Body.Count, len(c.Body))}
	}
	for i, v := range c.Body {
		if strings.TrimSpace(v) == "" {
			return invalid(fmt.Sprintf("body[%d]", i), "is empty")
		}
		if err := refs(fmt.Sprintf("body[%d]", i), v); err != nil {
			return err
		}
	}
	for _, bs := range spec.Buttons {
		if !bs.TakesParam || !bs.Required {
			continue
		}
		if !slices.ContainsFunc(c.Buttons, func(b ButtonValue) bool { return b.Index == bs.Index }) {
			return invalid("buttons", "button %d of template %q takes a parameter: give {\"index\": %d, \"text\": ...}", bs.Index, c.Template.Name, bs.Index)
		}
	}
	for i, b := range c.Buttons {
		field := fmt.Sprintf("buttons[%d]", i)
		if !slices.ContainsFunc(spec.Buttons, func(bs template.ButtonSpec) bool { return bs.Index == b.Index && bs.TakesParam }) {
			return invalid(field+".index", "button %d of template %q takes no parameter", b.Index, c.Template.Name)
		}
		if err := refs(field+".text", b.Text); err != nil {
			return err
		}
	}
	if len(c.Filters) > MaxFilters {
		return invalid("filters", "at most %d filters", MaxFilters)
	}
	for i := range c.Filters {
		f := &c.Filters[i]
		field := fmt.Sprintf("filters[%d]", i)
		f.Column = lists.NormalizeHeader(f.Column)
		if !columns[f.Column] {
			return invalid(field+".column", "column %q is not in every list", f.Column)
		}
		if !slices.Contains(filterOps, f.Op) {
			return invalid(field+".op", "%q is not one of %s", f.Op, strings.Join(filterOps, ", "))
		}
	}
	return nil
}

// template returns the approved template of ref.
func (s *Service) template(waba string, ref TemplateRef) (*template.Template, error) {
	tpl, ok := s.opts.Templates.Lookup(waba, ref.Name, ref.Language)
	if !ok {
		return nil, &InvalidError{Field: "template.name", Code: "template_not_approved",
			Message: fmt.Sprintf("%q in %q is not a known template of this number", ref.Name, ref.Language)}
	}
	if tpl.Status != template.StatusApproved {
		return nil, &InvalidError{Field: "template.name", Code: "template_not_approved",
			Message: fmt.Sprintf("%q is %s, not APPROVED", ref.Name, tpl.Status)}
	}
	return tpl, nil
}

// Get returns a campaign of the account.
func (s *Service) Get(account, id string) (*Campaign, error) {
	var c *Campaign
	err := s.db.View(func(r storage.Reader) error {
		var err error
		c, err = loadOwned(r, account, id)
		return err
	})
	return c, err
}

// List returns the account's campaigns, newest first, at most limit after the
// campaign id cursor.
func (s *Service) List(account, cursor string, limit int) ([]*Campaign, string, error) {
	var out []*Campaign
	next := ""
	opts := storage.IterOptions{Reverse: true}
	if cursor != "" {
		opts.Start = campaignKey(cursor)
	}
	err := s.db.View(func(r storage.Reader) error {
		return r.Iterate([]byte(keyCampaignPrefix), opts, func(_, v []byte) (bool, error) {
			c, err := decodeCampaign(v)
			if err != nil {
				return false, err
			}
			if c.ID == cursor || c.Account != account {
				return true, nil
			}
			if len(out) == limit {
				next = out[len(out)-1].ID
				return false, nil
			}
			out = append(out, c)
			return true, nil
		})
	})
	return out, next, err
}
