package media

import (
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
)

// extensionTypes maps a lower-case file extension to the MIME type Gemini
// expects. The names follow Gemini's lists of supported types where they
// differ from IANA's (video/mov, audio/mp3, video/wmv):
// https://ai.google.dev/gemini-api/docs/vision, …/video-understanding,
// …/audio and …/document-processing. It is an explicit table rather than
// mime.TypeByExtension, whose answers depend on the host's /etc/mime.types.
var extensionTypes = map[string]string{
	// Images.
	".png":  "image/png",
	".jpg":  "image/jpeg",
	".jpeg": "image/jpeg",
	".jpe":  "image/jpeg",
	".webp": "image/webp",
	".heic": "image/heic",
	".heif": "image/heif",
	".gif":  "image/gif",
	".bmp":  "image/bmp",

	// Video.
	".mp4":  "video/mp4",
	".m4v":  "video/mp4",
	".mpeg": "video/mpeg",
	".mpg":  "video/mpg",
	".mov":  "video/mov",
	".avi":  "video/avi",
	".flv":  "video/x-flv",
	".webm": "video/webm",
	".wmv":  "video/wmv",
	".3gp":  "video/3gpp",
	".3gpp": "video/3gpp",
	".mkv":  "video/x-matroska",

	// Audio.
	".wav":  "audio/wav",
	".mp3":  "audio/mp3",
	".aif":  "audio/aiff",
	".aiff": "audio/aiff",
	".aac":  "audio/aac",
	".ogg":  "audio/ogg",
	".oga":  "audio/ogg",
	".opus": "audio/opus",
	".flac": "audio/flac",
	".m4a":  "audio/m4a",
	".pcm":  "audio/pcm",

	// Documents and text.
	".pdf":      "application/pdf",
	".txt":      "text/plain",
	".md":       "text/markdown",
	".markdown": "text/markdown",
	".csv":      "text/csv",
	".html":     "text/html",
	".htm":      "text/html",
	".xml":      "text/xml",
	".json":     "application/json",
	".rtf":      "text/rtf",
	".css":      "text/css",
	".js":       "text/javascript",
	".py":       "text/x-python",
}

// MIMEFromExtension returns the MIME type for the extension of a file path or
// URL ("clip.MP4", "https://h/x/photo.jpeg?sig=1"), or "" when the extension is
// missing or not in the table. A URL's query and fragment are ignored.
func MIMEFromExtension(pathOrURL string) string {
	p := pathOrURL
	if strings.Contains(p, "://") {
		if u, err := url.Parse(p); err == nil {
			p = u.Path
		}
	}
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	return extensionTypes[strings.ToLower(path.Ext(p))]
}

// audioFormats maps OpenAI input_audio.format values to Gemini inlineData MIME
// types. OpenAI documents wav and mp3; the others are accepted because Gemini
// takes them and clients send them.
var audioFormats = map[string]string{
	"wav":  "audio/wav",
	"mp3":  "audio/mp3",
	"aac":  "audio/aac",
	"flac": "audio/flac",
	"ogg":  "audio/ogg",
	"opus": "audio/opus",
	"aiff": "audio/aiff",
	"m4a":  "audio/m4a",
	"webm": "audio/webm",
	// OpenAI's pcm16 is raw 16-bit little-endian mono at 24 kHz. Raw PCM has
	// no header, so Gemini needs the rate in the MIME type.
	"pcm16": "audio/pcm;rate=24000",
}

// AudioFormatMIME returns the Gemini MIME type for an OpenAI input_audio
// format ("wav", "mp3", …) and reports whether the format is known.
func AudioFormatMIME(format string) (string, bool) {
	m, ok := audioFormats[strings.ToLower(format)]
	return m, ok
}

// aliases rewrites common non-canonical MIME names to the ones Gemini lists.
var aliases = map[string]string{
	"image/jpg":       "image/jpeg",
	"image/pjpeg":     "image/jpeg",
	"audio/x-wav":     "audio/wav",
	"audio/wave":      "audio/wav", // http.DetectContentType's name
	"audio/vnd.wave":  "audio/wav",
	"audio/x-aiff":    "audio/aiff",
	"audio/x-flac":    "audio/flac",
	"application/ogg": "audio/ogg", // http.DetectContentType's name; Ogg media is mostly audio
}

// isGeneric reports whether a declared Content-Type says nothing about the
// media: servers and object stores send these for anything.
func isGeneric(mt string) bool {
	switch mt {
	case "", "application/octet-stream", "binary/octet-stream", "application/binary", "application/unknown":
		return true
	}
	return false
}

// isText reports whether mt is a textual type (as opposed to image, audio,
// video or PDF media).
func isText(mt string) bool {
	return strings.HasPrefix(mt, "text/") || mt == "application/json"
}

// detectMIME picks the media type of a fetched body: the declared
// Content-Type unless it is missing or generic, then the extension of the
// URL paths (final URL first, then the one the client sent), then the bytes.
// A declared text/plain gives way to a media extension or to sniffed media
// bytes, because misconfigured buckets label everything text/plain. It never
// falls back to a default: an unidentified body is an error.
func detectMIME(contentType string, paths []string, data []byte) (string, error) {
	declared := ""
	if contentType != "" {
		if mt, _, err := mime.ParseMediaType(contentType); err == nil {
			declared = normalize(mt)
		}
	}
	if !isGeneric(declared) && declared != "text/plain" {
		return declared, nil
	}
	for _, p := range paths {
		if mt := MIMEFromExtension(p); mt != "" {
			if declared == "text/plain" && isText(mt) {
				break // a .csv served as text/plain: keep what the server said
			}
			return mt, nil
		}
	}
	sniffed := ""
	if mt, _, err := mime.ParseMediaType(http.DetectContentType(data)); err == nil {
		sniffed = normalize(mt)
	}
	if declared == "text/plain" {
		if sniffed != "" && !isGeneric(sniffed) && !isText(sniffed) {
			return sniffed, nil
		}
		return declared, nil
	}
	if isGeneric(sniffed) {
		return "", errorf(Unsupported, nil,
			"could not determine the media type of the URL's content: send a Content-Type, a file extension, or a data URI with a type")
	}
	return sniffed, nil
}

func normalize(mt string) string {
	mt = strings.ToLower(mt)
	if a, ok := aliases[mt]; ok {
		return a
	}
	return mt
}
