package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// Operator is a key with rights over the whole instance: it alone confirms top-ups,
// posts adjustments, takes backups, creates accounts and reads across accounts.
type Operator struct {
	// Name identifies the operator in the audit log. Required, unique.
	Name string `toml:"name"`
	// Key is the key itself, allowed only with the sandbox (the demo); otherwise give
	// KeySHA256, the SHA-256 hex of the key (kirim key hash).
	Key       string `toml:"key"`
	KeySHA256 string `toml:"key_sha256"`
}

// numberDefaults gives every number an account (the only one, when the file names a
// single account and the number none) and every account a default number: the one
// marked default, or its first.
func (c *Config) numberDefaults(has func(path ...string) bool) {
	if len(c.Accounts) == 1 {
		for i := range c.Numbers {
			def(has("numbers", strconv.Itoa(i), "account"), &c.Numbers[i].Account, c.Accounts[0].ID)
		}
	}
	marked := map[string]bool{}
	for _, n := range c.Numbers {
		marked[n.Account] = marked[n.Account] || n.Default
	}
	for i := range c.Numbers {
		if a := c.Numbers[i].Account; !marked[a] {
			c.Numbers[i].Default, marked[a] = true, true
		}
	}
}

// DefaultNumberOf returns the number an account's send uses when it names none, or nil
// when the account has no number.
func (c *Config) DefaultNumberOf(account string) *Number {
	for i := range c.Numbers {
		if n := &c.Numbers[i]; n.Account == account && n.Default {
			return n
		}
	}
	return nil
}

// validateTenancy checks who owns what: every number names a configured account, one
// WABA's numbers share an account (its templates are that account's), an account has at
// most one default number, and operators are well formed. No key may serve twice.
func (c *Config) validateTenancy(v *validator) {
	accounts := map[string]bool{}
	for _, a := range c.Accounts {
		accounts[a.ID] = true
	}
	wabaOwner := map[string]string{}
	defaults := map[string]bool{}
	for i, n := range c.Numbers {
		at := func(k string) []string { return []string{"numbers", strconv.Itoa(i), k} }
		switch {
		case n.Account == "":
			v.add("is required when there are several [[accounts]]: the account that owns the number", at("account")...)
			continue
		case !accounts[n.Account]:
			v.add(fmt.Sprintf("%q is not a configured account", n.Account), at("account")...)
			continue
		}
		if o, ok := wabaOwner[n.WABAID]; ok && o != n.Account && n.WABAID != "" {
			v.add(fmt.Sprintf("the WABA %s is already account %q's: numbers of one WABA share its templates, so they belong to one account", n.WABAID, o), at("account")...)
		}
		wabaOwner[n.WABAID] = n.Account
		if n.Default {
			if defaults[n.Account] {
				v.add(fmt.Sprintf("only one number of account %q may be the default", n.Account), at("default")...)
			}
			defaults[n.Account] = true
		}
	}

	names := map[string]bool{}
	for i, o := range c.Operators {
		at := func(k string) []string { return []string{"operators", strconv.Itoa(i), k} }
		if !reAlias.MatchString(o.Name) {
			v.add(fmt.Sprintf("%q must be 1-32 of a-z, 0-9, _ and -", o.Name), at("name")...)
		} else if names[o.Name] {
			v.add(fmt.Sprintf("%q is used twice", o.Name), at("name")...)
		}
		names[o.Name] = true
		switch {
		case o.Key == "" && o.KeySHA256 == "":
			v.add("give key_sha256 (or key, with the sandbox only)", at("key_sha256")...)
		case o.Key != "" && o.KeySHA256 != "":
			v.add("give key or key_sha256, not both", at("key")...)
		case o.Key != "" && c.Provider.Kind != ProviderSandbox:
			v.add("a plain operator key is for the sandbox only: give key_sha256 (kirim key hash)", at("key")...)
		case o.Key != "" && len(o.Key) < MinKeyLength:
			v.add(fmt.Sprintf("must be at least %d characters", MinKeyLength), at("key")...)
		case o.KeySHA256 != "":
			if b, err := hex.DecodeString(o.KeySHA256); err != nil || len(b) != 32 {
				v.add("must be 64 hex digits (the SHA-256 of the key)", at("key_sha256")...)
			}
		}
	}

	// One key, two holders would make the caller ambiguous.
	seen := map[string]string{}
	claim := func(key, hash string, path ...string) {
		h := strings.ToLower(hash)
		if key != "" {
			h = hexSHA256(key)
		}
		if h == "" {
			return
		}
		if prev, ok := seen[h]; ok {
			v.add("is the same key as "+prev+": every key names one holder", path...)
			return
		}
		seen[h] = keyString(path)
	}
	for i, o := range c.Operators {
		claim(o.Key, o.KeySHA256, "operators", strconv.Itoa(i), "key")
	}
	for i, a := range c.Accounts {
		for j, k := range a.Keys {
			claim(k.Key, k.KeySHA256, "accounts", strconv.Itoa(i), "keys", strconv.Itoa(j), "key")
		}
	}
}

func hexSHA256(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
