package config

import (
	"strings"
	"testing"
)

// twoAccounts is minimal with a second account, whose number is named explicitly.
const twoAccounts = minimal + `
[[accounts]]
id = "beta"
  [[accounts.keys]]
  key = "beta_key_0123456789"
  scopes = ["admin"]
`

func TestTenancyErrors(t *testing.T) {
	cases := []struct {
		name    string
		src     string
		env     []string
		wantKey string
		msg     string
	}{
		{"number without account among several", twoAccounts, nil, "numbers[0].account", "is required when there are several"},
		{"number of an unknown account", strings.Replace(minimal, `waba_id = "2"`, "waba_id = \"2\"\naccount = \"ghost\"", 1), nil, "numbers[0].account", `"ghost" is not a configured account`},
		{"one WABA, two accounts", strings.Replace(twoAccounts, `waba_id = "2"`, "waba_id = \"2\"\naccount = \"acme\"", 1) +
			"[[numbers]]\nalias = \"b\"\nphone_number_id = \"3\"\nwaba_id = \"2\"\naccount = \"beta\"\n", nil, "numbers[1].account", "belong to one account"},
		{"two defaults in one account", minimal + "[[numbers]]\nalias = \"b\"\nphone_number_id = \"3\"\nwaba_id = \"4\"\ndefault = true\n[[numbers]]\nalias = \"c\"\nphone_number_id = \"5\"\nwaba_id = \"4\"\ndefault = true\n",
			nil, "numbers[2].default", `only one number of account "acme"`},
		{"operator without a key", minimal + "[[operators]]\nname = \"ops\"\n", nil, "operators[0].key_sha256", "give key_sha256"},
		{"operator with a bad hash", minimal + "[[operators]]\nname = \"ops\"\nkey_sha256 = \"abc\"\n", nil, "operators[0].key_sha256", "64 hex digits"},
		{"operator named badly", minimal + "[[operators]]\nname = \"Ops Team\"\nkey = \"ops_key_0123456789\"\n", nil, "operators[0].name", "must be 1-32"},
		{"plain operator key with the cloud", "[provider]\nkind = \"cloud\"\ntoken = \"t\"\n" + minimal + "[[operators]]\nname = \"ops\"\nkey = \"ops_key_0123456789\"\n", nil,
			"operators[0].key", "sandbox only"},
		{"operator key is an account's", minimal + "[[operators]]\nname = \"ops\"\nkey = \"0123456789abcdef0123\"\n", nil, "accounts[0].keys[0].key", "same key as operators[0].key"},
		{"operator hash of an account's key", minimal + "[[operators]]\nname = \"ops\"\nkey_sha256 = \"" + hexSHA256("0123456789abcdef0123") + "\"\n", nil,
			"accounts[0].keys[0].key", "same key"},
		{"an amount from the environment", minimal, []string{"KIRIM_ACCOUNTS_ACME_LOW_BALANCE=1.5x"}, "accounts[0].low_balance", "digits with up to 6 decimals"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkParseError(t, tc.src, tc.env, tc.wantKey, 0, tc.msg)
		})
	}
}

func TestNumberOwnership(t *testing.T) {
	// One account: its numbers are its own, the first the default.
	c, err := Parse("k.toml", []byte(minimal+"[[numbers]]\nalias = \"b\"\nphone_number_id = \"3\"\nwaba_id = \"2\"\n"), []string{"KIRIM_ACCOUNTS_ACME_LOW_BALANCE=2.5"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Numbers[0].Account != "acme" || c.Numbers[1].Account != "acme" || c.DefaultNumberOf("acme").Alias != "main" {
		t.Fatalf("numbers %+v", c.Numbers)
	}
	if c.Accounts[0].LowBalance.Micros() != 2_500_000 {
		t.Fatalf("low balance from the environment: %d micros", c.Accounts[0].LowBalance.Micros())
	}
	// Two accounts: each its own default, an account without a number has none.
	src := strings.Replace(twoAccounts, `waba_id = "2"`, "waba_id = \"2\"\naccount = \"beta\"", 1) +
		"[[accounts]]\nid = \"gamma\"\n[[numbers]]\nalias = \"a1\"\nphone_number_id = \"3\"\nwaba_id = \"4\"\naccount = \"acme\"\n"
	c, err = Parse("k.toml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := c.DefaultNumberOf("beta"); n == nil || n.Alias != "main" {
		t.Fatalf("beta's default %+v", n)
	}
	if n := c.DefaultNumberOf("acme"); n == nil || n.Alias != "a1" {
		t.Fatalf("acme's default %+v", n)
	}
	if c.DefaultNumberOf("gamma") != nil {
		t.Fatal("an account without numbers has a default")
	}
}
