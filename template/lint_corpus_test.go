package template

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"kirim/provider"
)

// The lint corpus holds template definitions as they are submitted to Meta:
// good.json must lint without errors (with exactly the warnings each entry names),
// bad.json must each fail with exactly the one error rule the entry names, so a
// template is refused for the fault it was written to show and for nothing else.
const corpusDir = "testdata/lint_corpus"

type corpusEntry struct {
	Rule     string                      `json:"rule"`
	Note     string                      `json:"note"`
	Warnings []string                    `json:"warnings"`
	Template provider.TemplateDefinition `json:"template"`
}

func loadCorpus(tb testing.TB, file string) []corpusEntry {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(corpusDir, file))
	if err != nil {
		tb.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var es []corpusEntry
	if err := dec.Decode(&es); err != nil {
		tb.Fatalf("%s: %v", file, err)
	}
	names := map[string]bool{}
	for _, e := range es {
		key := e.Template.Name + "/" + e.Template.Language
		if names[key] {
			tb.Fatalf("%s: %s appears twice", file, key)
		}
		names[key] = true
		if e.Note == "" {
			tb.Fatalf("%s: %s has no note", file, key)
		}
	}
	return es
}

// rulesOf splits violations into the sorted, distinct rule ids of errors and warnings.
func rulesOf(vs []Violation) (errs, warns []string) {
	for _, v := range vs {
		if v.Severity == SeverityError {
			errs = append(errs, v.Rule)
		} else {
			warns = append(warns, v.Rule)
		}
	}
	slices.Sort(errs)
	slices.Sort(warns)
	return slices.Compact(errs), slices.Compact(warns)
}

func lintEntry(t *testing.T, e corpusEntry) (Template, []Violation) {
	t.Helper()
	tpl, err := FromDefinition(e.Template)
	if err != nil {
		t.Fatalf("FromDefinition: %v", err)
	}
	return tpl, Lint(tpl)
}

func logViolations(t *testing.T, vs []Violation) {
	for _, v := range vs {
		t.Logf("  %s %s %s %q: %s", v.Severity, v.Rule, v.Component, v.Text, v.Message)
	}
}

func TestLintCorpusGood(t *testing.T) {
	es := loadCorpus(t, "good.json")
	if len(es) < 50 {
		t.Fatalf("%d approvable templates, want at least 50", len(es))
	}
	falsePositives := 0
	for _, e := range es {
		t.Run(e.Template.Name, func(t *testing.T) {
			tpl, vs := lintEntry(t, e)
			errs, warns := rulesOf(vs)
			want := slices.Sorted(slices.Values(e.Warnings))
			if len(errs) > 0 {
				falsePositives++
				t.Errorf("%s: approvable template refused with %v", e.Note, errs)
				logViolations(t, vs)
			}
			if !slices.Equal(warns, want) {
				t.Errorf("%s: warnings %v, want %v", e.Note, warns, want)
				logViolations(t, vs)
			}
			// What the linter passes, POST /v1/templates must accept too.
			if err := tpl.Validate(); err != nil {
				t.Errorf("%s: Validate: %v", e.Note, err)
			}
		})
	}
	t.Logf("good: %d templates, %d false positives", len(es), falsePositives)
	checkGoodCoverage(t, es)
}

func TestLintCorpusBad(t *testing.T) {
	es := loadCorpus(t, "bad.json")
	if len(es) < 50 {
		t.Fatalf("%d rejectable templates, want at least 50", len(es))
	}
	misses := 0
	covered := map[string]bool{}
	for _, e := range es {
		t.Run(e.Template.Name, func(t *testing.T) {
			if ruleSeverity[e.Rule] != SeverityError {
				t.Fatalf("%s: %q is not an error rule", e.Note, e.Rule)
			}
			covered[e.Rule] = true
			_, vs := lintEntry(t, e)
			errs, _ := rulesOf(vs)
			if !slices.Contains(errs, e.Rule) {
				misses++
			}
			if !slices.Equal(errs, []string{e.Rule}) {
				t.Errorf("%s: errors %v, want only %s", e.Note, errs, e.Rule)
				logViolations(t, vs)
			}
		})
	}
	// Every error rule has an example, except what a definition cannot carry.
	notOnTheWire := map[string]string{
		RuleMediaSampleSize: "the sample's size is known to Kirim, not written in the definition",
		RuleURLLength:       "a 2,000-character URL would make the corpus unreadable; TestLint covers it",
	}
	var missing []string
	errorRules := 0
	for _, r := range Rules {
		if r.Severity != SeverityError {
			continue
		}
		errorRules++
		if !covered[r.ID] && notOnTheWire[r.ID] == "" {
			missing = append(missing, r.ID)
		}
	}
	if len(missing) > 0 {
		t.Errorf("no rejectable template for %v", missing)
	}
	t.Logf("bad: %d templates, %d misses, %d of %d error rules covered", len(es), misses, len(covered), errorRules)
}

var (
	endsWithVarStop = regexp.MustCompile(`\}\}\.\s*$`)
	lineStartsVar   = regexp.MustCompile(`\n\{\{`)
)

// checkGoodCoverage keeps the approvable corpus as varied as it claims to be.
func checkGoodCoverage(t *testing.T, es []corpusEntry) {
	seen := map[string]bool{}
	for _, e := range es {
		d := e.Template
		seen["category "+d.Category] = true
		lang, _, _ := strings.Cut(d.Language, "_")
		seen["language "+lang] = true
		for _, c := range d.Components {
			switch c.Type {
			case "HEADER":
				seen["header "+c.Format] = true
			case "BODY":
				if strings.Contains(strings.ReplaceAll(c.Text, "\r\n", "\n"), "\n\n") {
					seen["blank line"] = true
				}
				if endsWithVarStop.MatchString(c.Text) {
					seen["variable before the final full stop"] = true
				}
				if lineStartsVar.MatchString(c.Text) {
					seen["variable at the start of a line"] = true
				}
			case "FOOTER":
				if c.Text != "" {
					seen["footer"] = true
				}
			case "BUTTONS":
				for _, b := range c.Buttons {
					seen["button "+b.Type] = true
				}
			}
		}
		if d.ParameterFormat == "NAMED" {
			seen["named parameters"] = true
		}
	}
	for _, want := range []string{
		"category UTILITY", "category MARKETING", "category AUTHENTICATION", "language id", "language en",
		"header TEXT", "header IMAGE", "header VIDEO", "header DOCUMENT", "header LOCATION", "footer",
		"button QUICK_REPLY", "button URL", "button PHONE_NUMBER", "button COPY_CODE", "button OTP",
		"blank line", "variable before the final full stop", "variable at the start of a line", "named parameters",
	} {
		if !seen[want] {
			t.Errorf("the approvable corpus has no template with %s", want)
		}
	}
}
