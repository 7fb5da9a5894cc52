// Package fieldtest helps the "knows every field" tests of the hand-written JSON encoders and
// decoders: it sets every field of a value, so that a field one of them does not know of shows
// up as a difference from encoding/json.
package fieldtest

import (
	"encoding/json"
	"reflect"
)

// Fill sets every exported field of the struct v (and of the structs it holds, following at
// most depth pointers and slices) to a non-zero sample value: strings "x" (json.Number "7"),
// true, 7, 0.5, a one-element slice, a json.RawMessage {"k":1}, and a map[string]string
// {"k":"v"} (other maps are made empty).
func Fill(v reflect.Value, depth int) {
	switch v.Kind() {
	case reflect.String:
		if v.Type() == reflect.TypeFor[json.Number]() {
			v.SetString("7")
		} else {
			v.SetString("x")
		}
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(7)
	case reflect.Float64:
		v.SetFloat(0.5)
	case reflect.Pointer:
		if depth > 0 {
			v.Set(reflect.New(v.Type().Elem()))
			Fill(v.Elem(), depth-1)
		}
	case reflect.Slice:
		if v.Type() == reflect.TypeFor[json.RawMessage]() {
			v.SetBytes([]byte(`{"k":1}`))
		} else if depth > 0 {
			v.Set(reflect.MakeSlice(v.Type(), 1, 1))
			Fill(v.Index(0), depth-1)
		}
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		if v.Type().Key().Kind() == reflect.String && v.Type().Elem().Kind() == reflect.String {
			v.SetMapIndex(reflect.ValueOf("k").Convert(v.Type().Key()), reflect.ValueOf("v").Convert(v.Type().Elem()))
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				Fill(v.Field(i), depth)
			}
		}
	}
}
