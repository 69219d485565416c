package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The structured formats (SARIF, SPDX, CycloneDX) are each checked against
// their official JSON schema and by hand-written checks of what the schema
// cannot express, all listed in formatChecks. The helpers here are shared
// by those tests: a runner requiring rendered reports to pass every check
// of their format (testValid), and one proving a check is live by breaking
// the rendered fixture in named ways and requiring the check to reject
// each broken document (testRejects).

// Ids of the official JSON schemas.
const (
	// sarifSchemaID is the id of the OASIS SARIF 2.1.0 errata 01 JSON
	// schema. (The writer's $schema names the SchemaStore URL of SARIF 2.1.0
	// instead.)
	sarifSchemaID = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
	// spdxSchemaID is the $id of the SPDX 2.3 JSON schema.
	spdxSchemaID = "http://spdx.org/rdf/terms/2.3"
)

// The official JSON schemas, compiled from the local copies in
// testdata/schema (see the README there), each file named by the schema id
// it holds.
var (
	sarifJSONSchema = newLocalSchema("SARIF 2.1.0", map[string]string{sarifSchemaID: "sarif-schema-2.1.0.json"}, sarifSchemaID)
	spdxJSONSchema  = newLocalSchema("SPDX 2.3", map[string]string{spdxSchemaID: "spdx-schema-2.3.json"}, spdxSchemaID)
	// The CycloneDX 1.6 schema refers to two others.
	cycloneDXJSONSchema = newLocalSchema("CycloneDX 1.6", map[string]string{
		"http://cyclonedx.org/schema/bom-1.6.schema.json":  "bom-1.6.schema.json",
		"http://cyclonedx.org/schema/spdx.schema.json":     "spdx.schema.json",
		"http://cyclonedx.org/schema/jsf-0.82.schema.json": "jsf-0.82.schema.json",
	}, cycloneDXSchema)
)

// The hand-written checks of what the schemas cannot express.
var (
	sarifConstraints = problemCheck("the SARIF 2.1.0 constraints", validateSARIF)
	spdxConstraints  = problemCheck("the SPDX 2.3 specification", validateSPDX23)
	// cycloneDXRefs decodes the BOM with cyclonedx-go and checks its
	// references; checkCycloneDXRefs reports any problem itself.
	cycloneDXRefs = docCheck{name: "the cyclonedx-go decoder and reference checks", run: func(t *testing.T, data []byte) error {
		checkCycloneDXRefs(t, data)
		return nil
	}}
)

// formatChecks lists the checks the output of each structured format must
// pass: its JSON schema, then the hand-written checks.
var formatChecks = map[string][]docCheck{
	FormatSARIF:     {sarifJSONSchema.check(), sarifConstraints},
	FormatSPDX:      {spdxJSONSchema.check(), spdxConstraints},
	FormatCycloneDX: {cycloneDXJSONSchema.check(), cycloneDXRefs},
}

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

// localSchema is an official JSON schema compiled, once and on first use,
// from its local copies in testdata/schema (see the README there).
type localSchema struct {
	name    string // the format and version, e.g. "SARIF 2.1.0"
	compile func() (*jsonschema.Schema, error)
}

// newLocalSchema returns the schema with id root, files mapping each schema
// id it refers to onto its file name in testdata/schema.
func newLocalSchema(name string, files map[string]string, root string) *localSchema {
	return &localSchema{name: name, compile: sync.OnceValues(func() (*jsonschema.Schema, error) {
		return compileLocalSchema(files, root)
	})}
}

// validate validates a JSON document against the schema, failing the test
// if the schema does not compile or data is not JSON.
func (s *localSchema) validate(t *testing.T, data []byte) error {
	t.Helper()
	sch, err := s.compile()
	if err != nil {
		t.Fatalf("compile %s schema: %v", s.name, err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("decode %s output: %v", s.name, err)
	}
	return sch.Validate(inst)
}

// check returns validation against the schema as a docCheck.
func (s *localSchema) check() docCheck {
	return docCheck{name: "the " + s.name + " JSON schema", run: s.validate}
}

// docCheck is one validation of a rendered document: run returns nil when
// data passes. (A check may also report problems on t itself.)
type docCheck struct {
	name string
	run  func(t *testing.T, data []byte) error
}

// problemCheck adapts a hand-written validator that returns the problems
// it finds in a document.
func problemCheck(name string, validate func(data []byte) []string) docCheck {
	return docCheck{name: name, run: func(_ *testing.T, data []byte) error {
		if errs := validate(data); len(errs) > 0 {
			return errors.New(strings.Join(errs, "\n  "))
		}
		return nil
	}}
}

// problemList accumulates the problems a hand-written validator finds.
type problemList struct{ errs []string }

func (p *problemList) errorf(format string, args ...any) {
	p.errs = append(p.errs, fmt.Sprintf(format, args...))
}

// decodeNumbers decodes JSON data into v, keeping numbers as json.Number
// so that validators see them as written.
func decodeNumbers(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return dec.Decode(v)
}

// requireValid fails the test unless data, output in format, passes every
// check of formatChecks.
func requireValid(t *testing.T, format string, data []byte) {
	t.Helper()
	checks := formatChecks[format]
	if len(checks) == 0 {
		t.Fatalf("no checks for format %q", format)
	}
	for _, c := range checks {
		if err := c.run(t, data); err != nil {
			t.Fatalf("%s output does not pass %s:\n  %v\n%s", format, c.name, err, data)
		}
	}
}

// testValid renders the fixture, an empty report and each named report of
// more in format with opts, and requires every output to pass every check
// of the format.
func testValid(t *testing.T, format string, opts Options, more map[string]*Report) {
	t.Helper()
	reports := map[string]*Report{"fixture": fixture(), "empty": {}}
	maps.Copy(reports, more)
	for _, name := range slices.Sorted(maps.Keys(reports)) {
		t.Run(name, func(t *testing.T) {
			requireValid(t, format, render(t, format, reports[name], opts))
		})
	}
}

// testRejects proves check is live: it renders the fixture in format and,
// for each named mutation of the decoded document, requires check to
// reject the broken document.
func testRejects(t *testing.T, format string, check docCheck, mutations map[string]func(doc map[string]any)) {
	t.Helper()
	good := render(t, format, fixture(), Options{})
	for _, name := range slices.Sorted(maps.Keys(mutations)) {
		t.Run(name, func(t *testing.T) {
			doc := decodeJSON[map[string]any](t, good)
			mutations[name](doc)
			bad, err := json.Marshal(doc)
			if err != nil {
				t.Fatal(err)
			}
			if check.run(t, bad) == nil {
				t.Fatalf("broken %s document passed %s", format, check.name)
			}
		})
	}
}

// at walks a decoded JSON document along path, object keys (strings) and
// array indexes (ints), and returns the object it ends at. A document of
// another shape panics, failing the test.
func at(doc any, path ...any) map[string]any {
	for _, step := range path {
		switch s := step.(type) {
		case string:
			doc = doc.(map[string]any)[s]
		case int:
			doc = doc.([]any)[s]
		default:
			panic(fmt.Sprintf("path step %v is neither key nor index", step))
		}
	}
	return doc.(map[string]any)
}
