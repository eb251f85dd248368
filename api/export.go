package api

import (
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/julienschmidt/httprouter"

	"kirim/campaign/lists"
	"kirim/engine"
	"kirim/ledger"
	"kirim/phone"
	"kirim/storage"
)

// exportLine is one line of GET /v1/export: its kind and the record as the API shows it.
type exportLine struct {
	Type string `json:"type"`
	Data any    `json:"data"`
}

// export streams the caller's own account as JSON lines: the account, its lists, each
// list's contacts with their opt-out state on the account's numbers, its messages
// (newest first), its customers' messages (inbound, newest first) and its whole
// statement. The full backup of every account stays the
// operator's; this is what an account may take with it.
func (s *Server) export(_ *http.Request, _ httprouter.Params, c *caller) (int, any, error) {
	acct := c.account
	return http.StatusOK, streamResponse{contentType: "application/x-ndjson", filename: "kirim-export-" + acct.ID + ".jsonl",
		write: func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetEscapeHTML(false)
			put := func(kind string, v any) error { return enc.Encode(exportLine{Type: kind, Data: v}) }
			if err := put("account", map[string]any{"id": acct.ID, "name": acct.Name, "currency": acct.Currency,
				"timezone": acct.Timezone, "default_region": acct.DefaultRegion, "exported_at": s.clock.Now().UTC()}); err != nil {
				return err
			}
			if err := s.exportLists(c, put); err != nil {
				return err
			}
			if err := s.exportMessages(c, put); err != nil {
				return err
			}
			if err := s.exportInbound(c, put); err != nil {
				return err
			}
			return s.exportStatement(c, put)
		}}, nil
}

func (s *Server) exportLists(c *caller, put func(string, any) error) error {
	st := s.opts.Lists
	if st == nil {
		return nil
	}
	all, err := st.Lists(c.account.ID)
	if err != nil {
		return err
	}
	nums := s.accountNumbers(c)
	for _, l := range all {
		if err := put("list", listOf(l)); err != nil {
			return err
		}
		err := st.Members(l.ID, "", func(m lists.Member) (bool, error) {
			v := map[string]any{"list_id": l.ID, "phone": m.Phone, "name": m.Name, "vars": m.Vars, "opted_out": false}
			for _, n := range nums {
				ct, err := s.opts.Engine.ContactOf(n.PhoneNumberID, phone.WaID(m.Phone))
				if err != nil {
					return false, err
				}
				if ct.OptedOut {
					v["opted_out"], v["opt_source"], v["opt_changed_at"] = true, ct.OptSource, timeOrNil(ct.OptChangedAt)
				}
			}
			return true, put("contact", v)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) exportMessages(c *caller, put func(string, any) error) error {
	cursor := ""
	for {
		ms, next, err := s.opts.Engine.List(engine.ListFilter{AccountID: c.account.ID, Limit: engine.MaxListLimit, Cursor: cursor})
		if err != nil {
			return err
		}
		for _, m := range ms {
			if err := put("message", viewOf(m)); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		cursor = next
	}
}

func (s *Server) exportInbound(c *caller, put func(string, any) error) error {
	cursor := ""
	for {
		recs, next, err := s.opts.Engine.InboundList(c.account.ID, "", cursor, engine.MaxListLimit)
		if err != nil {
			return err
		}
		for _, rec := range recs {
			v, err := inboundViewOf(rec)
			if err != nil {
				return err
			}
			if err := put("inbound_message", v); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		cursor = next
	}
}

func (s *Server) exportStatement(c *caller, put func(string, any) error) error {
	if s.opts.Ledger == nil || s.opts.Ledger.Ledger == nil {
		return nil
	}
	l, st := s.opts.Ledger.Ledger, s.opts.Ledger.Store
	cursor := ""
	for {
		var p ledger.StatementPage
		err := st.View(func(rd storage.Reader) error {
			var err error
			p, err = l.Statement(rd, c.account.ID, time.Time{}, time.Time{}, cursor, ledger.MaxStatementLimit)
			return err
		})
		if err != nil {
			return err
		}
		loc := p.Timezone
		if loc == nil {
			loc = time.UTC
		}
		for _, row := range p.Rows {
			if err := put("statement_entry", rowOf(row, p.Currency, loc, c)); err != nil {
				return err
			}
		}
		if p.Next == "" {
			return nil
		}
		cursor = p.Next
	}
}
