package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// EnvPrefix starts every environment override: KIRIM_<TABLE>_<KEY>, e.g.
// KIRIM_WEBHOOK_APP_SECRET, or KIRIM_<ARRAY>_<ALIAS or ID>_<KEY> for an entry of an array
// of tables, e.g. KIRIM_NUMBERS_MAIN_TOKEN.
const EnvPrefix = "KIRIM_"

// applyEnv sets every field whose environment name is present in environ.
func applyEnv(c *Config, environ []string) error {
	env := map[string]string{}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.HasPrefix(k, EnvPrefix) {
			env[k] = v
		}
	}
	if len(env) == 0 {
		return nil
	}
	return walkEnv(reflect.ValueOf(c).Elem(), strings.TrimSuffix(EnvPrefix, "_"), env)
}

var durationType = reflect.TypeOf(Duration{})

func walkEnv(v reflect.Value, name string, env map[string]string) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("toml"), ",")[0]
		if tag == "" || !f.IsExported() {
			continue
		}
		fv := v.Field(i)
		full := name + "_" + upper(tag)
		switch {
		case f.Type == durationType || fv.Kind() != reflect.Struct && fv.Kind() != reflect.Slice:
			if val, ok := env[full]; ok {
				if err := setScalar(fv, val); err != nil {
					return fmt.Errorf("%s: %v", full, err)
				}
			}
		case fv.Kind() == reflect.Struct:
			if err := walkEnv(fv, full, env); err != nil {
				return err
			}
		case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.Struct:
			for j := 0; j < fv.Len(); j++ {
				el := fv.Index(j)
				id := entryName(el)
				if id == "" {
					id = strconv.Itoa(j)
				}
				if err := walkEnv(el, full+"_"+upper(id), env); err != nil {
					return err
				}
			}
		case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.String:
			if val, ok := env[full]; ok {
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
	return nil
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
