// Package sarif is the SARIF 2.1.0 subset Picket writes (OASIS Static
// Analysis Results Interchange Format): the scanner's report and the
// compliance benchmark's results share it. Field names follow the
// specification; optional fields are omitted when empty.
package sarif

// Schema and Version go in every log.
const (
	Schema  = "https://json.schemastore.org/sarif-2.1.0.json"
	Version = "2.1.0"
)

type (
	// Log is a SARIF file.
	Log struct {
		Schema  string `json:"$schema"`
		Version string `json:"version"`
		Runs    []Run  `json:"runs"`
	}
	// Run is one tool's run.
	Run struct {
		Tool       Tool           `json:"tool"`
		Results    []Result       `json:"results"`
		Properties map[string]any `json:"properties,omitempty"`
	}
	// Tool names the tool.
	Tool struct {
		Driver Driver `json:"driver"`
	}
	// Driver is the tool's main component and its rules.
	Driver struct {
		Name           string `json:"name"`
		Version        string `json:"version,omitempty"`
		InformationURI string `json:"informationUri,omitempty"`
		Rules          []Rule `json:"rules"`
	}
	// Rule is a reportingDescriptor. Properties is a property bag (a
	// struct or a map).
	Rule struct {
		ID                   string         `json:"id"`
		Name                 string         `json:"name,omitempty"`
		ShortDescription     *Message       `json:"shortDescription,omitempty"`
		FullDescription      *Message       `json:"fullDescription,omitempty"`
		Help                 *Message       `json:"help,omitempty"`
		HelpURI              string         `json:"helpUri,omitempty"`
		DefaultConfiguration *Configuration `json:"defaultConfiguration,omitempty"`
		Properties           any            `json:"properties"`
	}
	// Configuration is a rule's default configuration.
	Configuration struct {
		Level string `json:"level"`
	}
	// Message is plain text.
	Message struct {
		Text string `json:"text"`
	}
	// Result is one result of a rule.
	Result struct {
		RuleID              string            `json:"ruleId"`
		RuleIndex           int               `json:"ruleIndex"`
		Level               string            `json:"level"`
		Message             Message           `json:"message"`
		Locations           []Location        `json:"locations"`
		PartialFingerprints map[string]string `json:"partialFingerprints"`
		Suppressions        []Suppression     `json:"suppressions,omitempty"`
		Properties          map[string]any    `json:"properties,omitempty"`
	}
	// Suppression (SARIF 2.1.0 §3.35) records that a user accepted a
	// result: kind "external" when the decision lives outside the scanned
	// artifact (an ignore file, a VEX document).
	Suppression struct {
		Kind          string         `json:"kind"`
		Status        string         `json:"status,omitempty"`
		Justification string         `json:"justification,omitempty"`
		Properties    map[string]any `json:"properties,omitempty"`
	}
	// Location is where a result is.
	Location struct {
		PhysicalLocation PhysicalLocation  `json:"physicalLocation"`
		LogicalLocations []LogicalLocation `json:"logicalLocations,omitempty"`
	}
	// PhysicalLocation is an artifact and, optionally, a region of it.
	PhysicalLocation struct {
		ArtifactLocation ArtifactLocation `json:"artifactLocation"`
		Region           *Region          `json:"region,omitempty"`
	}
	// ArtifactLocation is a URI reference.
	ArtifactLocation struct {
		URI string `json:"uri"`
	}
	// Region is a line.
	Region struct {
		StartLine int `json:"startLine"`
	}
	// LogicalLocation names a container, image, package ...
	LogicalLocation struct {
		Name               string `json:"name"`
		FullyQualifiedName string `json:"fullyQualifiedName,omitempty"`
		Kind               string `json:"kind"`
	}
)
