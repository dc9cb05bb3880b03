// Command credproc is a credential_process for the SigV4 tests: it fetches
// one credential_process JSON document from the URL in its argument (a
// sigv4proxy.Minter) and prints it. A refused fetch exits 1, which the AWS
// SDK reports as a failed credential refresh.
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: credproc URL")
		os.Exit(2)
	}
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "credproc:", err)
		os.Exit(1)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		fmt.Fprintf(os.Stderr, "credproc: HTTP %d\n", resp.StatusCode)
		os.Exit(1)
	}
	os.Stdout.Write(b)
}
