package sandbox

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"kirim/provider"
)

const (
	budi = "6281234567890"
	sari = "6281200000002"
)

func TestSendAccepted(t *testing.T) {
	e := newEnv(t, Options{PairGap: -1}, false)
	seen := map[string]bool{}
	for i, to := range []string{"+62 812-3456-7890", "(62) 812 3456 7890", budi} {
		resp := e.mustSend(helloMsg(to))
		if len(resp.Contacts) != 1 || resp.Contacts[0].WaID != budi || resp.Contacts[0].Input != to {
			t.Fatalf("send %d: contacts %+v, want wa_id %s and input %q", i, resp.Contacts, budi, to)
		}
		if resp.MessagingProduct != "whatsapp" || len(resp.Messages) != 1 {
			t.Fatalf("send %d: answer %+v", i, resp)
		}
		id := resp.Messages[0].ID
		if !strings.HasPrefix(id, "wamid.") || seen[id] {
			t.Fatalf("send %d: wamid %q not fresh", i, id)
		}
		seen[id] = true
		if resp.Messages[0].MessageStatus != provider.StatusAccepted {
			t.Fatalf("send %d: message_status %q", i, resp.Messages[0].MessageStatus)
		}
	}
	e.inbound(InboundRequest{From: budi, Text: "hi"})
	if err := e.client(0).MarkRead(context.Background(), "wamid.inbound"); err != nil {
		t.Fatalf("mark read: %v", err)
	}
	if got := e.sb.Stats().Accepted; got != 3 {
		t.Fatalf("accepted %d, want 3 (a read receipt is not a send)", got)
	}
}

func TestSendErrors(t *testing.T) {
	long := strings.Repeat("a", maxTextBody+1)
	cases := []struct {
		name  string
		opts  Options
		setup func(e *env)
		from  int
		msg   func() *provider.Message
		token string
		code  int
		class provider.Class
	}{
		{name: "bad token", token: "wrong", msg: func() *provider.Message { return helloMsg(budi) },
			code: provider.CodeAuth, class: provider.StopAndAlert},
		{name: "unknown number", from: -1, msg: func() *provider.Message { return helloMsg(budi) },
			code: provider.CodeInvalidParameter, class: provider.FixRequest},
		{name: "chaos send error", opts: Options{Chaos: Chaos{SendErrors: map[int]float64{131000: 1}}},
			msg: func() *provider.Message { return helloMsg(budi) }, code: provider.CodeGeneric, class: provider.RetryLater},
		{name: "throughput", opts: Options{ThroughputMPS: 1, PairGap: -1},
			setup: func(e *env) { e.mustSend(helloMsg(sari)) },
			msg:   func() *provider.Message { return helloMsg(budi) }, code: provider.CodeThroughput, class: provider.Throttled},
		{name: "wrong messaging_product", msg: func() *provider.Message {
			m := helloMsg(budi)
			m.MessagingProduct = "sms"
			return m
		}, code: provider.CodeInvalidParameter, class: provider.FixRequest},
		{name: "bad to", msg: func() *provider.Message { return helloMsg("not-a-number") },
			code: 131009, class: provider.FixRequest},
		{name: "missing to", msg: func() *provider.Message { return helloMsg("") },
			code: provider.CodeInvalidParameter, class: provider.FixRequest},
		{name: "unsupported type", msg: func() *provider.Message { return &provider.Message{To: budi, Type: "hologram"} },
			code: provider.CodeUnsupportedType, class: provider.FixRequest},
		{name: "text too long", setup: func(e *env) { e.inbound(InboundRequest{From: budi, Text: "hi"}) },
			msg: func() *provider.Message { return textMsg(budi, long) }, code: 131009, class: provider.FixRequest},
		{name: "type without object", msg: func() *provider.Message { return &provider.Message{To: budi, Type: "image"} },
			code: provider.CodeInvalidParameter, class: provider.FixRequest},
		{name: "unreachable", setup: func(e *env) { _ = e.sb.SetUnreachable(budi, true) },
			msg: func() *provider.Message { return helloMsg(budi) }, code: provider.CodeUndeliverable, class: provider.Fatal},
		{name: "template missing", msg: func() *provider.Message { return tmplMsg(budi, "nope") },
			code: provider.CodeTemplateMissing, class: provider.FixRequest},
		{name: "template wrong language", msg: func() *provider.Message {
			m := helloMsg(budi)
			m.Template.Language.Code = "id"
			return m
		}, code: provider.CodeTemplateMissing, class: provider.FixRequest},
		{name: "template paused", setup: func(e *env) { mustOK(t, e.sb.SetTemplateStatus("hello_world", "en_US", "PAUSED")) },
			msg: func() *provider.Message { return helloMsg(budi) }, code: provider.CodeTemplatePaused, class: provider.Fatal},
		{name: "template disabled", setup: func(e *env) { mustOK(t, e.sb.SetTemplateStatus("hello_world", "en_US", "DISABLED")) },
			msg: func() *provider.Message { return helloMsg(budi) }, code: provider.CodeTemplateDisabled, class: provider.Fatal},
		{name: "param count", setup: func(e *env) { e.addTemplate("", "order", "UTILITY", "Hi {{1}}, order {{2}} shipped.") },
			msg: func() *provider.Message { return tmplMsg(budi, "order", "Budi") }, code: provider.CodeParamCount, class: provider.FixRequest},
		{name: "params for a template without variables",
			msg:  func() *provider.Message { return tmplMsg(budi, "hello_world", "x") },
			code: provider.CodeParamCount, class: provider.FixRequest},
		{name: "outside window", msg: func() *provider.Message { return textMsg(budi, "hi") },
			code: provider.CodeReEngagement, class: provider.Fatal},
		{name: "stopped marketing", setup: func(e *env) {
			e.addTemplate("", "promo", "MARKETING", "Big sale on {{1}} today.")
			mustOK(t, e.sb.SetPreference(budi, "stop"))
		}, msg: func() *provider.Message { return tmplMsg(budi, "promo", "shoes") },
			code: provider.CodeUserStoppedMarketing, class: provider.Fatal},
		{name: "pair rate", opts: Options{PairBurst: 1}, setup: func(e *env) { e.mustSend(helloMsg(budi)) },
			msg: func() *provider.Message { return helloMsg(budi) }, code: provider.CodePairRate, class: provider.Throttled},
		{name: "messaging limit", opts: Options{PortfolioLimit: 1}, setup: func(e *env) { e.mustSend(helloMsg(sari)) },
			msg: func() *provider.Message { return helloMsg(budi) }, code: provider.CodeSpamRate, class: provider.StopAndAlert},
		{name: "restricted", setup: func(e *env) {
			r := RestrictBizInitiated
			mustOK(t, e.sb.UpdateNumber(DefaultPhoneNumberID, NumberUpdate{Restriction: &r}))
		}, msg: func() *provider.Message { return helloMsg(budi) }, code: 131031, class: provider.StopAndAlert},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.opts, false)
			if tc.setup != nil {
				tc.setup(e)
			}
			cfg := e.client(0).Config()
			if tc.token != "" {
				cfg.Token = tc.token
			}
			if tc.from < 0 {
				cfg.PhoneNumberID = "999"
			}
			_, err := provider.New(cfg).SendMessage(context.Background(), tc.msg())
			pe, ok := provider.AsError(err)
			if !ok {
				t.Fatalf("got %v, want provider error %d", err, tc.code)
			}
			if pe.Code != tc.code || pe.Class() != tc.class {
				t.Fatalf("got code %d class %s (%s), want %d %s", pe.Code, pe.Class(), pe.Details, tc.code, tc.class)
			}
			wantHTTP := 400
			if tc.code == provider.CodeAuth {
				wantHTTP = 401
			}
			if pe.HTTPStatus != wantHTTP || pe.FBTraceID == "" {
				t.Fatalf("HTTP %d trace %q, want %d and a trace id", pe.HTTPStatus, pe.FBTraceID, wantHTTP)
			}
			st := e.sb.Stats()
			if st.RefusedByCode[tc.code] != 1 {
				t.Fatalf("refused_by_code %v, want one %d", st.RefusedByCode, tc.code)
			}
		})
	}
}

func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestTemplateParameters(t *testing.T) {
	e := newEnv(t, Options{PairGap: -1}, false)
	st := e.sb.st.Load()
	def := provider.TemplateDefinition{Name: "shipped", Language: "en_US", Category: "UTILITY",
		Components: []provider.TemplateComponentDef{
			{Type: "HEADER", Format: "IMAGE"},
			{Type: "BODY", Text: "Hi {{1}}, order {{2}} is on its way."},
			{Type: "BUTTONS", Buttons: []provider.TemplateButtonDef{
				{Type: "URL", Text: "Track", URL: "https://a.id/t/{{1}}"},
				{Type: "QUICK_REPLY", Text: "Stop"},
			}},
		}}
	st.templates.mu.Lock()
	tm := &template{id: "77", key: tmplKey{DefaultWABAID, def.Name, def.Language}, def: def, vars: templateVarsOf(def),
		status: tmplApproved, category: "UTILITY"}
	st.templates.byKey[tm.key] = tm
	st.templates.all = append(st.templates.all, tm)
	st.templates.mu.Unlock()

	header := provider.TemplateComponent{Type: "header", Parameters: []provider.Parameter{{Type: "image", Image: &provider.Media{Link: "https://x/p.jpg"}}}}
	docHeader := provider.TemplateComponent{Type: "header", Parameters: []provider.Parameter{{Type: "document", Document: &provider.Media{Link: "https://x/p.pdf"}}}}
	body := provider.TemplateComponent{Type: "body", Parameters: []provider.Parameter{{Type: "text", Text: "Budi"}, {Type: "text", Text: "INV-9"}}}
	url := provider.TemplateComponent{Type: "button", SubType: "url", Index: "0", Parameters: []provider.Parameter{{Type: "text", Text: "INV-9"}}}
	qr := provider.TemplateComponent{Type: "button", SubType: "quick_reply", Index: "1", Parameters: []provider.Parameter{{Type: "payload", Payload: "STOP"}}}
	ghost := provider.TemplateComponent{Type: "button", SubType: "url", Index: "5", Parameters: []provider.Parameter{{Type: "text", Text: "x"}}}
	cases := []struct {
		name  string
		comps []provider.TemplateComponent
		code  int
	}{
		{"all", []provider.TemplateComponent{header, body, url, qr}, 0},
		{"quick reply payload optional", []provider.TemplateComponent{header, body, url}, 0},
		{"no header", []provider.TemplateComponent{body, url}, provider.CodeParamCount},
		{"wrong header format", []provider.TemplateComponent{docHeader, body, url}, provider.CodeTemplateParamFormat},
		{"no url parameter", []provider.TemplateComponent{header, body}, provider.CodeParamCount},
		{"button that does not exist", []provider.TemplateComponent{header, body, url, ghost}, provider.CodeParamCount},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := &provider.Message{To: budi, Type: "template", Template: &provider.Template{
				Name: "shipped", Language: provider.Language{Code: "en_US"}, Components: tc.comps}}
			if tc.code == 0 {
				e.mustSend(m)
				return
			}
			e.wantCode(0, m, tc.code)
		})
	}
}

func TestChaosSendErrorsAreExact(t *testing.T) {
	e := newEnv(t, Options{ThroughputMPS: 100000, PairGap: -1, PortfolioLimit: -1,
		Chaos: Chaos{SendErrors: map[int]float64{131000: 0.05, 131016: 0.02}}}, false)
	const n = 1000
	runParallel(t, n, 16, func(i int) error {
		_, perr := e.send(helloMsg(fmt.Sprintf("62812%08d", i)))
		if perr != nil && perr.Code != 131000 && perr.Code != 131016 {
			return perr
		}
		return nil
	})
	st := e.sb.Stats()
	// 131000 is tried first: 50 of 1000; 131016 sees the 950 left: floor(950*0.02) = 19.
	if st.RefusedByCode[131000] != 50 || st.RefusedByCode[131016] != 19 || st.Accepted != n-69 {
		t.Fatalf("refused %v accepted %d, want 50 x 131000, 19 x 131016, %d accepted", st.RefusedByCode, st.Accepted, n-69)
	}
}

// runParallel calls f(0..n-1) on workers goroutines and fails on the first error.
func runParallel(t *testing.T, n, workers int, f func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	next := make(chan int, n)
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(i); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestThroughput(t *testing.T) {
	e := newEnv(t, Options{PairGap: -1, PortfolioLimit: -1}, false)
	var mu sync.Mutex
	codes := map[int]int{}
	burst := func(n, base int) {
		runParallel(t, n, 64, func(i int) error {
			_, perr := e.send(helloMsg(fmt.Sprintf("62813%08d", base+i)))
			code := 0
			if perr != nil {
				code = perr.Code
				if perr.Class() != provider.Throttled {
					return perr
				}
			}
			mu.Lock()
			codes[code]++
			mu.Unlock()
			return nil
		})
	}
	burst(1000, 0)
	if codes[0] != 80 || codes[provider.CodeThroughput] != 920 {
		t.Fatalf("frozen clock: %v, want 80 accepted and 920 x 130429", codes)
	}
	e.clk.Advance(time.Second)
	clear(codes)
	burst(200, 1000)
	if codes[0] != 80 {
		t.Fatalf("after one second: %d accepted, want 80", codes[0])
	}
	// A run that moves the clock in half seconds while clients push.
	base := 2000
	for round := 0; round < 8; round++ {
		burst(120, base)
		base += 120
		e.clk.Advance(500 * time.Millisecond)
	}
	perSec := map[int64]int{}
	for _, r := range e.sb.Received(ReceivedFilter{Limit: maxPageLimit}) {
		if r.ErrorCode == 0 {
			perSec[r.Time.Unix()]++
		}
	}
	for sec, n := range perSec {
		if n > 80 {
			t.Fatalf("second %d accepted %d sends, more than 80", sec, n)
		}
	}
	if st := e.sb.Stats(); st.Rate.BusiestSecondAccepted != 80 {
		t.Fatalf("busiest second %d, want 80", st.Rate.BusiestSecondAccepted)
	}
}

func TestPairRate(t *testing.T) {
	for _, c := range []struct{ opt, burst int }{{1, 1}, {3, 3}, {0, DefaultPairBurst}} {
		burst := c.burst
		t.Run(fmt.Sprintf("burst %d", burst), func(t *testing.T) {
			e := newEnv(t, Options{PairBurst: c.opt}, false)
			for i := 0; i < burst; i++ {
				e.mustSend(helloMsg(budi))
			}
			e.wantCode(0, helloMsg(budi), provider.CodePairRate)
			e.mustSend(helloMsg(sari)) // another recipient is not affected
			e.clk.Advance(DefaultPairGap - time.Millisecond)
			e.wantCode(0, helloMsg(budi), provider.CodePairRate)
			e.clk.Advance(time.Millisecond)
			e.mustSend(helloMsg(budi))
			e.wantCode(0, helloMsg(budi), provider.CodePairRate)
			e.clk.Advance(time.Duration(burst) * DefaultPairGap)
			for i := 0; i < burst; i++ {
				e.mustSend(helloMsg(budi))
			}
			e.wantCode(0, helloMsg(budi), provider.CodePairRate)
		})
	}
}

func TestMessagingLimit(t *testing.T) {
	two := []Number{{PhoneNumberID: "101", WABAID: "201", MessagingLimit: 2}, {PhoneNumberID: "102", WABAID: "201", MessagingLimit: 2}}
	rcp := func(i int) string { return fmt.Sprintf("62811000000%02d", i) }
	t.Run("2025 portfolio across two numbers", func(t *testing.T) {
		e := newEnv(t, Options{Numbers: two, PortfolioLimit: 2, PairGap: -1}, false)
		e.sendFrom(0, helloMsg(rcp(1)))
		e.sendFrom(1, helloMsg(rcp(2)))
		e.wantCode(0, helloMsg(rcp(3)), provider.CodeSpamRate)
		e.wantCode(1, helloMsg(rcp(3)), provider.CodeSpamRate)
		if _, perr := e.sendFrom(1, helloMsg(rcp(1))); perr != nil {
			t.Fatalf("recipient already counted: %v", perr)
		}
		// An open window makes a template customer-initiated: no slot needed.
		e.inbound(InboundRequest{From: rcp(4), PhoneNumberID: "101", Text: "hi"})
		if _, perr := e.sendFrom(0, helloMsg(rcp(4))); perr != nil {
			t.Fatalf("inside the window: %v", perr)
		}
		if used, limit := e.sb.LimitUsage("101"); used != 2 || limit != 2 {
			t.Fatalf("usage %d/%d, want 2/2", used, limit)
		}
		if st := e.sb.Stats(); st.LimitErrors != 2 {
			t.Fatalf("limit errors %d, want 2", st.LimitErrors)
		}
	})
	t.Run("legacy per number", func(t *testing.T) {
		e := newEnv(t, Options{Numbers: two, Rules: RulesLegacy, PairGap: -1}, false)
		e.sendFrom(0, helloMsg(rcp(1)))
		e.sendFrom(0, helloMsg(rcp(2)))
		e.wantCode(0, helloMsg(rcp(3)), provider.CodeSpamRate)
		for _, i := range []int{3, 4, 1} {
			if _, perr := e.sendFrom(1, helloMsg(rcp(i))); perr != nil && i != 1 {
				t.Fatalf("number 2 to %d: %v", i, perr)
			} else if i == 1 && (perr == nil || perr.Code != provider.CodeSpamRate) {
				t.Fatalf("number 2 third new recipient: %v, want 131048", perr)
			}
		}
		if _, perr := e.sendFrom(0, helloMsg(rcp(2))); perr != nil {
			t.Fatalf("recipient already counted: %v", perr)
		}
	})
	t.Run("a slot frees 24 h after it was taken", func(t *testing.T) {
		e := newEnv(t, Options{PortfolioLimit: 2, PairGap: -1}, false)
		e.mustSend(helloMsg(rcp(1)))
		e.clk.Advance(12 * time.Hour)
		e.mustSend(helloMsg(rcp(2)))
		e.mustSend(helloMsg(rcp(1))) // counted since t0: no new slot, no refresh
		e.wantCode(0, helloMsg(rcp(3)), provider.CodeSpamRate)
		e.clk.Advance(12*time.Hour - time.Second)
		e.wantCode(0, helloMsg(rcp(3)), provider.CodeSpamRate)
		e.clk.Advance(time.Second)
		e.mustSend(helloMsg(rcp(3)))
		e.wantCode(0, helloMsg(rcp(4)), provider.CodeSpamRate)
		e.clk.Advance(12 * time.Hour)
		e.mustSend(helloMsg(rcp(4)))
	})
	t.Run("unlimited", func(t *testing.T) {
		e := newEnv(t, Options{PortfolioLimit: -1, PairGap: -1, ThroughputMPS: 1000}, false)
		for i := 0; i < 300; i++ {
			e.mustSend(helloMsg(rcp(i)))
		}
	})
}

func TestWindowAndPricing(t *testing.T) {
	e := newEnv(t, Options{PairGap: -1, ReadRate: -1}, true)
	e.addTemplate("", "promo", "MARKETING", "Big sale on {{1}} today.")
	e.addTemplate("", "otp", "AUTHENTICATION", "")
	const (
		cold    = "6281100000001"
		warm    = "6281100000002"
		ad      = "6281100000003"
		expired = "6281100000004"
	)
	e.inbound(InboundRequest{From: warm, Text: "hi"})
	e.inbound(InboundRequest{From: ad, Text: "from the ad", Referral: true})
	e.inbound(InboundRequest{From: expired, Text: "old"})
	e.clk.Advance(25 * time.Hour)
	e.inbound(InboundRequest{From: warm, Text: "again"})
	e.wantCode(0, textMsg(expired, "late"), provider.CodeReEngagement)
	e.wantCode(0, textMsg(ad, "late"), provider.CodeReEngagement) // the FEP does not open the CSW
	cases := []struct {
		cb      string
		msg     *provider.Message
		typ     string
		cat     string
		billing bool
	}{
		{"cold-utility", helloMsg(cold), provider.PricingRegular, "utility", true},
		{"warm-utility", helloMsg(warm), provider.PricingFreeCustomerService, "utility", false},
		{"warm-marketing", tmplMsg(warm, "promo", "shoes"), provider.PricingRegular, "marketing", true},
		{"warm-text", textMsg(warm, "hello"), provider.PricingFreeCustomerService, "service", false},
		{"ad-marketing", tmplMsg(ad, "promo", "shoes"), provider.PricingFreeEntryPoint, "marketing", false},
		{"cold-auth", &provider.Message{To: cold, Type: "template", Template: &provider.Template{Name: "otp", Language: provider.Language{Code: "en_US"},
			Components: []provider.TemplateComponent{{Type: "body", Parameters: []provider.Parameter{{Type: "text", Text: "123456"}}}}}},
			provider.PricingRegular, "authentication", true},
	}
	for _, c := range cases {
		c.msg.BizOpaqueCallbackData = c.cb
		e.mustSend(c.msg)
	}
	sts := e.catcher.waitStatuses(2 * len(cases))
	byCB := map[string][]provider.Status{}
	for _, s := range sts {
		byCB[s.BizOpaqueCallbackData] = append(byCB[s.BizOpaqueCallbackData], s)
	}
	for _, c := range cases {
		got := byCB[c.cb]
		if len(got) != 2 || got[0].Status != "sent" || got[1].Status != "delivered" {
			t.Fatalf("%s: statuses %+v, want sent then delivered", c.cb, got)
		}
		for _, s := range got {
			p := s.Pricing
			if p == nil || p.Type != c.typ || p.Category != c.cat || p.PricingModel != "PMP" || p.Billable == nil || *p.Billable != c.billing {
				t.Fatalf("%s %s: pricing %+v, want %s/%s billable=%v", c.cb, s.Status, p, c.typ, c.cat, c.billing)
			}
		}
	}
}

// TestMarketingUserLimit: past MarketingUserLimit marketing templates in the window a
// recipient's next one is accepted and then fails with 131049, unbilled; utility
// templates and marketing inside the customer-service window do not count; the
// window slides; the limit is off by default.
func TestMarketingUserLimit(t *testing.T) {
	promo := func(to string) *provider.Message { return tmplMsg(to, "promo", "Budi") }
	t.Run("on", func(t *testing.T) {
		e := newEnv(t, Options{PairGap: -1, ReadRate: -1, MarketingUserLimit: 2, MarketingWindow: time.Hour}, true)
		e.addTemplate("", "promo", "MARKETING", "Hi {{1}}, big sale today.")
		var ids []string
		for i := 0; i < 3; i++ {
			ids = append(ids, e.mustSend(promo(budi)).Messages[0].ID)
		}
		e.mustSend(helloMsg(budi)) // utility: not limited, not counted
		e.mustSend(promo(sari))    // another recipient has a limit of their own
		sts := e.catcher.waitStatuses(2*2 + 1 + 2 + 2)
		byID := statusesByID(sts)
		for i, id := range ids[:2] {
			if fmt.Sprint(byID[id]) != "[sent delivered]" {
				t.Fatalf("marketing %d: %v, want sent, delivered", i, byID[id])
			}
		}
		if fmt.Sprint(byID[ids[2]]) != "[failed]" {
			t.Fatalf("third marketing: %v, want one failed", byID[ids[2]])
		}
		for _, s := range sts {
			if s.ID == ids[2] && (s.Pricing != nil || len(s.Errors) != 1 || s.Errors[0].Code != provider.CodeMarketingUserLimit) {
				t.Fatalf("limited status %+v: want errors[131049] and no pricing", s)
			}
		}
		// Inside the window marketing is neither limited nor counted.
		e.inbound(InboundRequest{From: budi, Text: "hi"})
		inWin := e.mustSend(promo(budi)).Messages[0].ID
		e.catcher.wait("in-window marketing", func(c *catcher) bool { return len(statusesByID(c.statuses)[inWin]) == 2 })
		if st := e.sb.Stats(); st.MarketingLimited != 1 {
			t.Fatalf("stats: %d marketing-limited, want 1", st.MarketingLimited)
		}
		// Once the hour has passed (and the customer-service window closed), budi may
		// get marketing again.
		e.clk.Advance(25 * time.Hour)
		again := e.mustSend(promo(budi)).Messages[0].ID
		e.catcher.wait("marketing after the window", func(c *catcher) bool {
			return fmt.Sprint(statusesByID(c.statuses)[again]) == "[sent delivered]"
		})
	})
	t.Run("off by default", func(t *testing.T) {
		e := newEnv(t, Options{PairGap: -1, ReadRate: -1}, true)
		e.addTemplate("", "promo", "MARKETING", "Hi {{1}}, big sale today.")
		for i := 0; i < 10; i++ {
			e.mustSend(promo(budi))
		}
		for _, s := range e.catcher.waitStatuses(20) {
			if s.Status == provider.DeliveryFailed {
				t.Fatalf("failed status %+v with the limit off", s)
			}
		}
	})
}
