package sandbox

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"kirim/provider"
	ktemplate "kirim/template"
)

// withExample gives a one-variable body its sample, as a valid submission carries.
func withExample(d provider.TemplateDefinition, samples ...string) provider.TemplateDefinition {
	d.Components[0].Example = &provider.TemplateExample{BodyText: [][]string{samples}}
	return d
}

func TestLintReviewerUsesLintRuleIDs(t *testing.T) {
	named := func(name string) provider.TemplateDefinition {
		d := withExample(body("Halo {{1}}, pesanan Anda sudah dikirim."), "Budi")
		d.Name = name
		return d
	}
	withButtons := func(d provider.TemplateDefinition, bs ...provider.TemplateButtonDef) provider.TemplateDefinition {
		d.Components = append(d.Components, provider.TemplateComponentDef{Type: "BUTTONS", Buttons: bs})
		return d
	}
	auth := provider.TemplateDefinition{Name: "otp", Language: "en_US", Category: "AUTHENTICATION",
		Components: []provider.TemplateComponentDef{{Type: "BODY", AddSecurityRecommendation: true},
			{Type: "FOOTER", CodeExpirationMinutes: 5},
			{Type: "BUTTONS", Buttons: []provider.TemplateButtonDef{{Type: "OTP", OTPType: "COPY_CODE", Text: "Copy code"}}}}}
	cases := []struct {
		name string
		def  provider.TemplateDefinition
		rule string // "" = approved
	}{
		{"valid utility", named("order_shipped"), ""},
		{"valid authentication preset", auth, ""},
		{"upper-case name", named("Order_Shipped"), ktemplate.RuleNameCharset},
		{"variable at the start", withExample(body("{{1}} is here, your order."), "Budi"), ktemplate.RuleVariableAtEdge},
		{"variable at the end", withExample(body("Your order number is {{1}}"), "INV-9"), ktemplate.RuleVariableAtEdge},
		{"adjacent variables", withExample(body("Halo {{1}} {{2}}, pesanan Anda sudah dikirim."), "Budi", "Santoso"), ktemplate.RuleVariablesAdjacent},
		{"missing sample", body("Halo {{1}}, pesanan Anda sudah dikirim."), ktemplate.RuleVariableExampleMissing},
		{"shortened link", withExample(body("Halo {{1}}, lacak di https://bit.ly/abc sekarang."), "Budi"), ktemplate.RuleShortenedLink},
		{"double space", withExample(body("Halo {{1}},  pesanan Anda sudah dikirim."), "Budi"), ktemplate.RuleDoubleSpace},
		{"url variable in the domain", withButtons(named("track"), provider.TemplateButtonDef{Type: "URL", Text: "Lacak", URL: "https://example.com{{1}}", Example: []string{"x"}}), ktemplate.RuleURLFixedDomain},
		{"repeated component", provider.TemplateDefinition{Name: "two_bodies", Language: "id", Category: "UTILITY",
			Components: []provider.TemplateComponentDef{{Type: "BODY", Text: "a"}, {Type: "BODY", Text: "b"}}}, ruleComponents},
	}
	r := NewLintReviewer(0)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, reason := r.Review(tc.def)
			if tc.rule == "" {
				if status != tmplApproved || reason != "" {
					t.Fatalf("got %s %q, want APPROVED", status, reason)
				}
				return
			}
			if want := "INVALID_FORMAT: " + tc.rule; status != tmplRejected || reason != want {
				t.Fatalf("got %s %q, want REJECTED %q", status, reason, want)
			}
			if tc.rule == ruleComponents {
				return
			}
			// The reason is the linter's first error, whatever else it finds.
			tpl, err := ktemplate.FromDefinition(tc.def)
			if err != nil {
				t.Fatal(err)
			}
			var first string
			for _, v := range ktemplate.Lint(tpl) {
				if v.Severity == ktemplate.SeverityError {
					first = v.Rule
					break
				}
			}
			if first != tc.rule {
				t.Fatalf("linter's first error is %q, the reviewer said %q", first, tc.rule)
			}
		})
	}
}

func TestLintReviewerPromotionalRate(t *testing.T) {
	promo := func(i int) provider.TemplateDefinition {
		d := withExample(body("Halo {{1}}, ada bonus poin untuk pesanan berikutnya."), "Budi")
		d.Name = fmt.Sprintf("promo_%d", i)
		return d
	}
	plain := withExample(body("Halo {{1}}, pesanan Anda sudah dikirim."), "Budi")
	marketing := promo(99)
	marketing.Category = "MARKETING"
	cases := []struct {
		rate     float64
		rejected []int // which of 8 promotional UTILITY submissions are rejected
	}{
		{0, nil},
		{-1, nil},
		{0.25, []int{4, 8}},
		{0.5, []int{2, 4, 6, 8}},
		{1, []int{1, 2, 3, 4, 5, 6, 7, 8}},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.rate), func(t *testing.T) {
			r := NewLintReviewer(tc.rate)
			var got []int
			for i := 1; i <= 8; i++ {
				// Templates the rule does not apply to neither count nor get rejected.
				if s, _ := r.Review(plain); s != tmplApproved {
					t.Fatal("plain utility template rejected")
				}
				if s, _ := r.Review(marketing); s != tmplApproved {
					t.Fatal("promotional MARKETING template rejected")
				}
				status, reason := r.Review(promo(i))
				switch {
				case status == tmplApproved:
				case reason == "INCORRECT_CATEGORY: "+ktemplate.RulePromotionalInUtility:
					got = append(got, i)
				default:
					t.Fatalf("submission %d: %s %q", i, status, reason)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.rejected) {
				t.Fatalf("rejected %v, want %v", got, tc.rejected)
			}
		})
	}
}

// TestDefaultReviewIsLint: a sandbox built without a Reviewer reviews with the linter
// and, by default, rejects every second promotional UTILITY template; the webhook
// carries the reason and the rule.
func TestDefaultReviewIsLint(t *testing.T) {
	e := newEnv(t, Options{PairGap: -1}, true)
	ctx := context.Background()
	c := e.client(0)
	ids := map[string]string{}
	for _, d := range []provider.TemplateDefinition{
		withExample(body("{{1}} is here, your order."), "Budi"),
		withExample(body("Halo {{1}}, ada bonus poin untuk pesanan berikutnya."), "Budi"),
		withExample(body("Halo {{1}}, bonus poin Anda bertambah untuk pesanan berikutnya."), "Budi"),
		withExample(body("Halo {{1}}, dapatkan diskon untuk pesanan berikutnya."), "Budi"),
	} {
		d.Name = fmt.Sprintf("t_%d", len(ids))
		created, err := c.CreateTemplate(ctx, &d)
		mustOK(t, err)
		ids[created.ID] = d.Name
	}
	ups := e.catcher.waitField(provider.FieldTemplateStatusUpdate, 4)
	got := map[string]string{}
	for _, u := range ups {
		v := decode[provider.TemplateStatusUpdate](t, u.value)
		s := v.Event
		if v.RejectionInfo != nil {
			s += " " + v.Reason + ": " + v.RejectionInfo.Recommendation
		}
		got[ids[string(v.MessageTemplateID)]] = s
	}
	want := map[string]string{
		"t_0": "REJECTED INVALID_FORMAT: variable_at_edge",
		"t_1": "APPROVED",
		"t_2": "REJECTED INCORRECT_CATEGORY: promotional_in_utility",
		"t_3": "REJECTED INCORRECT_CATEGORY: promotional_offer_in_utility",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %q, want %q", k, got[k], v)
		}
	}
	for _, d := range e.sb.Templates() {
		if d.Name == "t_2" && (d.Status != "REJECTED" || !strings.HasPrefix(d.RejectedReason, "INCORRECT_CATEGORY")) {
			t.Errorf("t_2 stored as %s %q", d.Status, d.RejectedReason)
		}
	}
}
