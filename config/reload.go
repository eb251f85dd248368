package config

import (
	"reflect"
	"strconv"
	"strings"
)

// reloadable are the settings a running Kirim applies from a new reading of its file
// (SIGHUP): who may call the API and what messages cost, where events go, and how much
// is logged. Everything else is read once, at the start.
var reloadable = []string{"server.log_level", "accounts", "operators", "rate_cards", "callbacks"}

// NeedRestart names, by key ("server.listen", "numbers[0].throughput_mps"), the
// settings of c that differ from old, the configuration running, and take effect only
// at the next start. A reload applies the reloadable settings of c (server.log_level,
// accounts, operators, rate_cards, callbacks) and leaves these as they are, so the caller logs
// them; nil means c applies in full.
func (c *Config) NeedRestart(old *Config) []string {
	skip := map[string]bool{}
	for _, k := range reloadable {
		skip[k] = true
	}
	var out []string
	diff(reflect.ValueOf(old).Elem(), reflect.ValueOf(c).Elem(), nil, skip, &out)
	return out
}

// diff appends the key of every setting that differs between a and b, two values of
// the same type, descending into sections and into arrays of tables of equal length.
func diff(a, b reflect.Value, path []string, skip map[string]bool, out *[]string) {
	if skip[plainKey(path)] {
		return
	}
	switch {
	case a.Kind() == reflect.Struct && hasSettings(a.Type()):
		t := a.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			tag := strings.Split(f.Tag.Get("toml"), ",")[0]
			switch {
			case !f.IsExported():
			case tag == "" && f.Anonymous:
				diff(a.Field(i), b.Field(i), path, skip, out)
			case tag != "" && tag != "-":
				diff(a.Field(i), b.Field(i), append(path[:len(path):len(path)], tag), skip, out)
			}
		}
	case a.Kind() == reflect.Slice && a.Type().Elem().Kind() == reflect.Struct && a.Len() == b.Len():
		for i := range a.Len() {
			diff(a.Index(i), b.Index(i), append(path[:len(path):len(path)], strconv.Itoa(i)), skip, out)
		}
	default:
		if !reflect.DeepEqual(a.Interface(), b.Interface()) {
			*out = append(*out, keyString(path))
		}
	}
}

// hasSettings reports whether t is a table of settings (a field with a toml tag)
// rather than one value such as a Duration.
func hasSettings(t reflect.Type) bool {
	for i := range t.NumField() {
		if t.Field(i).Tag.Get("toml") != "" {
			return true
		}
	}
	return false
}
