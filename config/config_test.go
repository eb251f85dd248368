package config

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestExampleConfigLoads(t *testing.T) {
	c, err := Load("../config.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Provider.Kind != ProviderSandbox || c.Server.DataDir != "./data" {
		t.Fatalf("kind %q data %q", c.Provider.Kind, c.Server.DataDir)
	}
	n := c.DefaultNumberOf(c.Accounts[0].ID)
	if n == nil || n.Alias != "main" || n.PhoneNumberID != "100000000000001" || n.WABAID != "200000000000001" {
		t.Fatalf("default number %+v", n)
	}
	if c.Webhook.AppSecret == "" || c.Webhook.VerifyToken == "" {
		t.Fatal("example must name app_secret and verify_token")
	}
	if len(c.Accounts) != 1 || len(c.Accounts[0].Keys) != 1 || c.Accounts[0].Keys[0].Key == "" {
		t.Fatalf("demo account %+v", c.Accounts)
	}
	if c.Engine.UnknownTimeout.Duration != time.Minute {
		t.Fatalf("unknown_timeout %v", c.Engine.UnknownTimeout)
	}
}

func TestExampleDocumentsEveryKey(t *testing.T) {
	src, err := os.ReadFile("../config.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(src), "\n")
	for i, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" || l[0] == '#' || l[0] == '[' {
			continue
		}
		prev := strings.TrimSpace(lines[i-1])
		if !strings.HasPrefix(prev, "#") && !strings.Contains(prev, "=") && !strings.HasPrefix(prev, "[") {
			t.Errorf("line %d %q has no comment above it", i+1, l)
		}
	}
}

const minimal = `
[webhook]
app_secret = "s"
[[numbers]]
alias = "main"
phone_number_id = "1"
waba_id = "2"
[[accounts]]
id = "acme"
  [[accounts.keys]]
  key = "0123456789abcdef0123"
  scopes = ["send"]
`

func TestErrorsNameKeyAndLine(t *testing.T) {
	cases := []struct {
		name    string
		src     string
		env     []string
		wantKey string
		line    int
		msg     string
	}{
		{"syntax", "[server\nlisten=1", nil, "", 1, ""},
		{"unknown key", minimal + "\n[engine]\nretries = 3\n", nil, "engine.retries", 15, "unknown key"},
		{"bad type", "[server]\nlisten = 8080\n", nil, "", 2, ""},
		{"bad listen", "[server]\nlisten = \"nohost\"\n" + minimal, nil, "server.listen", 2, "host:port"},
		{"throughput", strings.Replace(minimal, `waba_id = "2"`, "waba_id = \"2\"\nthroughput_mps = 5000", 1), nil, "numbers[0].throughput_mps", 8, "between 1 and 1000"},
		{"second number bad id", minimal + "\n[[numbers]]\nalias = \"b\"\nphone_number_id = \"x\"\nwaba_id = \"2\"\n", nil, "numbers[1].phone_number_id", 16, "numeric"},
		{"duplicate alias", minimal + "\n[[numbers]]\nalias = \"main\"\nphone_number_id = \"3\"\nwaba_id = \"2\"\n", nil, "numbers[1].alias", 15, "used twice"},
		{"timezone", strings.Replace(minimal, `id = "acme"`, "id = \"acme\"\ntimezone = \"Mars/Olympus\"", 1), nil, "accounts[0].timezone", 10, "timezone"},
		{"scope", strings.Replace(minimal, `["send"]`, `["root"]`, 1), nil, "accounts[0].keys[0].scopes", 12, "not one of"},
		{"short key", strings.Replace(minimal, `0123456789abcdef0123`, `short`, 1), nil, "accounts[0].keys[0].key", 11, "at least 16"},
		{"cloud needs token", "[provider]\nkind = \"cloud\"\n[webhook]\nverify_token = \"v\"\n" + strings.Replace(minimal, "[webhook]\n", "[x]\n", 1), nil, "", 0, ""},
		{"env bad int", minimal, []string{"KIRIM_ENGINE_MAX_ATTEMPTS=many"}, "", 0, "KIRIM_ENGINE_MAX_ATTEMPTS"},
		{"table size", "[storage]\ntable_mb = 128\n" + minimal, nil, "storage.table_mb", 2, "between 0.25 and 64"},
		{"table size too small", "[storage]\ntable_mb = 0.1\n" + minimal, nil, "storage.table_mb", 2, "between 0.25 and 64"},
		{"memtable size", "[storage]\nmemtable_mb = 2\n" + minimal, nil, "storage.memtable_mb", 2, "at least 4"},
		{"webhook batch", "[sandbox]\nwebhook_batch = 0\n" + minimal, nil, "sandbox.webhook_batch", 2, "at least 1"},
		{"compression name", "[storage]\ncompression = \"lz4\"\n" + minimal, nil, "storage.compression", 2, `"lz4" is not "none", "snappy" or "zstd"`},
		{"compression type", "[storage]\ncompression = 3\n" + minimal, nil, "storage.compression", 2, "not 3"},
		{"idempotency ttl", "[engine]\nidempotency_ttl = \"1h\"\n" + minimal, nil, "engine.idempotency_ttl", 2, "at least 24h"},
		{"env bad value", minimal, []string{"KIRIM_ENGINE_UNKNOWN_POLICY=maybe"}, "engine.unknown_policy", 0, "fail"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkParseError(t, tc.src, tc.env, tc.wantKey, tc.line, tc.msg)
		})
	}
}

func TestEnvOverrides(t *testing.T) {
	env := []string{
		"KIRIM_WEBHOOK_APP_SECRET=from-env",
		"KIRIM_NUMBERS_MAIN_TOKEN=tok",
		"KIRIM_ENGINE_LEASE_TIMEOUT=5m",
		"KIRIM_SERVER_LISTEN=0.0.0.0:9000",
		"KIRIM_ACCOUNTS_ACME_NAME=Acme",
		"KIRIM_ACCOUNTS_ACME_KEYS_0_SCOPES=send, admin",
		"OTHER=1",
	}
	c, err := Parse("k.toml", []byte(minimal), env)
	if err != nil {
		t.Fatal(err)
	}
	if c.Webhook.AppSecret != "from-env" || c.Numbers[0].Token != "tok" || c.Engine.LeaseTimeout.Duration != 5*time.Minute ||
		c.Server.Listen != "0.0.0.0:9000" || c.Accounts[0].Name != "Acme" || len(c.Accounts[0].Keys[0].Scopes) != 2 {
		t.Fatalf("overrides not applied: %+v", c)
	}
}

// TestStorageSettings: the storage settings added as the small-memory profile grew read
// from the file and from the environment, in their older forms too; the block cache's
// default follows the compression, and the memory limit's default the whole section.
func TestStorageSettings(t *testing.T) {
	cases := []struct {
		name        string
		src         string
		env         []string
		compression Compression
		tableMB     float64
		blockCache  int
		limit       int
	}{
		{"defaults", "", nil, CompressionSnappy, 1, 16, 375},
		{"compression by name", "compression = \"zstd\"", nil, CompressionZstd, 1, 16, 375},
		{"true, as before names", "compression = true", nil, CompressionSnappy, 1, 16, 375},
		{"false", "compression = false", nil, CompressionNone, 1, 0, 231},
		{"compression name from env", "compression = true", []string{"KIRIM_STORAGE_COMPRESSION=zstd"}, CompressionZstd, 1, 16, 375},
		{"compression boolean from env", "", []string{"KIRIM_STORAGE_COMPRESSION=true"}, CompressionSnappy, 1, 16, 375},
		{"block cache given", "compression = \"snappy\"\nblock_cache_mb = 32", nil, CompressionSnappy, 1, 32, 391},
		{"whole table size", "table_mb = 2", nil, CompressionSnappy, 2, 16, 375},
		{"fractional table size", "table_mb = 0.25", nil, CompressionSnappy, 0.25, 16, 375},
		{"table size from env", "table_mb = 8", []string{"KIRIM_STORAGE_TABLE_MB=0.5"}, CompressionSnappy, 0.5, 16, 375},
		{"small-memory settings", "memtable_mb = 4\nnum_memtables = 2\ntable_mb = 0.25\ncompression = \"none\"", nil, CompressionNone, 0.25, 0, 83},
		{"limit given", "[server]\nmemory_limit_mb = 200", nil, CompressionSnappy, 1, 16, 200},
		{"limit off", "[server]\nmemory_limit_mb = 0", nil, CompressionSnappy, 1, 16, 0},
		{"limit from env", "", []string{"KIRIM_SERVER_MEMORY_LIMIT_MB=150"}, CompressionSnappy, 1, 16, 150},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("k.toml", []byte("[storage]\n"+tc.src+"\n"+minimal), tc.env)
			if err != nil {
				t.Fatal(err)
			}
			st := c.Storage
			if st.Compression != tc.compression || st.TableMB != tc.tableMB || st.BlockCacheMB != tc.blockCache {
				t.Fatalf("compression %q, table_mb %v, block_cache_mb %d; want %q, %v, %d",
					st.Compression, st.TableMB, st.BlockCacheMB, tc.compression, tc.tableMB, tc.blockCache)
			}
			if c.Server.MemoryLimitMB != tc.limit {
				t.Fatalf("memory_limit_mb %d, want %d", c.Server.MemoryLimitMB, tc.limit)
			}
		})
	}
}

// TestDerivedMemoryLimit: the parts of the derived limit, each moving it as documented.
func TestDerivedMemoryLimit(t *testing.T) {
	base := Storage{MemTableMB: 4, NumMemtables: 2, TableMB: 0.25, Compression: CompressionNone, IndexCacheMB: 16}
	cases := []struct {
		name string
		edit func(*Storage)
		want int
	}{
		// 24 + 2 x 4 x 1.3 + 8 x 4 + 16 = 82.4, rounded up.
		{"defaults", func(*Storage) {}, 83},
		// Builders hold room for the compressed copy: 8 x 2 x 4 more; and the block cache.
		{"compressed", func(s *Storage) { s.Compression, s.BlockCacheMB = CompressionSnappy, 8 }, 123},
		{"one more memtable", func(s *Storage) { s.NumMemtables = 3 }, 88},
		{"larger memtables", func(s *Storage) { s.MemTableMB = 8 }, 125},
		{"no index cache", func(s *Storage) { s.IndexCacheMB = 0 }, 67},
		{"table size does not count", func(s *Storage) { s.TableMB = 4 }, 83},
		{"the earlier defaults", func(s *Storage) {
			s.MemTableMB, s.NumMemtables, s.TableMB, s.Compression, s.BlockCacheMB = 16, 3, 1, CompressionSnappy, 16
		}, 375},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := base
			tc.edit(&s)
			if got := DerivedMemoryLimitMB(s); got != tc.want {
				t.Fatalf("DerivedMemoryLimitMB(%+v) = %d, want %d", s, got, tc.want)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	c, err := Parse("k.toml", []byte(minimal), nil)
	if err != nil {
		t.Fatal(err)
	}
	n := c.Numbers[0]
	if n.ThroughputMPS != 80 || n.PairGap.Duration != 6*time.Second || !n.Default || n.MessagingLimit != 1000 {
		t.Fatalf("number defaults %+v", n)
	}
	a := c.Accounts[0]
	if a.Currency != "IDR" || a.Timezone != "Asia/Jakarta" || a.DefaultRegion != "ID" {
		t.Fatalf("account defaults %+v", a)
	}
	if c.Provider.Rules != Rules2025 || c.Provider.PortfolioLimit != 250 || c.Engine.UnknownPolicy != "fail" ||
		c.Engine.UnknownTimeout.Duration != time.Minute {
		t.Fatalf("defaults %+v %+v", c.Provider, c.Engine)
	}
}

// FuzzParse: whatever the file and the KIRIM_ variables (env holds NAME=VALUE lines),
// Parse never panics, every error names its source (a line within the file, or one of
// the variables given), and an accepted configuration is whole.
func FuzzParse(f *testing.F) {
	src, _ := os.ReadFile("../config.example.toml")
	f.Add(string(src), "")
	f.Add(minimal, "KIRIM_NUMBERS_MAIN_THROUGHPUT_MPS=0\nKIRIM_SERVER_LISTN=x")
	f.Add(minimal, "KIRIM_SERVER_WRITE_TIMEOUT=1s\nKIRIM_ACCOUNTS_ACME_KEYS_0_SCOPES=send,admin")
	f.Add("[server]\nlisten = 1\nmax_body_bytes = \"x\"", "")
	f.Add("[[numbers]]\n[[numbers]]\nalias=\"\"\nthroughput = 1", "KIRIM_NUMBERS_0_ALIAS=a")
	f.Add(minimal+card, "KIRIM_STORAGE_COMPRESSION=true")
	f.Fuzz(func(t *testing.T, s, env string) {
		var environ []string
		vars := map[string]bool{}
		for _, kv := range strings.Split(env, "\n") {
			if k, _, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, EnvPrefix) {
				environ = append(environ, kv)
				vars[k] = true
			}
		}
		c, err := Parse("f.toml", []byte(s), environ)
		if err == nil {
			if len(c.Numbers) == 0 || len(c.Accounts) == 0 {
				t.Fatalf("accepted a config without numbers or accounts")
			}
			for _, n := range c.Numbers {
				if c.DefaultNumberOf(n.Account) == nil {
					t.Fatalf("number %q: account %q has no default number", n.Alias, n.Account)
				}
			}
			if d := c.NeedRestart(c); d != nil {
				t.Fatalf("a configuration differs from itself: %q", d)
			}
			return
		}
		es, ok := err.(Errors)
		if !ok || len(es) == 0 {
			t.Fatalf("error of type %T: %v", err, err)
		}
		lines := strings.Count(s, "\n") + 1
		for _, e := range es {
			switch {
			case e.Env != "" && !vars[e.Env]:
				t.Fatalf("an error blames a variable not set: %v", e)
			case e.Env == "" && (e.File != "f.toml" || e.Line < 0 || e.Line > lines):
				t.Fatalf("an error without its source in the file: %v", e)
			}
		}
	})
}

// checkParseError parses src (file k.toml) with env and checks that the error names
// wantKey and line (when given) and says msg.
func checkParseError(t *testing.T, src string, env []string, wantKey string, line int, msg string) {
	t.Helper()
	_, err := Parse("k.toml", []byte(src), env)
	if err == nil {
		t.Fatal("want an error")
	}
	es, ok := err.(Errors)
	if !ok || len(es) == 0 {
		t.Fatalf("error %T %v", err, err)
	}
	ce := es[0]
	for _, e := range es {
		if e.Key == wantKey {
			ce = e
		}
	}
	if wantKey != "" && ce.Key != wantKey {
		t.Errorf("key %q, want %q (%v)", ce.Key, wantKey, err)
	}
	if line != 0 && ce.Line != line {
		t.Errorf("line %d, want %d (%v)", ce.Line, line, err)
	}
	if !strings.Contains(ce.Error(), msg) || ce.Env == "" && !strings.Contains(ce.Error(), "k.toml") {
		t.Errorf("message %q lacks %q", err, msg)
	}
}
