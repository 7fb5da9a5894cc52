package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/media"
	"github.com/geminigateway/gateway/shared/openai"
	"github.com/geminigateway/gateway/shared/translate"
)

// fetchMedia fetches the http(s) media the translation listed and inlines it, within the
// fetcher's per-request budgets, so nothing is sent upstream if a fetch is refused, too large,
// too slow or over budget. The fetched base64 is not put in the part: the part gets a
// placeholder and the base64 is registered in lb (made if nil), to be spliced into the encoded
// request once, as lifted data URIs are. It returns lb.
func (h *Handler) fetchMedia(ctx context.Context, tr *translate.Translated, lb *lifted) (*lifted, error) {
	if len(tr.Fetch) == 0 || h.o.Fetcher == nil {
		return lb, nil
	}
	urls := make([]string, len(tr.Fetch))
	for i, p := range tr.Fetch {
		urls[i] = p.FileData.FileURI
	}
	got, err := h.o.Fetcher.FetchAll(ctx, urls)
	if err != nil {
		return lb, mediaError(err, tr.FetchParams)
	}
	for i, p := range tr.Fetch {
		m := got[i]
		if !isMedia(m.MIMEType) {
			param := paramOf(tr.FetchParams, i)
			return lb, openai.InvalidParam(param, "%s: the URL %s served %s, which is not an image, video, audio or PDF",
				param, media.Redact(urls[i]), m.MIMEType)
		}
		if lb == nil {
			lb = newLifted()
		}
		p.InlineData = &gemini.Blob{MIMEType: m.MIMEType, Data: lb.add(m.Base64), DisplayName: p.FileData.DisplayName}
		p.FileData = nil
	}
	return lb, nil
}

// mediaError names the request part a fetch error is about. A fetch cancelled because the
// client left stays a context error (nobody is told); the rest become the client's 4xx.
func mediaError(err error, params []string) error {
	var me *media.Error
	if !errors.As(err, &me) || me.Kind == media.Canceled {
		return err
	}
	e := fromMedia(me)
	if me.URL != "" {
		e.Param = paramOf(params, me.Index)
		e.Message = fmt.Sprintf("%s: %s (%s)", e.Param, e.Message, me.URL)
	}
	return e
}

func paramOf(params []string, i int) string {
	if i >= 0 && i < len(params) {
		return params[i]
	}
	return "messages"
}

// newLifted returns an empty lifted set with a fresh placeholder prefix.
func newLifted() *lifted {
	var nonce [12]byte
	_, _ = rand.Read(nonce[:])
	return &lifted{prefix: []byte("GGLIFT" + hex.EncodeToString(nonce[:]))}
}

// add registers run, base64 text that must reach the encoded request unchanged, and returns
// the placeholder to put where it belongs.
func (l *lifted) add(run []byte) string {
	b := l.placeholder(make([]byte, 0, placeholderLen), len(l.runs))
	l.runs = append(l.runs, run)
	return string(b)
}

// isMedia reports whether a fetched mime type is something Gemini takes as media input.
func isMedia(mime string) bool {
	return strings.HasPrefix(mime, "image/") || strings.HasPrefix(mime, "video/") || strings.HasPrefix(mime, "audio/") ||
		mime == "application/pdf" || mime == "text/plain"
}
