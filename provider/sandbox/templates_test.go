package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"kirim/provider"
)

func body(text string) provider.TemplateDefinition {
	return provider.TemplateDefinition{Name: "t1", Language: "en_US", Category: "UTILITY",
		Components: []provider.TemplateComponentDef{{Type: "BODY", Text: text}}}
}

func TestDefaultReviewer(t *testing.T) {
	withName := func(name string) provider.TemplateDefinition {
		d := body("Hi {{1}}, thanks.")
		d.Name = name
		return d
	}
	auth := provider.TemplateDefinition{Name: "otp", Language: "en_US", Category: "AUTHENTICATION",
		Components: []provider.TemplateComponentDef{{Type: "BODY", AddSecurityRecommendation: true},
			{Type: "BUTTONS", Buttons: []provider.TemplateButtonDef{{Type: "OTP", OTPType: "COPY_CODE", Text: "Copy"}}}}}
	cases := []struct {
		name   string
		def    provider.TemplateDefinition
		reason string // "" = approved
	}{
		{"fine", body("Hi {{1}}, your order {{2}} shipped."), ""},
		{"named variables", body("Hi {{first_name}}, thanks."), ""},
		{"authentication preset body", auth, ""},
		{"uppercase name", withName("Order_Update"), "INVALID_FORMAT: name_charset"},
		{"dash in name", withName("order-update"), "INVALID_FORMAT: name_charset"},
		{"long name", withName(strings.Repeat("a", 513)), "INVALID_FORMAT: name_length"},
		{"no body", provider.TemplateDefinition{Name: "t", Category: "UTILITY",
			Components: []provider.TemplateComponentDef{{Type: "FOOTER", Text: "x"}}}, "INVALID_FORMAT: body_missing"},
		{"body too long", body("Hi " + strings.Repeat("x", 1022)), "INVALID_FORMAT: body_too_long"},
		{"variable at start", body("{{1}} is your code."), "INVALID_FORMAT: body_variable_at_edge"},
		{"variable at end", body("Your code is {{1}}"), "INVALID_FORMAT: body_variable_at_edge"},
		{"variable at end with spaces", body("Your code is {{ 1 }}  "), "INVALID_FORMAT: body_variable_at_edge"},
		{"adjacent variables", body("Hi {{1}}{{2}} thanks."), "INVALID_FORMAT: body_adjacent_variables"},
		{"adjacent with a space", body("Hi {{1}} {{2}} thanks."), "INVALID_FORMAT: body_adjacent_variables"},
		{"short link", body("See bit.ly/abc for {{1}} now."), "INVALID_FORMAT: shortened_link"},
		{"short link in button", func() provider.TemplateDefinition {
			d := body("Track {{1}} here.")
			d.Components = append(d.Components, provider.TemplateComponentDef{Type: "BUTTONS",
				Buttons: []provider.TemplateButtonDef{{Type: "URL", Text: "Go", URL: "https://tinyurl.com/{{1}}"}}})
			return d
		}(), "INVALID_FORMAT: shortened_link"},
		{"a host that merely ends like a shortener", body("Visit https://arbit.ly.example.com/x for {{1}} now."), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, reason := DefaultReviewer(tc.def)
			want := "APPROVED"
			if tc.reason != "" {
				want = "REJECTED"
			}
			if status != want || reason != tc.reason {
				t.Fatalf("got %s %q, want %s %q", status, reason, want, tc.reason)
			}
		})
	}
}

func TestScanVars(t *testing.T) {
	cases := []struct {
		text string
		want varScan
	}{
		{"Hi {{1}}, order {{2}} and {{1}} again.", varScan{count: 2}},
		{"{{1}}", varScan{count: 1, atStart: true, atEnd: true}},
		{"no vars {{}} {{ bad name }}", varScan{}},
		{"a {{x}}{{y}} b", varScan{count: 2, adjacent: true}},
		{"unclosed {{1", varScan{}},
	}
	for _, c := range cases {
		if got := scanVars(c.text); got != c.want {
			t.Errorf("scanVars(%q) = %+v, want %+v", c.text, got, c.want)
		}
	}
}

func TestTemplateLifecycle(t *testing.T) {
	e := newEnv(t, Options{ReviewDelay: 10 * time.Second, PairGap: -1}, true)
	ctx := context.Background()
	c := e.client(0)
	good := body("Halo {{1}}, pesanan Anda sudah dikirim.")
	good.Name = "order_shipped"
	good.Components[0].Example = &provider.TemplateExample{BodyText: [][]string{{"Budi"}}}
	created, err := c.CreateTemplate(ctx, &good)
	mustOK(t, err)
	if created.Status != "PENDING" || created.ID == "" || created.Category != "UTILITY" {
		t.Fatalf("created %+v", created)
	}
	bad := body("{{1}} is here, your order.")
	bad.Name = "bad_one"
	bad.Components[0].Example = &provider.TemplateExample{BodyText: [][]string{{"Budi"}}}
	badCreated, err := c.CreateTemplate(ctx, &bad)
	mustOK(t, err)
	if _, err := c.CreateTemplate(ctx, &good); err == nil {
		t.Fatal("duplicate accepted")
	} else if pe, _ := provider.AsError(err); pe == nil || pe.Code != 100 || !strings.Contains(pe.Details, "already exists") {
		t.Fatalf("duplicate: %v, want 100 already exists", err)
	}
	e.wantCode(0, tmplMsg(budi, "order_shipped", "Budi"), provider.CodeTemplateMissing) // still pending

	e.clk.Advance(10 * time.Second)
	ups := e.catcher.waitField(provider.FieldTemplateStatusUpdate, 2)
	got := map[string]provider.TemplateStatusUpdate{}
	for _, u := range ups {
		if u.entryID != DefaultWABAID {
			t.Fatalf("template webhook entry id %q", u.entryID)
		}
		v := decode[provider.TemplateStatusUpdate](t, u.value)
		got[string(v.MessageTemplateID)] = v
	}
	if g := got[created.ID]; g.Event != "APPROVED" || g.MessageTemplateName != "order_shipped" || g.Reason != "NONE" || g.MessageTemplateLanguage != "en_US" {
		t.Fatalf("approval %+v", g)
	}
	if g := got[badCreated.ID]; g.Event != "REJECTED" || g.Reason != "INVALID_FORMAT" || g.RejectionInfo == nil ||
		g.RejectionInfo.Recommendation != "variable_at_edge" {
		t.Fatalf("rejection %+v", g)
	}
	e.mustSend(tmplMsg(budi, "order_shipped", "Budi"))
	e.wantCode(0, tmplMsg(sari, "bad_one", "x"), provider.CodeTemplateMissing)

	// A second language is a separate template; delete by name removes both.
	good.Language = "id"
	_, err = c.CreateTemplate(ctx, &good)
	mustOK(t, err)
	all, err := c.ListTemplates(ctx)
	mustOK(t, err)
	if len(all) != 4 {
		t.Fatalf("%d templates, want hello_world + 3", len(all))
	}
	mustOK(t, c.DeleteTemplate(ctx, "order_shipped", ""))
	all, err = c.ListTemplates(ctx)
	mustOK(t, err)
	for _, d := range all {
		if d.Name == "order_shipped" {
			t.Fatalf("deleted template still listed: %+v", d)
		}
	}
	mustOK(t, c.DeleteTemplate(ctx, "bad_one", badCreated.ID))
	if err := c.DeleteTemplate(ctx, "bad_one", ""); err == nil {
		t.Fatal("deleting a missing template succeeded")
	}
}

func TestTemplateListPaging(t *testing.T) {
	e := newEnv(t, Options{ReviewDelay: time.Hour}, false)
	ctx := context.Background()
	for i := 0; i < 6; i++ {
		d := body("Hello {{1}} there.")
		d.Name = fmt.Sprintf("t_%d", i)
		_, err := e.client(0).CreateTemplate(ctx, &d)
		mustOK(t, err)
	}
	next := e.srv.URL + "/v25.0/" + DefaultWABAID + "/message_templates?limit=3&fields=name,status"
	var names []string
	pages := 0
	for next != "" {
		req, _ := http.NewRequest(http.MethodGet, next, nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := http.DefaultClient.Do(req)
		mustOK(t, err)
		var page provider.TemplateList
		mustOK(t, json.NewDecoder(resp.Body).Decode(&page))
		resp.Body.Close()
		pages++
		for _, d := range page.Data {
			names = append(names, d.Name)
		}
		next = ""
		if page.Paging != nil {
			next = page.Paging.Next
		}
	}
	if pages != 3 || fmt.Sprint(names) != "[hello_world t_0 t_1 t_2 t_3 t_4 t_5]" {
		t.Fatalf("%d pages: %v", pages, names)
	}
	// Filters.
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/v25.0/"+DefaultWABAID+"/message_templates?status=APPROVED", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	mustOK(t, err)
	defer resp.Body.Close()
	var page provider.TemplateList
	mustOK(t, json.NewDecoder(resp.Body).Decode(&page))
	if len(page.Data) != 1 || page.Data[0].Name != "hello_world" || page.Data[0].QualityScore == nil {
		t.Fatalf("approved filter: %+v", page.Data)
	}
}

func TestTemplateInspectionUpdates(t *testing.T) {
	e := newEnv(t, Options{}, true)
	mustOK(t, e.sb.UpdateTemplate("hello_world", "en_US", TemplateUpdate{Quality: "RED", Category: "MARKETING"}))
	q := e.catcher.waitField(provider.FieldTemplateQualityUpdate, 1)
	if v := decode[provider.TemplateQualityUpdate](t, q[0].value); v.PreviousQualityScore != "GREEN" || v.NewQualityScore != "RED" {
		t.Fatalf("quality update %s", q[0].value)
	}
	c := e.catcher.waitField(provider.FieldTemplateCategoryUpdate, 1)
	if v := decode[provider.TemplateCategoryUpdate](t, c[0].value); v.PreviousCategory != "UTILITY" || v.NewCategory != "MARKETING" {
		t.Fatalf("category update %s", c[0].value)
	}
	mustOK(t, e.sb.SetTemplateStatus("hello_world", "en_US", "PAUSED"))
	s := e.catcher.waitField(provider.FieldTemplateStatusUpdate, 1)
	if v := decode[provider.TemplateStatusUpdate](t, s[0].value); v.Event != "PAUSED" || v.OtherInfo == nil || v.MessageTemplateCategory != "MARKETING" {
		t.Fatalf("status update %s", s[0].value)
	}
	if err := e.sb.SetTemplateStatus("nope", "en_US", "PAUSED"); err == nil {
		t.Fatal("unknown template updated")
	}
	if err := e.sb.SetTemplateStatus("hello_world", "en_US", "SLEEPING"); err == nil {
		t.Fatal("bad status accepted")
	}
	// The new category prices the next send.
	mustOK(t, e.sb.SetTemplateStatus("hello_world", "en_US", "REINSTATED"))
	e.mustSend(helloMsg(budi))
	sts := e.catcher.waitStatuses(1)
	if sts[0].Pricing == nil || sts[0].Pricing.Category != "marketing" {
		t.Fatalf("pricing after re-categorisation: %+v", sts[0].Pricing)
	}
}
