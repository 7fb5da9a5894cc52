package gateway_test

import "os"

func fsRead(name string) ([]byte, error) { return os.ReadFile(name) }
