package campaign

import (
	"fmt"
	"iter"
	"strings"

	"kirim/campaign/lists"
	"kirim/engine"
	"kirim/phone"
	"kirim/provider"
	"kirim/template"
)

// Reasons a list member is not a recipient.
const (
	SkipOptedOut  = "opted_out"
	SkipDuplicate = "duplicate" // in more than one of the campaign's lists
	SkipInvalid   = "invalid"   // a value it needs is empty or the filled template is refused
	SkipFiltered  = "filtered"  // did not match the filters
	// A marketing run skips a recipient who had their share of marketing (the frequency
	// caps) or whom WhatsApp's per-user marketing limit refused within the last day.
	SkipFrequencyCapped    = engine.ClassFrequencyCapped
	SkipMarketingUserLimit = engine.ClassMarketingUserLimit
)

// recipient is one resolved member of the audience.
type recipient struct {
	phone, name     string
	header          string
	params, buttons []string
}

// audience walks the campaign's audience in phone order: the lists are merged by
// phone (each list iterates sorted by phone), so a recipient in several lists is seen
// once without holding the audience in memory. fn gets each recipient; skipped counts
// the others by reason.
func (s *Service) audience(c *Campaign, fn func(recipient) error) (skipped map[string]int64, err error) {
	skipped = map[string]int64{}
	num, _ := s.eng.Number(c.From)
	tpl, err := s.template(num.WABAID, c.Template)
	if err != nil {
		return nil, err
	}
	named := tpl.Params().Body.Names
	type head struct {
		m    lists.Member
		next func() (lists.Member, error, bool)
		stop func()
	}
	heads := make([]*head, 0, len(c.ListIDs))
	defer func() {
		for _, h := range heads {
			h.stop()
		}
	}()
	for _, id := range c.ListIDs {
		next, stop := iter.Pull2(s.members(id))
		h := &head{next: next, stop: stop}
		m, err, ok := next()
		if err != nil {
			return nil, err
		}
		if ok {
			h.m = m
			heads = append(heads, h)
		} else {
			stop()
		}
	}
	marketing := c.Category == "marketing"
	for len(heads) > 0 {
		// The smallest phone among the heads; the few lists of a campaign make a
		// linear scan cheaper than a heap.
		min := 0
		for i, h := range heads[1:] {
			if h.m.Phone < heads[min].m.Phone {
				min = i + 1
			}
		}
		m := heads[min].m
		dups := int64(-1)
		for i := 0; i < len(heads); {
			h := heads[i]
			if h.m.Phone != m.Phone {
				i++
				continue
			}
			dups++
			nm, err, ok := h.next()
			if err != nil {
				return nil, err
			}
			if ok {
				h.m = nm
				i++
				continue
			}
			h.stop()
			heads = append(heads[:i], heads[i+1:]...)
		}
		skipped[SkipDuplicate] += dups
		if !matches(c.Filters, m) {
			skipped[SkipFiltered]++
			continue
		}
		if marketing {
			ct, err := s.eng.ContactOf(num.PhoneNumberID, phone.WaID(m.Phone))
			if err != nil {
				return nil, err
			}
			if ct.OptedOut {
				skipped[SkipOptedOut]++
				continue
			}
			block, err := s.eng.MarketingBlock(c.Account, num.PhoneNumberID, phone.WaID(m.Phone))
			if err != nil {
				return nil, err
			}
			if block != "" {
				skipped[block]++
				continue
			}
		}
		rc, ok := fill(c, m)
		if !ok {
			skipped[SkipInvalid]++
			continue
		}
		if err := template.CheckSend(*tpl, *sendTemplate(c, rc, named)); err != nil {
			skipped[SkipInvalid]++
			continue
		}
		if err := fn(rc); err != nil {
			return nil, err
		}
	}
	return skipped, nil
}

// members adapts a list's callback iteration to a sequence for iter.Pull2.
func (s *Service) members(listID string) iter.Seq2[lists.Member, error] {
	return func(yield func(lists.Member, error) bool) {
		stopped := false
		err := s.opts.Lists.Members(listID, "", func(m lists.Member) (bool, error) {
			if !yield(m, nil) {
				stopped = true
				return false, nil
			}
			return true, nil
		})
		if err != nil && !stopped {
			yield(lists.Member{}, fmt.Errorf("campaign: list %s: %w", listID, err))
		}
	}
}

// value returns a member's value of a column.
func value(m lists.Member, col string) string {
	switch col {
	case "phone":
		return m.Phone
	case "name":
		if m.Name != "" {
			return m.Name
		}
	}
	return m.Vars[col]
}

// expand fills the {{column}} references of v; ok is false when one is empty.
func expand(v string, m lists.Member) (string, bool) {
	ok := true
	out := varPattern.ReplaceAllStringFunc(v, func(ref string) string {
		col := lists.NormalizeHeader(varPattern.FindStringSubmatch(ref)[1])
		val := strings.TrimSpace(value(m, col))
		if val == "" {
			ok = false
		}
		return val
	})
	return out, ok
}

// fill resolves a member's parameters.
func fill(c *Campaign, m lists.Member) (recipient, bool) {
	rc := recipient{phone: m.Phone, name: m.Name}
	var ok bool
	if c.Header != "" {
		if rc.header, ok = expand(c.Header, m); !ok {
			return rc, false
		}
	}
	if len(c.Body) > 0 {
		rc.params = make([]string, len(c.Body))
		for i, v := range c.Body {
			if rc.params[i], ok = expand(v, m); !ok {
				return rc, false
			}
		}
	}
	for _, b := range c.Buttons {
		v, ok := expand(b.Text, m)
		if !ok {
			return rc, false
		}
		rc.buttons = append(rc.buttons, v)
	}
	return rc, true
}

func matches(fs []Filter, m lists.Member) bool {
	for _, f := range fs {
		v := strings.TrimSpace(value(m, f.Column))
		var ok bool
		switch f.Op {
		case "eq":
			ok = strings.EqualFold(v, f.Value)
		case "ne":
			ok = !strings.EqualFold(v, f.Value)
		case "contains":
			ok = strings.Contains(strings.ToLower(v), strings.ToLower(f.Value))
		case "prefix":
			ok = strings.HasPrefix(strings.ToLower(v), strings.ToLower(f.Value))
		case "empty":
			ok = v == ""
		case "not_empty":
			ok = v != ""
		}
		if !ok {
			return false
		}
	}
	return true
}

// sendTemplate builds the provider's template object for a recipient. named lists a
// NAMED template's body variables in order.
func sendTemplate(c *Campaign, rc recipient, named []string) *provider.Template {
	pt := &provider.Template{Name: c.Template.Name, Language: provider.Language{Code: c.Template.Language}}
	if c.Header != "" {
		pt.Components = append(pt.Components, provider.TemplateComponent{Type: "header",
			Parameters: []provider.Parameter{{Type: "text", Text: rc.header}}})
	}
	if len(rc.params) > 0 {
		ps := make([]provider.Parameter, len(rc.params))
		for i, v := range rc.params {
			ps[i] = provider.Parameter{Type: "text", Text: v}
			if i < len(named) {
				ps[i].ParameterName = named[i]
			}
		}
		pt.Components = append(pt.Components, provider.TemplateComponent{Type: "body", Parameters: ps})
	}
	for i, b := range c.Buttons {
		if i >= len(rc.buttons) {
			break
		}
		pt.Components = append(pt.Components, provider.TemplateComponent{Type: "button", SubType: "url",
			Index: fmt.Sprint(b.Index), Parameters: []provider.Parameter{{Type: "text", Text: template.EncodeURLParam(rc.buttons[i])}}})
	}
	return pt
}

// message builds the engine message and provider request for a row.
func (s *Service) message(c *Campaign, run uint64, row *Row, named []string) (*engine.Message, *provider.Message) {
	rc := recipient{phone: row.Phone, name: row.Name, header: row.Header, params: row.Params, buttons: row.Buttons}
	m := &engine.Message{
		AccountID: c.Account, Number: c.From, To: row.Phone, Type: provider.TypeTemplate,
		Template: &engine.TemplateRef{Name: c.Template.Name, Language: c.Template.Language},
		Category: c.Category, CampaignID: c.ID, CampaignRun: run,
	}
	return m, &provider.Message{Type: provider.TypeTemplate, Template: sendTemplate(c, rc, named)}
}
