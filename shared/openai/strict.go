package openai

import (
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/geminigateway/gateway/shared/jsonscan"
)

// fieldSet is what decodeStrict knows of a struct type: its JSON keys, and the struct (or slice
// of structs) type behind each key whose members are checked in turn.
type fieldSet struct {
	keys map[string]reflect.Type // nil type: a leaf (scalar, map, raw JSON or a union)
}

var fieldSets sync.Map // reflect.Type -> *fieldSet

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// fieldsOf lists t's JSON keys from its struct tags.
func fieldsOf(t reflect.Type) *fieldSet {
	if fs, ok := fieldSets.Load(t); ok {
		return fs.(*fieldSet)
	}
	fs := &fieldSet{keys: map[string]reflect.Type{}}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fs.keys[name] = nested(f.Type)
	}
	fieldSets.Store(t, fs)
	return fs
}

// nested returns the struct type whose keys are checked below a field of type t, or nil.
func nested(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		if t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType) {
			return nil
		}
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil
	}
	return t
}

// checkKeys reports the first key of the JSON object b (and, recursively, of the objects and
// arrays of objects below it that t declares as structs) that t does not declare, as a 400 naming
// its path under at. Values of the wrong shape are left for json.Unmarshal to report.
func checkKeys(b []byte, t reflect.Type, at string) error {
	switch jsonscan.Kind(b) {
	case '[':
		return jsonscan.Array(b, func(n int, v []byte) error {
			return checkKeys(v, t, at+"["+strconv.Itoa(n)+"]")
		})
	case '{':
	default:
		return nil
	}
	fs := fieldsOf(t)
	return jsonscan.Object(b, func(k, v []byte) error {
		sub, ok := fs.keys[string(k)]
		if !ok {
			return unknownField(at + "." + string(k))
		}
		if sub != nil {
			return checkKeys(v, sub, at+"."+string(k))
		}
		return nil
	})
}

func unknownField(path string) *Error {
	return InvalidParam(path, "unrecognized field %s", path)
}

// decodeStrict decodes the JSON value b into v (a pointer to a struct or a slice of structs)
// after checking that every key is one v declares; every error is a 400 naming a path under at.
func decodeStrict(b []byte, v any, at string) error {
	t := reflect.TypeOf(v).Elem()
	if e := nested(t); e != nil {
		if err := checkKeys(b, e, at); err != nil {
			return err
		}
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fieldError(err, at)
	}
	return nil
}

// fieldError turns an error of json.Unmarshal on a value found at path at into a 400 naming the
// field.
func fieldError(err error, at string) *Error {
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		field := at
		if typ.Field != "" {
			field += "." + typ.Field
		}
		return InvalidParam(field, "invalid type for %s: got %s, want %s", field, typ.Value, friendlyType(typ.Type))
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return InvalidParam(at, "invalid %s: %v", at, err)
}
