package accounts

import (
	"reflect"
	"testing"

	"github.com/picket-cdr/picket/internal/analyzer/analyzertest"
)

func TestAccounts(t *testing.T) {
	tests := []struct {
		path, body string
		want       []string
	}{
		{"/etc/passwd", "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/:/usr/sbin/nologin\n", nil},
		{"/etc/passwd", "root:x:0:0:root:/root:/bin/sh\ntoor:x:0:0::/root:/bin/sh\nbob::1000:1000::/home/bob:/bin/sh\nalice:x:1000:1000::/home/a:/bin/sh\nbob:x:1001:1001::/:/bin/sh\n",
			[]string{"PKT-ACCT-UID0", "PKT-ACCT-DUPLICATE-UID", "PKT-ACCT-EMPTY-PASSWORD", "PKT-ACCT-DUPLICATE-UID", "PKT-ACCT-DUPLICATE-NAME"}},
		{"/etc/shadow", "root:*:19000:0:99999:7:::\nnobody:!:19000::::::\nguest::19000:0:99999:7:::\n", []string{"PKT-ACCT-EMPTY-PASSWORD"}},
		{"/etc/group", "root:x:0:\nwheel:x:10:\nadm:x:10:\n", []string{"PKT-ACCT-DUPLICATE-GID"}},
		{"/etc/group", "garbage\n\n#comment\n::::\n", nil},
	}
	for _, tt := range tests {
		res := analyzertest.Run(t, accounts{}, tt.path, []byte(tt.body))
		var got []string
		for _, f := range res.Findings {
			got = append(got, f.RuleID)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s %q:\n got %v\nwant %v", tt.path, tt.body, got, tt.want)
		}
	}
}

func FuzzAccounts(f *testing.F) {
	analyzertest.Fuzz(f, accounts{}, "/etc/passwd", []byte("root:x:0:0::/:/bin/sh\n"))
}
