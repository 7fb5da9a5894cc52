package translate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/jsonschema"
	"github.com/geminigateway/gateway/shared/media"
	"github.com/geminigateway/gateway/shared/openai"
)

// part converts one content part of a user message.
func (cv *contentConverter) part(p *openai.Part, field string) (gemini.Part, error) {
	switch p.Type {
	case "text":
		return gemini.Part{Text: p.Text}, nil
	case "image_url":
		if p.ImageURL == nil || p.ImageURL.URL == "" {
			return gemini.Part{}, openai.InvalidParam(field+".image_url", "%s.image_url.url is required", field)
		}
		hint := "" // a type for a URL without a telling extension, as we return images
		if p.ExtraContent != nil && p.ExtraContent.Google != nil {
			hint = p.ExtraContent.Google.MIMEType
		}
		gp, err := mediaPart(p.ImageURL.URL, hint, field+".image_url.url")
		if err != nil {
			return gp, err
		}
		if lvl, err := mediaResolution(p.ImageURL.Detail, field); err != nil {
			return gp, err
		} else if lvl != "" {
			gp.MediaResolution = &gemini.MediaResolution{Level: lvl}
		}
		return gp, nil
	case "input_audio":
		a := p.InputAudio
		if a == nil || a.Data == "" {
			return gemini.Part{}, openai.InvalidParam(field+".input_audio", "%s.input_audio.data is required", field)
		}
		mime, ok := media.AudioFormatMIME(a.Format)
		if !ok && strings.Contains(a.Format, "/") {
			mime, ok = a.Format, true // Vertex's examples pass the mime type as format
		}
		if !ok {
			return gemini.Part{}, openai.InvalidParam(field+".input_audio.format", "unsupported audio format %q", a.Format)
		}
		if isURI(a.Data) {
			return mediaPart(a.Data, mime, field+".input_audio.data")
		}
		return gemini.Part{InlineData: &gemini.Blob{MIMEType: mime, Data: a.Data}}, nil
	case "file":
		f := p.File
		switch {
		case f == nil:
			return gemini.Part{}, openai.InvalidParam(field+".file", "%s.file is required", field)
		case f.FileData != "":
			if strings.HasPrefix(f.FileData, "data:") {
				return mediaPart(f.FileData, "", field+".file.file_data")
			}
			// Bare base64: the mime type must come from the filename.
			mime := media.MIMEFromExtension(f.Filename)
			if mime == "" {
				return gemini.Part{}, openai.InvalidParam(field+".file.file_data", "file_data must be a data: URI, or a filename with a known extension must be given")
			}
			return gemini.Part{InlineData: &gemini.Blob{MIMEType: mime, Data: f.FileData}}, nil
		case f.FileID != "":
			return mediaPart(f.FileID, media.MIMEFromExtension(f.Filename), field+".file.file_id")
		}
		return gemini.Part{}, openai.InvalidParam(field+".file", "%s.file needs file_data or file_id", field)
	case "":
		return gemini.Part{}, openai.InvalidParam(field+".type", "%s.type is required", field)
	}
	return gemini.Part{}, openai.NotImplemented(field+".type", "content part type %q is not supported", p.Type)
}

func isURI(s string) bool {
	return strings.HasPrefix(s, "data:") || strings.HasPrefix(s, "gs://") || strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")
}

// mediaPart turns a media URL into a part: data: URIs inline (the base64 is passed through
// without decoding), gs:// and http(s) as fileData. The mime type comes from the data URI, the
// hint, or the URL's extension; an http(s) URL of unknown type is left for the fetcher, which
// reads Content-Type.
func mediaPart(u, mimeHint, field string) (gemini.Part, error) {
	switch {
	case strings.HasPrefix(u, "data:"):
		mime, b64, err := media.ParseDataURI(u)
		if err != nil {
			return gemini.Part{}, openai.InvalidParam(field, "%v", err)
		}
		return gemini.Part{InlineData: &gemini.Blob{MIMEType: mime, Data: b64}}, nil
	case strings.HasPrefix(u, "gs://"), strings.HasPrefix(u, "https://"), strings.HasPrefix(u, "http://"):
		mime := mimeHint
		if mime == "" {
			mime = media.MIMEFromExtension(u)
		}
		if mime == "" && strings.HasPrefix(u, "gs://") {
			return gemini.Part{}, openai.InvalidParam(field, "cannot tell the media type of %q from its extension", media.Redact(u))
		}
		return gemini.Part{FileData: &gemini.FileData{MIMEType: mime, FileURI: u}}, nil
	}
	return gemini.Part{}, openai.InvalidParam(field, "media URL must be a data:, gs://, http:// or https:// URL")
}

// noteMediaURLs records the request field of each http(s) fileData part in parts (content
// names their array; the first field a URL appears in names it in errors), and, when the backend
// does not fetch, refuses a URL whose type neither its extension nor a hint tells: Gemini needs
// fileData.mimeType, and the gateway does not fetch a URL it was told not to fetch just to look at
// its type.
func (cv *contentConverter) noteMediaURLs(parts []gemini.Part, content string) error {
	for i := range parts {
		fd := parts[i].FileData
		if fd == nil || !isHTTPURL(fd.FileURI) {
			continue
		}
		param := fmt.Sprintf("%s[%d]", content, i)
		if !cv.opt.FetchHTTPMedia && fd.MIMEType == "" {
			return openai.InvalidParam(param, "%s: cannot tell the media type of %s, and this gateway passes media URLs to Gemini without fetching them: "+
				"use a URL that ends in a file extension such as .png, .pdf or .mp4, give the type in extra_content.google.mime_type, or send the media as a data: URI",
				param, media.Redact(fd.FileURI))
		}
		if _, ok := cv.urlParams[fd.FileURI]; !ok {
			if cv.urlParams == nil {
				cv.urlParams = map[string]string{}
			}
			cv.urlParams[fd.FileURI] = param
		}
	}
	return nil
}

// registerFetches lists the http(s) fileData parts, of turns and of function responses alike,
// for the caller to fetch and inline (through its URL guard) when the backend is set to fetch.
// It runs once the contents are final, so the pointers it keeps stay valid.
func (cv *contentConverter) registerFetches() error {
	if !cv.opt.FetchHTTPMedia {
		return nil // noteMediaURLs refused what Gemini could not take as a URL
	}
	for i := range cv.contents {
		parts := cv.contents[i].Parts
		for j := range parts {
			cv.registerFetch(&parts[j])
			if fr := parts[j].FunctionResponse; fr != nil {
				for k := range fr.Parts {
					cv.registerFetch(&fr.Parts[k])
				}
			}
		}
	}
	return nil
}

func (cv *contentConverter) registerFetch(p *gemini.Part) {
	if fd := p.FileData; fd != nil && isHTTPURL(fd.FileURI) {
		param, ok := cv.urlParams[fd.FileURI]
		if !ok {
			param = "messages"
		}
		cv.out.Fetch = append(cv.out.Fetch, p)
		cv.out.FetchParams = append(cv.out.FetchParams, param)
	}
}

// hasHTTPFile reports whether a part of parts is fileData with an http(s) URL, which
// noteMediaURLs records.
func hasHTTPFile(parts []gemini.Part) bool {
	for i := range parts {
		if fd := parts[i].FileData; fd != nil && isHTTPURL(fd.FileURI) {
			return true
		}
	}
	return false
}

func isHTTPURL(u string) bool {
	return strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://")
}

// mediaResolution maps image_url.detail to Gemini 3's per-part media resolution.
func mediaResolution(detail, field string) (string, error) {
	switch detail {
	case "", "auto":
		return "", nil
	case "low":
		return "MEDIA_RESOLUTION_LOW", nil
	case "high":
		return "MEDIA_RESOLUTION_HIGH", nil
	}
	return "", openai.InvalidParam(field+".image_url.detail", "detail must be auto, low or high; got %q", detail)
}

// toolResponse makes a tool message's content into functionResponse.response, which must be an
// object: a JSON object is used as is, anything else is wrapped as {"output": …}. Gemini reads
// "$ref" keys there as references to functionResponse parts (vercel/ai#14369), so "$" keys are
// made safe unless the message carries parts (keepRefs), whose display names they refer to.
func toolResponse(text string, keepRefs bool) (json.RawMessage, error) {
	t := strings.TrimSpace(text)
	if strings.HasPrefix(t, "{") && json.Valid([]byte(t)) {
		if keepRefs {
			return json.RawMessage(t), nil
		}
		return jsonschema.SafeToolResult(json.RawMessage(t))
	}
	var v json.RawMessage
	if t != "" && json.Valid([]byte(t)) {
		v = json.RawMessage(t)
	} else {
		v, _ = json.Marshal(text)
	}
	var b bytes.Buffer
	b.WriteString(`{"output":`)
	b.Write(v)
	b.WriteByte('}')
	return jsonschema.SafeToolResult(b.Bytes())
}

// extraParts decodes extra_content.google.parts of a tool message (multimodal function
// responses). Vertex's documentation writes them in snake_case; camelCase is accepted too. A
// file_uri goes through the same policy as a content part's URL (mediaPart): data: inline,
// gs:// and http(s) as fileData, http(s) later fetched through the URL guard when so configured,
// anything else refused; the display name, which "$ref" in the response refers to, is kept.
func extraParts(raw json.RawMessage, field string) ([]gemini.Part, error) {
	var in []struct {
		InlineData *struct {
			MIMEType    string `json:"mime_type"`
			MIMEType2   string `json:"mimeType"`
			Data        string `json:"data"`
			DisplayName string `json:"display_name"`
		} `json:"inline_data"`
		InlineData2 *gemini.Blob `json:"inlineData"`
		FileData    *struct {
			MIMEType    string `json:"mime_type"`
			MIMEType2   string `json:"mimeType"`
			FileURI     string `json:"file_uri"`
			FileURI2    string `json:"fileUri"`
			DisplayName string `json:"display_name"`
		} `json:"file_data"`
		FileData2 *gemini.FileData `json:"fileData"`
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, openai.InvalidParam(field, "%s must be an array of parts with inline_data or file_data: %v", field, err)
	}
	out := make([]gemini.Part, 0, len(in))
	for i, p := range in {
		f := fmt.Sprintf("%s[%d]", field, i)
		switch {
		case p.InlineData != nil:
			out = append(out, gemini.Part{InlineData: &gemini.Blob{MIMEType: p.InlineData.MIMEType + p.InlineData.MIMEType2, Data: p.InlineData.Data, DisplayName: p.InlineData.DisplayName}})
		case p.InlineData2 != nil:
			out = append(out, gemini.Part{InlineData: p.InlineData2})
		case p.FileData != nil:
			fd := p.FileData
			gp, err := fileDataPart(fd.FileURI+fd.FileURI2, fd.MIMEType+fd.MIMEType2, fd.DisplayName, f+".file_data.file_uri")
			if err != nil {
				return nil, err
			}
			out = append(out, gp)
		case p.FileData2 != nil:
			fd := p.FileData2
			gp, err := fileDataPart(fd.FileURI, fd.MIMEType, fd.DisplayName, f+".fileData.fileUri")
			if err != nil {
				return nil, err
			}
			out = append(out, gp)
		default:
			return nil, openai.InvalidParam(f, "%s has neither inline_data nor file_data", f)
		}
	}
	return out, nil
}

// fileDataPart applies the media URL policy to a function-response file_data part.
func fileDataPart(uri, mime, displayName, field string) (gemini.Part, error) {
	if uri == "" {
		return gemini.Part{}, openai.InvalidParam(field, "%s is required", field)
	}
	p, err := mediaPart(uri, mime, field)
	if err != nil {
		return p, err
	}
	if p.InlineData != nil {
		p.InlineData.DisplayName = displayName
	} else {
		p.FileData.DisplayName = displayName
	}
	return p, nil
}
