package main

import (
	"context"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), "", &out); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"logged 3 records, dropped 0",
		`error billing "charge failed" map[err:card declined invoice:inv-1042 region:eu-west-1]`,
		`warn billing "card expires soon" map[card:map[brand:visa last4:4242] region:eu-west-1]`,
		`info billing "invoice created" map[amount:129.5 invoice:inv-1042 region:eu-west-1]`,
	}
	for _, w := range want {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, out.String())
		}
	}
	if strings.Contains(out.String(), "not written") {
		t.Errorf("a debug record was written:\n%s", out.String())
	}
}
