package openai

import (
	"encoding/json"
	"fmt"
)

// ContentFromAny converts content decoded generically (nil, a string, or []any of objects) into
// Content. field names the content in errors, e.g. messages[2].content.
func ContentFromAny(v any, field string) (Content, error) {
	switch t := v.(type) {
	case nil:
		return Content{IsNull: true}, nil
	case string:
		return Content{Text: t}, nil
	case []any:
		c := Content{IsParts: true, Parts: make([]Part, len(t))}
		for i, e := range t {
			p, err := partFromAny(e, fmt.Sprintf("%s[%d]", field, i))
			if err != nil {
				return Content{}, err
			}
			c.Parts[i] = p
		}
		return c, nil
	}
	return Content{}, InvalidParam(field, "%s must be a string, an array of content parts, or null", field)
}

func partFromAny(v any, field string) (Part, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return Part{}, InvalidParam(field, "%s must be an object", field)
	}
	var p Part
	var err error
	str := func(m map[string]any, key, f string) string {
		if err != nil {
			return ""
		}
		switch s := m[key].(type) {
		case string:
			return s
		case nil:
			return ""
		}
		err = InvalidParam(f+"."+key, "%s.%s must be a string", f, key)
		return ""
	}
	obj := func(key string) map[string]any {
		if err != nil {
			return nil
		}
		switch o := m[key].(type) {
		case map[string]any:
			return o
		case nil:
			return nil
		}
		err = InvalidParam(field+"."+key, "%s.%s must be an object", field, key)
		return nil
	}
	p.Type = str(m, "type", field)
	p.Text = str(m, "text", field)
	p.Refusal = str(m, "refusal", field)
	switch u := m["image_url"].(type) {
	case string: // Vertex's documented shorthand
		p.ImageURL = &ImageURL{URL: u}
	case map[string]any:
		p.ImageURL = &ImageURL{URL: str(u, "url", field+".image_url"), Detail: str(u, "detail", field+".image_url")}
	case nil:
	default:
		return Part{}, InvalidParam(field+".image_url", "%s.image_url must be an object with url", field)
	}
	if a := obj("input_audio"); a != nil {
		p.InputAudio = &InputAudio{Data: str(a, "data", field+".input_audio"), Format: str(a, "format", field+".input_audio")}
	}
	if f := obj("file"); f != nil {
		p.File = &File{FileData: str(f, "file_data", field+".file"), FileID: str(f, "file_id", field+".file"),
			Filename: str(f, "filename", field+".file"), Format: str(f, "format", field+".file")}
	}
	if x := obj("extra_content"); x != nil && err == nil {
		b, _ := json.Marshal(x) // small: extension fields only
		p.ExtraContent = new(ExtraContent)
		if json.Unmarshal(b, p.ExtraContent) != nil {
			err = InvalidParam(field+".extra_content", "%s.extra_content is malformed", field)
		}
	}
	return p, err
}
