package api

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"unicode"

	"kirim/provider"
)

// shape is what the walk needs of a Go type: which keys its objects take. Types are
// read once, by encoding/json's own rules for field names, and cached.
type shape struct {
	kind shapeKind
	// Objects of a struct: its JSON field names, in declaration order, their shapes,
	// and the folded form of each name (to point out a key in the wrong letter case).
	fields map[string]int
	names  []string
	shapes []*shape
	folded map[string]string
	// elem is the shape of a map's values or of an array's elements.
	elem *shape
}

type shapeKind uint8

const (
	// shapeScalar takes a string, number, boolean or null; any other value is
	// encoding/json's to refuse as the wrong type, and is walked as free-form.
	shapeScalar shapeKind = iota
	// shapeFree takes any JSON: keys are checked only for duplicates.
	shapeFree
	shapeStruct
	shapeMap
	shapeArray
)

var freeShape = &shape{kind: shapeFree}

// keyedByFields are types that decode themselves but read exactly the keys of their
// own fields, so their objects are checked as those fields'.
var keyedByFields = map[reflect.Type]bool{
	// Its UnmarshalJSON only lets example be a string as well as an array.
	reflect.TypeFor[provider.TemplateButtonDef](): true,
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	shapes          sync.Map // reflect.Type -> *shape
)

// shapeOfTarget is the shape of what the pointer v points to.
func shapeOfTarget(v any) *shape {
	t := reflect.TypeOf(v)
	if t == nil || t.Kind() != reflect.Pointer {
		return freeShape
	}
	return shapeOf(t.Elem())
}

func shapeOf(t reflect.Type) *shape {
	if s, ok := shapes.Load(t); ok {
		return s.(*shape)
	}
	b := shapeBuilder{done: map[reflect.Type]*shape{}}
	s := b.build(t)
	// Another goroutine may have built the same types meanwhile: either copy serves.
	for t, s := range b.done {
		shapes.LoadOrStore(t, s)
	}
	return s
}

type shapeBuilder struct {
	done map[reflect.Type]*shape // also breaks cycles of recursive types
}

func (b *shapeBuilder) build(t reflect.Type) *shape {
	if s, ok := b.done[t]; ok {
		return s
	}
	if t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface {
		pt := reflect.PointerTo(t)
		if pt.Implements(jsonUnmarshaler) && !keyedByFields[t] {
			return freeShape
		}
		if pt.Implements(textUnmarshaler) && !pt.Implements(jsonUnmarshaler) {
			return &shape{kind: shapeScalar}
		}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return b.build(t.Elem())
	case reflect.Interface:
		return freeShape
	case reflect.Struct:
		s := &shape{kind: shapeStruct, fields: map[string]int{}, folded: map[string]string{}}
		b.done[t] = s
		for _, f := range jsonFields(t) {
			s.fields[f.name] = len(s.names)
			s.names = append(s.names, f.name)
			s.folded[foldKey([]byte(f.name))] = f.name
			s.shapes = append(s.shapes, b.build(f.typ))
		}
		return s
	case reflect.Map:
		s := &shape{kind: shapeMap}
		b.done[t] = s
		s.elem = b.build(t.Elem())
		return s
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 && !reflect.PointerTo(t.Elem()).Implements(jsonUnmarshaler) &&
			!reflect.PointerTo(t.Elem()).Implements(textUnmarshaler) {
			return &shape{kind: shapeScalar} // []byte is a base64 string
		}
		fallthrough
	case reflect.Array:
		s := &shape{kind: shapeArray}
		b.done[t] = s
		s.elem = b.build(t.Elem())
		return s
	}
	return &shape{kind: shapeScalar}
}

type jsonField struct {
	name   string
	tagged bool
	depth  int
	typ    reflect.Type
	// unset: reached through an embedded pointer to an unexported struct, which
	// encoding/json cannot allocate, so it refuses the key.
	unset bool
}

// jsonFields lists the fields encoding/json decodes into a struct, by the names it
// matches keys to: exported fields and those promoted from embedded structs, named by
// their tag or else by the Go name. Among fields of one name the shallowest wins,
// then the only tagged one; several equal candidates cancel out.
func jsonFields(t reflect.Type) []jsonField {
	type level struct {
		typ   reflect.Type
		depth int
		unset bool
	}
	var found []jsonField
	visited := map[reflect.Type]bool{}
	next := []level{{t, 0, false}}
	for len(next) > 0 {
		current := next
		next = nil
		count := map[reflect.Type]int{}
		for _, l := range current {
			count[l.typ]++
		}
		for _, l := range current {
			if visited[l.typ] {
				continue
			}
			visited[l.typ] = true
			for i := range l.typ.NumField() {
				sf := l.typ.Field(i)
				ft := sf.Type
				if sf.Anonymous {
					et := ft
					if et.Kind() == reflect.Pointer {
						et = et.Elem()
					}
					if !sf.IsExported() && et.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, _, _ := strings.Cut(tag, ",")
				if !validTagName(name) {
					name = ""
				}
				if ft.Name() == "" && ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if name != "" || !sf.Anonymous || ft.Kind() != reflect.Struct {
					f := jsonField{name: name, tagged: name != "", depth: l.depth, typ: sf.Type, unset: l.unset}
					if f.name == "" {
						f.name = sf.Name
					}
					found = append(found, f)
					if count[l.typ] > 1 { // the same struct embedded twice: its fields cancel out
						found = append(found, f)
					}
					continue
				}
				unset := l.unset || (sf.Type.Kind() == reflect.Pointer && !sf.IsExported())
				next = append(next, level{ft, l.depth + 1, unset})
			}
		}
	}
	return dominantFields(found)
}

// dominantFields keeps, for each name, the field encoding/json would decode into, in
// the order the names first appear.
func dominantFields(found []jsonField) []jsonField {
	byName := map[string][]jsonField{}
	var order []string
	for _, f := range found {
		if _, ok := byName[f.name]; !ok {
			order = append(order, f.name)
		}
		byName[f.name] = append(byName[f.name], f)
	}
	var out []jsonField
	for _, name := range order {
		fs := byName[name]
		minDepth := fs[0].depth
		for _, f := range fs {
			minDepth = min(minDepth, f.depth)
		}
		var top []jsonField
		for _, f := range fs {
			if f.depth == minDepth {
				top = append(top, f)
			}
		}
		if len(top) == 1 {
			if !top[0].unset {
				out = append(out, top[0])
			}
			continue
		}
		var tagged []jsonField
		for _, f := range top {
			if f.tagged {
				tagged = append(tagged, f)
			}
		}
		if len(tagged) == 1 && !tagged[0].unset {
			out = append(out, tagged[0])
		}
	}
	return out
}

// validTagName is encoding/json's rule for a usable name in a json tag.
func validTagName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c) && !unicode.IsLetter(c) && !unicode.IsDigit(c) {
			return false
		}
	}
	return true
}
