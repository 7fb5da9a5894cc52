package geminibatch

import (
	"errors"

	"github.com/geminigateway/gateway/shared/gemini"
)

func asAPIError(err error, ae **gemini.APIError) bool { return errors.As(err, ae) }
