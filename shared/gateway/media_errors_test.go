package gateway

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/geminigateway/gateway/shared/media"
)

// TestMediaErrorStatuses pins how media errors reach the client, whatever their causes unwrap
// to: a slow media URL is the client's 400 even though its cause is a deadline (it used to be
// 504 "Gemini did not answer in time"), budgets are 413, and a fetch cancelled because the client
// left is 499, for nobody.
func TestMediaErrorStatuses(t *testing.T) {
	for _, tc := range []struct {
		err  *media.Error
		want int
	}{
		{&media.Error{Kind: media.Timeout, Msg: "slow", Cause: fmt.Errorf("get: %w", context.DeadlineExceeded)}, http.StatusBadRequest},
		{&media.Error{Kind: media.FetchFailed, Msg: "404", Status: 404}, http.StatusBadRequest},
		{&media.Error{Kind: media.OverBudget, Msg: "too many"}, http.StatusRequestEntityTooLarge},
		{&media.Error{Kind: media.TooLarge, Msg: "big"}, http.StatusRequestEntityTooLarge},
		{&media.Error{Kind: media.Canceled, Msg: "gone", Cause: context.Canceled}, statusClientClosed},
	} {
		if got := toOpenAI(fmt.Errorf("wrapped: %w", tc.err)).Status; got != tc.want {
			t.Errorf("%v: status %d, want %d", tc.err.Kind, got, tc.want)
		}
	}
}
