// Command local serves the gateway on http://127.0.0.1:$PORT (default 8080) through
// functions-framework's own server, exactly as Cloud Functions runs functions/gcf: it is what
// `make run` starts. FUNCTION_TARGET defaults to Gateway, so the gateway gets every path.
//
// The gateway is built before the server listens, so a bad setting stops the command at once
// with one line, and with nothing configured the offline emulator backend starts and its local
// key is printed first.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	adapter "github.com/geminigateway/gateway/adapters/gcf"
	"github.com/geminigateway/gateway/functions/gcf"
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	if os.Getenv("FUNCTION_TARGET") == "" {
		os.Setenv("FUNCTION_TARGET", adapter.GatewayName)
	}
	if err := gcf.Init(context.Background()); err != nil {
		os.Exit(1) // the reason is already logged, as one line
	}
	fmt.Fprintf(os.Stderr, "gateway: serving %s on http://127.0.0.1:%s\n", os.Getenv("FUNCTION_TARGET"), port)
	if err := funcframework.StartHostPort("127.0.0.1", port); err != nil {
		fmt.Fprintf(os.Stderr, "gateway: %v\n", err)
		os.Exit(1)
	}
}
