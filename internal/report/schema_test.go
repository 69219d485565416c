package report

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// offlineLoader refuses every URL: the report tests compile JSON schemas
// from the local copies in testdata/schema only and never fetch anything.
// (The draft metaschemas are built into jsonschema/v6.)
type offlineLoader struct{}

func (offlineLoader) Load(url string) (any, error) {
	return nil, errors.New("no network access in tests; add a local copy of " + url + " to testdata/schema")
}

// compileLocalSchema compiles the schema with id root from local copies in
// testdata/schema, files mapping each schema id to its file name, with
// format assertions on.
func compileLocalSchema(files map[string]string, root string) (*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.UseLoader(offlineLoader{})
	c.AssertFormat()
	for url, file := range files {
		f, err := os.Open(filepath.Join("testdata", "schema", file))
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			return nil, err
		}
		if err := c.AddResource(url, doc); err != nil {
			return nil, err
		}
	}
	return c.Compile(root)
}

// validateAgainst validates a JSON document against a compiled schema,
// failing the test if the schema does not compile or data is not JSON.
func validateAgainst(t *testing.T, name string, compiled func() (*jsonschema.Schema, error), data []byte) error {
	t.Helper()
	sch, err := compiled()
	if err != nil {
		t.Fatalf("compile %s schema: %v", name, err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("decode %s output: %v", name, err)
	}
	return sch.Validate(inst)
}
