package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// parseErrors parses src with env and returns every error, failing if there is none.
func parseErrors(t *testing.T, src string, env ...string) Errors {
	t.Helper()
	_, err := Parse("k.toml", []byte(src), env)
	var es Errors
	if !errors.As(err, &es) || len(es) == 0 {
		t.Fatalf("want Errors, got %T %v", err, err)
	}
	return es
}

// TestErrorSources: a value from the environment is blamed on its variable, never on
// a line of the file; a value from the file on its line.
func TestErrorSources(t *testing.T) {
	cases := []struct {
		name string
		src  string
		env  []string
		want string
	}{
		{"env", minimal, []string{"KIRIM_NUMBERS_MAIN_THROUGHPUT_MPS=5000"},
			"config: KIRIM_NUMBERS_MAIN_THROUGHPUT_MPS: numbers[0].throughput_mps: must be between 1 and 1000"},
		{"env overrides a good file value", strings.Replace(minimal, `waba_id = "2"`, "waba_id = \"2\"\nthroughput_mps = 80", 1),
			[]string{"KIRIM_NUMBERS_MAIN_THROUGHPUT_MPS=0"},
			"config: KIRIM_NUMBERS_MAIN_THROUGHPUT_MPS: numbers[0].throughput_mps: must be between 1 and 1000"},
		{"env duration", minimal, []string{"KIRIM_SERVER_READ_TIMEOUT=soon"},
			`config: KIRIM_SERVER_READ_TIMEOUT: server.read_timeout: "soon" is not a duration`},
		{"file", "[server]\nlog_format = \"xml\"\n" + minimal, nil,
			`config: k.toml:2: server.log_format: "xml" is not "text" or "json"`},
		{"unknown variable", minimal, []string{"KIRIM_SERVER_LISTN=0.0.0.0:80"},
			"config: KIRIM_SERVER_LISTN: no such setting"},
		{"unknown number alias", minimal, []string{"KIRIM_NUMBERS_OTHER_TOKEN=t"},
			"config: KIRIM_NUMBERS_OTHER_TOKEN: no such setting"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			es := parseErrors(t, tc.src, tc.env...)
			if len(es) != 1 || !strings.HasPrefix(es[0].Error(), tc.want) {
				t.Fatalf("got %q, want one error starting %q", es.Error(), tc.want)
			}
		})
	}
	// Variables that are not settings are left alone.
	if _, err := Parse("k.toml", []byte(minimal), []string{"KIRIM_API_KEY=k", "KIRIM_PPROF=:6060", "KIRIM_E2E_CAMPAIGN_N=100"}); err != nil {
		t.Fatal(err)
	}
}

// TestAllErrorsAtOnce: every problem is reported, file ones top to bottom, then the
// environment's.
func TestAllErrorsAtOnce(t *testing.T) {
	src := "[server]\nlisten = \"nohost\"\nshutdown_timeout = \"0s\"\n[engine]\nretries = 3\nworkers = 0\n" + minimal
	es := parseErrors(t, src, "KIRIM_ENGINE_MAX_ATTEMPTS=0")
	want := []string{
		"k.toml:2: server.listen:",
		"k.toml:3: server.shutdown_timeout: must be a positive duration",
		"k.toml:5: engine.retries: unknown key",
		"k.toml:6: engine.workers: must be between 1 and 1024",
		"KIRIM_ENGINE_MAX_ATTEMPTS: engine.max_attempts: must be at least 1",
	}
	if len(es) != len(want) {
		t.Fatalf("%d errors, want %d:\n%v", len(es), len(want), es)
	}
	for i, w := range want {
		if !strings.Contains(es[i].Error(), w) {
			t.Errorf("error %d %q lacks %q", i, es[i].Error(), w)
		}
	}
}

// TestExplicitZero: 0 written where it makes no sense is refused, naming the key,
// instead of silently becoming the default; where 0 means something, it is kept.
func TestExplicitZero(t *testing.T) {
	refused := []struct{ set, key string }{
		{"[server]\nshutdown_timeout = \"0s\"", "server.shutdown_timeout"},
		{"[server]\nread_timeout = \"-1s\"", "server.read_timeout"},
		{"[server]\nmax_concurrent_bodies = 0", "server.max_concurrent_bodies"},
		{"[server]\nmax_body_bytes = 0", "server.max_body_bytes"},
		{"[storage]\nmemtable_mb = 0", "storage.memtable_mb"},
		{"[storage]\nnum_memtables = 0", "storage.num_memtables"},
		{"[storage]\ncompression = \"snappy\"\nblock_cache_mb = 0", "storage.block_cache_mb"},
		{"[storage]\ngc_interval = \"0s\"", "storage.gc_interval"},
		{"[provider]\ntimeout = \"0s\"", "provider.timeout"},
		{"[provider]\nportfolio_limit = 0", "provider.portfolio_limit"},
		{"[engine]\nmax_attempts = 0", "engine.max_attempts"},
		{"[engine]\nlease_timeout = \"0s\"", "engine.lease_timeout"},
		{"[engine]\nworkers = 0", "engine.workers"},
		{"[campaigns]\nfailure_pause_percent = 0", "campaigns.failure_pause_percent"},
		{"[campaigns]\nbatch = 0", "campaigns.batch"},
		{"[webhook]\nmax_concurrent_bodies = 0", "webhook.max_concurrent_bodies"},
	}
	for _, r := range refused {
		t.Run(r.key, func(t *testing.T) {
			src := strings.Replace(minimal, "[webhook]\n", r.set+"\n[webhook]\n", 1)
			if strings.HasPrefix(r.set, "[webhook]") {
				src = strings.Replace(minimal, "[webhook]\n", r.set+"\n", 1)
			}
			es := parseErrors(t, src)
			if es[0].Key != r.key || es[0].Line == 0 {
				t.Fatalf("got %v, want an error on %s with its line", es, r.key)
			}
		})
	}
	t.Run("number throughput", func(t *testing.T) {
		es := parseErrors(t, strings.Replace(minimal, `waba_id = "2"`, "waba_id = \"2\"\nthroughput_mps = 0", 1))
		if es[0].Key != "numbers[0].throughput_mps" || es[0].Line != 8 {
			t.Fatalf("got %v", es)
		}
	})
	src := "[sandbox]\nread_rate = 0\nstatus_delay = \"0s\"\n[engine]\ntier_poll = \"0s\"\n" +
		strings.Replace(minimal, `waba_id = "2"`, "waba_id = \"2\"\npair_gap = \"0s\"", 1)
	c, err := Parse("k.toml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Sandbox.ReadRate != 0 || c.Sandbox.StatusDelay.Duration != 0 || c.Engine.TierPoll.Duration != 0 || c.Numbers[0].PairGap.Duration != 0 {
		t.Fatalf("meaningful zeros replaced: read_rate %v status_delay %v tier_poll %v pair_gap %v",
			c.Sandbox.ReadRate, c.Sandbox.StatusDelay, c.Engine.TierPoll, c.Numbers[0].PairGap)
	}
	// Absent keys still get their defaults.
	c, err = Parse("k.toml", []byte(minimal), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Sandbox.ReadRate != 0.5 || c.Numbers[0].ThroughputMPS != 80 || c.Server.ReadTimeout.Duration != 30*time.Second ||
		c.Server.MaxConcurrentBodies != 64 || c.Webhook.MaxConcurrentBodies != 32 || c.Server.LogFormat != "text" {
		t.Fatalf("defaults: %+v %+v", c.Server, c.Sandbox)
	}
}

// TestEveryKindOfError: each kind of problem names its source (file:line and the full
// key, or the variable) and says what is wrong; problems of every kind are reported
// together.
func TestEveryKindOfError(t *testing.T) {
	number2 := "\n[[numbers]]\nalias = \"b\"\nphone_number_id = \"5\"\nwaba_id = \"2\"\n" // lines 14-17
	cases := []struct {
		name string
		src  string
		env  []string
		want []string
	}{
		{"wrong types, all of them", "[server]\nlisten = 8080\nmax_body_bytes = \"big\"\nread_timeout = 5\n" + minimal, nil, []string{
			"k.toml:2: server.listen: must be a string, not an integer",
			"k.toml:3: server.max_body_bytes: must be an integer, not a string",
			`k.toml:4: server.read_timeout: not a duration like "15s" or "2m": "5"`,
		}},
		{"wrong type in the second number", minimal + number2 + "throughput_mps = \"fast\"\n", nil, []string{
			"k.toml:18: numbers[1].throughput_mps: must be an integer, not a string",
		}},
		{"wrong type, then the rest still checked", "[engine]\nopt_out_keywords = \"STOP\"\nworkers = 0\nretries = 1\n" + minimal,
			[]string{"KIRIM_ENGINE_MAX_ATTEMPTS=0"}, []string{
				"k.toml:2: engine.opt_out_keywords: must be an array, not a string",
				"k.toml:3: engine.workers: must be between 1 and 1024",
				"k.toml:4: engine.retries: unknown key",
				"KIRIM_ENGINE_MAX_ATTEMPTS: engine.max_attempts: must be at least 1",
			}},
		{"a value the type refuses", "[storage]\ncompression = 3\n" + minimal, nil, []string{
			`k.toml:2: storage.compression: must be "none", "snappy" or "zstd", not 3`,
		}},
		{"a wrong type over several lines", "[storage]\nmemtable_mb = [1,\n2]\nnum_memtables = \"x\"\ntable_mb = \"\"\"\n1\n\"\"\"\n" + minimal, nil, []string{
			"k.toml:2: storage.memtable_mb: must be an integer, not an array",
			"k.toml:4: storage.num_memtables: must be an integer, not a string",
			"k.toml:5: storage.table_mb: must be a number, not a string",
		}},
		{"a table of the wrong kind stops there", "[[server]]\nlisten = \"a:1\"\n" + minimal, nil, []string{
			"k.toml:1: server: must be a table, not an array",
		}},
		{"syntax", "[server\nlisten = 1\n" + minimal, nil, []string{"k.toml:1:"}},
		{"unknown key in the second number", minimal + number2 + "throughput = 3\n", nil, []string{
			"k.toml:18: numbers[1].throughput: unknown key",
		}},
		{"unknown table named once", "[servr]\nlisten = \"a:1\"\nport = 2\n" + minimal, nil, []string{
			"k.toml:1: servr: unknown key",
		}},
		{"unknown key in an inline table", strings.Replace(minimal, "[[accounts.keys]]\n  key = \"0123456789abcdef0123\"\n  scopes = [\"send\"]",
			"keys = [{key = \"0123456789abcdef0123\", scopes = [\"send\"], scope = \"x\"}]", 1), nil, []string{
			"k.toml:10: accounts.keys.scope: unknown key",
		}},
		{"unknown keys in two rate cards", minimal + "[[rate_cards]]\neffective = 2025-01-01\n[[rate_cards.prices]]\ncategory = \"x\"\namounts = [1]\nprice = 2\n" +
			"[[rate_cards]]\neffective = 2025-02-01\n[[rate_cards.prices]]\ncategory = \"x\"\namounts = [1]\nprice = 2\n", nil, []string{
			"k.toml:18: rate_cards[0].prices[0].price: unknown key",
			"k.toml:24: rate_cards[1].prices[0].price: unknown key",
		}},
		{"environment: by variable name, after the file", "[server]\nlog_level = \"loud\"\n" + minimal,
			[]string{"KIRIM_ZZZ=1", "KIRIM_SERVER_READ_TIMEOUT=soon", "KIRIM_ENGINE_WORKERS=0", "KIRIM_SERVER_LOG_FORMAT="}, []string{
				`k.toml:2: server.log_level: "loud" is not one of debug, info, warn, error`,
				"KIRIM_ENGINE_WORKERS: engine.workers: must be between 1 and 1024",
				`KIRIM_SERVER_LOG_FORMAT: server.log_format: "" is not "text" or "json"`,
				`KIRIM_SERVER_READ_TIMEOUT: server.read_timeout: "soon" is not a duration`,
				"KIRIM_ZZZ: no such setting",
			}},
		{"a missing section has no line, after those with one", "[server]\nlisten = \"x\"\n", nil, []string{
			"k.toml:2: server.listen:",
			"k.toml: webhook.app_secret: is required",
			"k.toml: numbers: at least one",
			"k.toml: accounts: at least one",
		}},
		{"write timeout shorter than the body", "[server]\nread_timeout = \"30s\"\nwrite_timeout = \"20s\"\n" + minimal, nil, []string{
			"k.toml:3: server.write_timeout: must be 0 (none) or longer than server.read_timeout (30s)",
		}},
		{"header timeout longer than the request", "[server]\nread_header_timeout = \"1m\"\n" + minimal, nil, []string{
			"k.toml:2: server.read_header_timeout: must not be longer than server.read_timeout",
		}},
		{"negative write timeout from the environment", minimal, []string{"KIRIM_SERVER_WRITE_TIMEOUT=-1s"}, []string{
			"KIRIM_SERVER_WRITE_TIMEOUT: server.write_timeout: must not be negative",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			es := parseErrors(t, tc.src, tc.env...)
			if len(es) != len(tc.want) {
				t.Fatalf("%d errors, want %d:\n%v", len(es), len(tc.want), es)
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(es[i].Error(), "config: "+w) {
					t.Errorf("error %d:\n got %q\nwant %q...", i, es[i].Error(), "config: "+w)
				}
			}
		})
	}
}

// TestErrorsUnwrap: a caller may look for one *Error in what Load returns.
func TestErrorsUnwrap(t *testing.T) {
	_, err := Parse("k.toml", []byte("[server]\nlisten = \"x\"\n"+minimal), nil)
	var e *Error
	if !errors.As(err, &e) || e.Key != "server.listen" || e.Line != 2 {
		t.Fatalf("errors.As: %#v from %v", e, err)
	}
}

// TestMeaningfulZeros: where 0 means something documented, it is kept as written.
func TestMeaningfulZeros(t *testing.T) {
	src := "[server]\nwrite_timeout = \"0s\"\nmemory_limit_mb = 0\n[storage]\nindex_cache_mb = 0\n[campaigns]\nmissed_run_grace = \"0s\"\n" + minimal
	c, err := Parse("k.toml", []byte(src), []string{"KIRIM_SANDBOX_REVIEW_DELAY=0s"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.WriteTimeout.Duration != 0 || c.Storage.IndexCacheMB != 0 || c.Campaigns.MissedRunGrace.Duration != 0 || c.Sandbox.ReviewDelay.Duration != 0 {
		t.Fatalf("zeros replaced: write_timeout %v index_cache_mb %d missed_run_grace %v review_delay %v",
			c.Server.WriteTimeout, c.Storage.IndexCacheMB, c.Campaigns.MissedRunGrace, c.Sandbox.ReviewDelay)
	}
	c, err = Parse("k.toml", []byte(minimal), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.WriteTimeout.Duration != 60*time.Second || c.Server.ReadHeaderTimeout.Duration != 10*time.Second ||
		c.Server.IdleTimeout.Duration != 2*time.Minute || c.Server.MetricsToken != "" {
		t.Fatalf("server defaults %+v", c.Server)
	}
}
