package lambda

import "context"

// The scheduled refresh: an EventBridge Scheduler schedule invokes the function every few
// minutes with the input {"gateway_task":"refresh_batches"}; handle hands it to Config.Refresh
// (the gateway's RefreshBatches).

// RefreshTask is the value of gateway_task in the refresh marker.
const RefreshTask = "refresh_batches"

// refreshResult is what the invocation returns (recorded by Lambda, read by nobody but a human).
type refreshResult struct {
	Ended int `json:"ended"`
}

// refresh runs the scheduled refresh. Its failure is logged, not returned: the next tick of the
// schedule is the retry, and Lambda's asynchronous retries would only pile up behind it.
func (a *adapter) refresh(ctx context.Context, task string) (any, error) {
	if task != RefreshTask {
		a.Logger.ErrorContext(ctx, "task dropped: unknown gateway_task", "task", task)
		return nil, nil
	}
	if a.Refresh == nil {
		a.Logger.WarnContext(ctx, "refresh dropped: no object store (GATEWAY_STORE_BUCKET)")
		return refreshResult{}, nil
	}
	ended, err := a.Refresh(ctx)
	if err != nil {
		a.Logger.ErrorContext(ctx, "batch refresh failed", "ended", ended, "err", err)
	} else {
		a.Logger.InfoContext(ctx, "batches refreshed", "ended", ended)
	}
	return refreshResult{Ended: ended}, nil
}
