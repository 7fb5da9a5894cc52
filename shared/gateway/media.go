package gateway

import (
	"context"
	"encoding/base64"
	"strings"

	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/openai"
	"github.com/geminigateway/gateway/shared/translate"
)

// fetchMedia fetches the http(s) media the translation listed and inlines it, so nothing is sent
// upstream if a fetch is refused or too large.
func (h *Handler) fetchMedia(ctx context.Context, tr *translate.Translated) error {
	if len(tr.Fetch) == 0 || h.o.Fetcher == nil {
		return nil
	}
	for _, p := range tr.Fetch {
		m, err := h.o.Fetcher.Fetch(ctx, p.FileData.FileURI)
		if err != nil {
			return err
		}
		if !isMedia(m.MIMEType) {
			return openai.InvalidParam("messages", "the URL %s served %s, which is not an image, video, audio or PDF", p.FileData.FileURI, m.MIMEType)
		}
		p.InlineData = &gemini.Blob{MIMEType: m.MIMEType, Data: encodeBase64(m.Data), DisplayName: p.FileData.DisplayName}
		p.FileData = nil
	}
	return nil
}

// isMedia reports whether a fetched mime type is something Gemini takes as media input.
func isMedia(mime string) bool {
	return strings.HasPrefix(mime, "image/") || strings.HasPrefix(mime, "video/") || strings.HasPrefix(mime, "audio/") ||
		mime == "application/pdf" || mime == "text/plain"
}

func encodeBase64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
