package config

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// EnvPrefix starts every environment override: KIRIM_<TABLE>_<KEY>, e.g.
// KIRIM_WEBHOOK_APP_SECRET, or KIRIM_<ARRAY>_<ALIAS or ID>_<KEY> for an entry of an array
// of tables, e.g. KIRIM_NUMBERS_MAIN_TOKEN.
const EnvPrefix = "KIRIM_"

// envNotSettings are KIRIM_ variables that are not settings: they are read by the
// commands (an API key for the CLI, profiling) or by the tests, and never by Parse.
var envNotSettings = []string{"KIRIM_API_KEY", "KIRIM_PPROF", "KIRIM_CPUPROFILE", "KIRIM_BENCH_", "KIRIM_E2E_", "KIRIM_OPENAPI_SAMPLES",
	// The console's browser tests: where Chromium is, whether it must be, where screenshots go.
	"KIRIM_CHROMIUM", "KIRIM_REQUIRE_BROWSER", "KIRIM_SCREENSHOTS"}

// applyEnv sets every field whose environment name is present in environ, recording in
// set the key path each variable set. A KIRIM_ variable that names no setting is an
// error: it is a typo, and its value would be silently ignored.
func applyEnv(c *Config, environ []string, set map[string]string) []*Error {
	env := map[string]string{}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.HasPrefix(k, EnvPrefix) && !notSetting(k) {
			env[k] = v
		}
	}
	if len(env) == 0 {
		return nil
	}
	w := envWalk{env: env, set: set, seen: map[string]bool{}}
	w.walk(reflect.ValueOf(c).Elem(), strings.TrimSuffix(EnvPrefix, "_"), nil)
	var unknown []string
	for k := range env {
		if !w.seen[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		w.errs = append(w.errs, &Error{Env: k, Msg: "no such setting (see config.example.toml for the names)"})
	}
	return w.errs
}

func notSetting(k string) bool {
	for _, n := range envNotSettings {
		if k == n || strings.HasSuffix(n, "_") && strings.HasPrefix(k, n) {
			return true
		}
	}
	return false
}

var (
	durationType = reflect.TypeOf(Duration{})
	amountType   = reflect.TypeOf(Amount{})
)

type envWalk struct {
	env  map[string]string
	set  map[string]string // key path -> variable
	seen map[string]bool   // variables that name a setting
	errs []*Error
}

func (w *envWalk) walk(v reflect.Value, name string, path []string) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("toml"), ",")[0]
		fv := v.Field(i)
		if f.Anonymous && tag == "" && fv.Kind() == reflect.Struct {
			// An embedded struct's keys are its parent table's, as in the file.
			w.walk(fv, name, path)
			continue
		}
		if tag == "" || !f.IsExported() {
			continue
		}
		full := name + "_" + upper(tag)
		at := append(append([]string(nil), path...), tag)
		switch {
		case f.Type == durationType || f.Type == amountType || fv.Kind() != reflect.Struct && fv.Kind() != reflect.Slice:
			if val, ok := w.env[full]; ok {
				w.seen[full] = true
				w.set[strings.Join(at, ".")] = full
				if err := setScalar(fv, val); err != nil {
					w.errs = append(w.errs, &Error{Env: full, Key: keyString(at), Msg: err.Error()})
				}
			}
		case fv.Kind() == reflect.Struct:
			w.walk(fv, full, at)
		case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.Struct:
			for j := 0; j < fv.Len(); j++ {
				el := fv.Index(j)
				id := entryName(el)
				if id == "" {
					id = strconv.Itoa(j)
				}
				w.walk(el, full+"_"+upper(id), append(append([]string(nil), at...), strconv.Itoa(j)))
			}
		case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.String:
			if val, ok := w.env[full]; ok {
				w.seen[full] = true
				w.set[strings.Join(at, ".")] = full
				var parts []string
				for _, p := range strings.Split(val, ",") {
					if p = strings.TrimSpace(p); p != "" {
						parts = append(parts, p)
					}
				}
				fv.Set(reflect.ValueOf(parts))
			}
		}
	}
}

// entryName names an element of an array of tables by its alias, id or name.
func entryName(el reflect.Value) string {
	for _, f := range []string{"Alias", "ID", "Name"} {
		if fv := el.FieldByName(f); fv.IsValid() && fv.Kind() == reflect.String && fv.String() != "" {
			return fv.String()
		}
	}
	return ""
}

func setScalar(fv reflect.Value, val string) error {
	if fv.Type() == amountType {
		// A decimal string, as in the file; its problems are reported where the file's are.
		return fv.Addr().Interface().(*Amount).UnmarshalTOML(val)
	}
	if fv.Type() == durationType {
		d, err := time.ParseDuration(val)
		if err != nil {
			return fmt.Errorf("%q is not a duration", val)
		}
		fv.Set(reflect.ValueOf(Duration{d}))
		return nil
	}
	switch fv.Kind() {
	case reflect.String:
		fv.SetString(val)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not an integer", val)
		}
		fv.SetInt(n)
	case reflect.Float64:
		n, err := strconv.ParseFloat(val, 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", val)
		}
		fv.SetFloat(n)
	case reflect.Bool:
		b, err := strconv.ParseBool(val)
		if err != nil {
			return fmt.Errorf("%q is not true or false", val)
		}
		fv.SetBool(b)
	default:
		return fmt.Errorf("cannot be set from the environment")
	}
	return nil
}
