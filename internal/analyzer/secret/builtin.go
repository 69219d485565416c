package secret

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"path"
	"regexp"
	"strings"
	"sync"

	"github.com/picket-cdr/picket/internal/finding"
)

// spec is a built-in rule as written here; BuiltinRules compiles them.
type spec struct {
	id, title string
	sev       finding.Severity
	kw        []string
	re        string
	group     int
	entropy   float64
	path      func(string) bool
	multi     bool // MultiLine
	binary    bool // Binary
	weak      bool // ReportWeak
	validate  func(secret, match []byte) bool
	tags      []string
	rem       string
}

const (
	crit = finding.Critical
	high = finding.High
	med  = finding.Medium
)

// Pieces shared by many patterns.
const (
	// assign is what joins a key to its value: "key = ", "key: ", "key => ",
	// "\"key\": \"".
	assign = `["'\x60]?[ \t]*(?:=|:|:=|=>)[ \t]*["'\x60]?`
	// tokEnd ends a token made of [A-Za-z0-9_-].
	tokEnd = `(?:[^0-9A-Za-z_-]|$)`
	// pemBody is the inside of a PEM block: base64, line breaks (real or
	// JSON-escaped) and RFC 1421 headers ("Proc-Type: 4,ENCRYPTED").
	pemBody = `(?:\s|\\[nr])*([A-Za-z0-9+/=\s:,\\-]{64,}?)(?:\s|\\[nr])*`
	// quoted takes a value in double quotes, single quotes or bare (three
	// groups: the secret is the first that is not empty).
	quoted = `(?:"([^"\n]+)"|'([^'\n]+)'|([^\s"'#;]+))`
)

// prefixed is a rule for a token with a distinctive literal prefix: the
// keyword is the prefix, the regex the whole token.
func prefixed(id, title string, sev finding.Severity, kw []string, re string, tags ...string) spec {
	return spec{id: id, title: title, sev: sev, kw: kw, re: re, entropy: 3, tags: tags}
}

// Path filters.

func baseIs(names ...string) func(string) bool {
	return func(p string) bool {
		b := path.Base(p)
		for _, n := range names {
			if b == n {
				return true
			}
		}
		return false
	}
}

func hasSuffix(sfx ...string) func(string) bool {
	return func(p string) bool {
		for _, s := range sfx {
			if strings.HasSuffix(p, s) {
				return true
			}
		}
		return false
	}
}

func extIs(exts ...string) func(string) bool {
	return func(p string) bool {
		e := strings.ToLower(path.Ext(p))
		for _, x := range exts {
			if e == x {
				return true
			}
		}
		return false
	}
}

func anyOf(fs ...func(string) bool) func(string) bool {
	return func(p string) bool {
		for _, f := range fs {
			if f(p) {
				return true
			}
		}
		return false
	}
}

var (
	isEnvFile = func(p string) bool {
		b := path.Base(p)
		return b == ".env" || strings.HasPrefix(b, ".env.") || strings.HasSuffix(b, ".env")
	}
	isKubeconfig = func(p string) bool {
		b := path.Base(p)
		return strings.HasSuffix(p, "/.kube/config") || strings.HasPrefix(b, "kubeconfig") ||
			strings.HasSuffix(b, ".kubeconfig") ||
			(strings.HasPrefix(p, "/etc/kubernetes/") && strings.HasSuffix(b, ".conf"))
	}
	isDockerConfig = func(p string) bool {
		return strings.HasSuffix(p, "/.docker/config.json") || strings.HasSuffix(p, "/.dockercfg") ||
			strings.HasSuffix(p, "/docker/config.json") || strings.HasSuffix(p, "/containers/auth.json")
	}
	isMySQLConfig = func(p string) bool {
		b := path.Base(p)
		switch b {
		case "my.cnf", ".my.cnf", "debian.cnf", "client.cnf", "mysql-clients.cnf":
			return true
		}
		return strings.HasSuffix(b, ".cnf") && (strings.Contains(p, "/mysql") || strings.Contains(p, "/mariadb"))
	}
	isRedisConfig = func(p string) bool {
		b := path.Base(p)
		return strings.HasSuffix(b, ".acl") || (strings.Contains(p, "redis") && (strings.HasSuffix(b, ".conf") || strings.HasSuffix(b, ".acl")))
	}
	isShadow = func(p string) bool {
		switch p {
		case "/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-":
			return true
		}
		return false
	}
	isPasswd = func(p string) bool { return p == "/etc/passwd" || p == "/etc/passwd-" }
	// secretKey is a key name that ends with a word naming a secret
	// ("db_password", "clientSecret", "auth_token", "token"); keys that
	// merely mention one ("password_min_length", "nextToken") do not match.
	secretKey = `(?:[\w.-]*(?:passw(?:or)?d|pwd|passphrase|secret|api[_.-]?key|access[_.-]?key|private[_.-]?key|` +
		`(?:auth|access|refresh|bearer|api|bot|session|oauth|private|secret)[_.-]?token)|token)`
	secretKeyKeywords = []string{"passw", "pwd", "passphrase", "secret", "token", "apikey", "api_key", "api-key", "api.key",
		"accesskey", "access_key", "access-key", "access.key", "privatekey", "private_key", "private-key", "private.key"}
	// configFile: the formats generic assignment rules look at.
	configExts = []string{".conf", ".cfg", ".cnf", ".ini", ".properties", ".yaml", ".yml", ".toml", ".env"}
)

// builtinSpecs are the built-in rules. Each one has positive and negative
// examples in builtin_test.go.
var builtinSpecs = []spec{
	// --- cloud providers -------------------------------------------------
	{id: "aws-access-key-id", title: "AWS access key ID", sev: high, kw: []string{"akia", "asia", "abia", "acca"},
		re: `\b((?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b`, entropy: 3, tags: []string{"aws", "cloud"}},
	{id: "aws-secret-access-key", title: "AWS secret access key", sev: crit,
		kw:      []string{"secret_access_key", "secretaccesskey", "secret-access-key", "aws_secret", "aws-secret", "awssecret"},
		re:      `(?i)(?:secret[_.-]?access[_.-]?key|aws[_.-]?secret(?:[_.-]?key)?)` + assign + `([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)`,
		entropy: 4, tags: []string{"aws", "cloud"}},
	{id: "aws-session-token", title: "AWS session token", sev: high,
		kw:      []string{"session_token", "sessiontoken", "session-token", "security_token", "securitytoken"},
		re:      `(?i)(?:aws[_.-]?session[_.-]?token|aws[_.-]?security[_.-]?token|x-amz-security-token)` + assign + `([A-Za-z0-9/+=]{100,})`,
		entropy: 4, tags: []string{"aws", "cloud"}},
	prefixed("aws-mws-key", "Amazon MWS auth token", high, []string{"amzn.mws."},
		`\b(amzn\.mws\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b`, "aws"),
	{id: "aws-bedrock-api-key", title: "Amazon Bedrock API key", sev: high, kw: []string{"absk"},
		re: `\b(ABSK[A-Za-z0-9+/]{109,269}={0,2})`, entropy: 4, tags: []string{"aws", "cloud"}},
	{id: "gcp-api-key", title: "Google API key", sev: high, kw: []string{"aiza"},
		re: `\b(AIza[0-9A-Za-z_-]{35})` + tokEnd, entropy: 3.5, tags: []string{"gcp", "cloud"}},
	{id: "gcp-service-account-key", title: "Google Cloud service account key", sev: crit, kw: []string{"private_key_id"},
		re: `"private_key_id"\s*:\s*"([0-9a-f]{40})"`, tags: []string{"gcp", "cloud"}},
	prefixed("google-oauth-client-secret", "Google OAuth client secret", high, []string{"gocspx-"},
		`\b(GOCSPX-[0-9A-Za-z_-]{28})`+tokEnd, "gcp"),
	{id: "google-oauth-access-token", title: "Google OAuth access token", sev: high, kw: []string{"ya29."},
		re: `\b(ya29\.[0-9A-Za-z_-]{30,})`, entropy: 3.5, tags: []string{"gcp"}},
	{id: "google-oauth-refresh-token", title: "Google OAuth refresh token", sev: high, kw: []string{"1//0"},
		re: `(?:^|[^0-9A-Za-z/])(1//0[0-9A-Za-z_-]{40,})`, entropy: 3.5, tags: []string{"gcp"}},
	{id: "azure-storage-account-key", title: "Azure storage account key", sev: crit, kw: []string{"accountkey="},
		re: `(?i)AccountKey=([A-Za-z0-9+/]{86}==)`, entropy: 4, tags: []string{"azure", "cloud"}},
	{id: "azure-shared-access-key", title: "Azure Service Bus / Event Hubs / IoT shared access key", sev: high, kw: []string{"sharedaccesskey="},
		re: `(?i)SharedAccessKey=([A-Za-z0-9+/]{42,43}=)`, entropy: 4, tags: []string{"azure", "cloud"}},
	{id: "azure-sas-token", title: "Azure shared access signature", sev: high, kw: []string{"sv=20"},
		re: `(?i)\bsv=\d{4}-\d{2}-\d{2}&[^\s"'<>]*?\bsig=([A-Za-z0-9%+/]{40,}(?:%3D|=)?)`, tags: []string{"azure", "cloud"}},
	{id: "azure-ad-client-secret", title: "Azure AD (Entra ID) client secret", sev: high, kw: []string{"q~"},
		re: `(?:^|[\\'"\x60\s>=:(,)])([a-zA-Z0-9_~.]{3}\dQ~[a-zA-Z0-9_~.-]{31,34})(?:$|[\\'"\x60\s<),])`, entropy: 3, tags: []string{"azure", "cloud"}},
	{id: "azure-devops-pat", title: "Azure DevOps personal access token", sev: high, kw: []string{"devops", "vsts", "ado_pat", "ado_token"},
		re: `(?i)(?:azure[_.-]?devops|devops|vsts|ado)[\w.-]{0,20}(?:pat|token)` + assign + `([a-z2-7]{52})(?:[^a-z2-7]|$)`, entropy: 3.5, tags: []string{"azure"}},
	prefixed("alibaba-access-key-id", "Alibaba Cloud AccessKey ID", high, []string{"ltai"}, `\b(LTAI[0-9A-Za-z]{20})\b`, "alibaba", "cloud"),
	prefixed("tencentcloud-secret-id", "Tencent Cloud SecretId", high, []string{"akid"}, `\b(AKID[0-9A-Za-z]{32})\b`, "tencent", "cloud"),
	prefixed("yandex-api-key", "Yandex Cloud API key", high, []string{"aqvn"}, `\b(AQVN[A-Za-z0-9_-]{35,38})`+tokEnd, "yandex", "cloud"),
	prefixed("digitalocean-pat", "DigitalOcean personal access token", high, []string{"dop_v1_"}, `\b(dop_v1_[a-f0-9]{64})\b`, "digitalocean", "cloud"),
	prefixed("digitalocean-oauth-token", "DigitalOcean OAuth token", high, []string{"doo_v1_"}, `\b(doo_v1_[a-f0-9]{64})\b`, "digitalocean", "cloud"),
	prefixed("digitalocean-refresh-token", "DigitalOcean refresh token", high, []string{"dor_v1_"}, `\b(dor_v1_[a-f0-9]{64})\b`, "digitalocean", "cloud"),
	{id: "heroku-api-key", title: "Heroku API key", sev: high, kw: []string{"heroku"},
		re: `(?i)heroku[\w.-]{0,20}` + assign + `([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b`, tags: []string{"heroku", "cloud"}},
	prefixed("heroku-api-key-v2", "Heroku API key", high, []string{"hrku-aa"}, `\b(HRKU-AA[0-9A-Za-z_-]{58})`+tokEnd, "heroku", "cloud"),
	prefixed("cloudflare-origin-ca-key", "Cloudflare Origin CA key", high, []string{"v1.0-"}, `\b(v1\.0-[a-f0-9]{24}-[a-f0-9]{146})\b`, "cloudflare"),
	{id: "cloudflare-api-token", title: "Cloudflare API token", sev: high, kw: []string{"cloudflare", "cf_api", "cf-api"},
		re: `(?i)(?:cloudflare|cf)[\w.-]{0,20}(?:token|key)` + assign + `([A-Za-z0-9_-]{40})` + tokEnd, entropy: 3.5, tags: []string{"cloudflare"}},
	{id: "ibm-cloud-api-key", title: "IBM Cloud API key", sev: high, kw: []string{"ibm"},
		re: `(?i)ibm[\w.-]{0,20}api[_.-]?key` + assign + `([A-Za-z0-9_-]{44})` + tokEnd, entropy: 3.5, tags: []string{"ibm", "cloud"}},

	// --- source hosting, CI, registries -----------------------------------
	prefixed("github-pat", "GitHub personal access token", high, []string{"ghp_"}, `\b(ghp_[0-9A-Za-z]{36})\b`, "github"),
	prefixed("github-oauth-token", "GitHub OAuth access token", high, []string{"gho_"}, `\b(gho_[0-9A-Za-z]{36})\b`, "github"),
	prefixed("github-user-to-server-token", "GitHub App user-to-server token", high, []string{"ghu_"}, `\b(ghu_[0-9A-Za-z]{36})\b`, "github"),
	prefixed("github-server-to-server-token", "GitHub App installation token", high, []string{"ghs_"}, `\b(ghs_[0-9A-Za-z]{36})\b`, "github"),
	prefixed("github-refresh-token", "GitHub refresh token", high, []string{"ghr_"}, `\b(ghr_[0-9A-Za-z]{36,76})\b`, "github"),
	prefixed("github-fine-grained-pat", "GitHub fine-grained personal access token", high, []string{"github_pat_"}, `\b(github_pat_[0-9A-Za-z_]{82})\b`, "github"),
	prefixed("gitlab-pat", "GitLab personal access token", high, []string{"glpat-"}, `\b(glpat-[0-9A-Za-z_-]{20,}(?:\.[0-9A-Za-z_-]+)*)`, "gitlab"),
	prefixed("gitlab-pipeline-trigger-token", "GitLab pipeline trigger token", high, []string{"glptt-"}, `\b(glptt-[0-9a-f]{40})\b`, "gitlab"),
	prefixed("gitlab-runner-registration-token", "GitLab runner registration token", high, []string{"gr1348941"}, `\b(GR1348941[0-9A-Za-z_-]{20})`+tokEnd, "gitlab"),
	prefixed("gitlab-runner-auth-token", "GitLab runner authentication token", high, []string{"glrt-"}, `\b(glrt-[0-9A-Za-z_-]{20,}(?:\.[0-9A-Za-z_-]+)*)`, "gitlab"),
	prefixed("gitlab-deploy-token", "GitLab deploy token", high, []string{"gldt-"}, `\b(gldt-[0-9A-Za-z_-]{20,})`, "gitlab"),
	prefixed("gitlab-feed-token", "GitLab feed token", med, []string{"glft-"}, `\b(glft-[0-9A-Za-z_-]{20,})`, "gitlab"),
	prefixed("gitlab-oauth-app-secret", "GitLab OAuth application secret", high, []string{"gloas-"}, `\b(gloas-[0-9A-Za-z_-]{64})`, "gitlab"),
	prefixed("gitlab-scim-token", "GitLab SCIM token", high, []string{"glsoat-"}, `\b(glsoat-[0-9A-Za-z_-]{20,})`, "gitlab"),
	prefixed("gitlab-incoming-mail-token", "GitLab incoming mail token", med, []string{"glimt-"}, `\b(glimt-[0-9A-Za-z_-]{25,})`, "gitlab"),
	prefixed("gitlab-agent-token", "GitLab Kubernetes agent token", high, []string{"glagent-"}, `\b(glagent-[0-9A-Za-z_-]{50,})`, "gitlab"),
	prefixed("gitlab-ci-job-token", "GitLab CI/CD job token", med, []string{"glcbt-"}, `\b(glcbt-[0-9A-Za-z]{1,5}_[0-9A-Za-z_-]{20})`, "gitlab"),
	prefixed("atlassian-api-token", "Atlassian API token", high, []string{"atatt3"}, `\b(ATATT3[A-Za-z0-9_=-]{186})`, "atlassian"),
	prefixed("circleci-pat", "CircleCI personal API token", high, []string{"ccipat_"}, `\b(CCIPAT_[A-Za-z0-9]{22}_[a-f0-9]{40})\b`, "circleci"),
	prefixed("buildkite-api-token", "Buildkite API token", high, []string{"bkua_"}, `\b(bkua_[a-f0-9]{40})\b`, "buildkite"),
	prefixed("npm-access-token", "npm access token", high, []string{"npm_"}, `\b(npm_[A-Za-z0-9]{36})\b`, "npm"),
	{id: "npmrc-auth-token", title: "npm registry token in .npmrc", sev: high, kw: []string{"_authtoken"},
		re:   `(?m)_authToken[ \t]*=[ \t]*["']?([^\s"']{8,})`,
		path: anyOf(baseIs(".npmrc", "npmrc"), hasSuffix("/etc/npmrc")), tags: []string{"npm"}},
	{id: "npmrc-auth", title: "npm registry credentials in .npmrc", sev: high, kw: []string{"_auth", "_password"},
		re:   `(?m)(?:^|:)_(?:auth|password)[ \t]*=[ \t]*["']?([A-Za-z0-9+/=]{8,})`,
		path: anyOf(baseIs(".npmrc", "npmrc"), hasSuffix("/etc/npmrc")), tags: []string{"npm"}},
	{id: "yarnrc-auth-token", title: "Yarn registry token in .yarnrc.yml", sev: high, kw: []string{"npmauthtoken", "npmauthident"},
		re: `(?m)npmAuth(?:Token|Ident)[ \t]*:[ \t]*["']?([^\s"']{8,})`, tags: []string{"npm"}},
	prefixed("pypi-upload-token", "PyPI upload token", high, []string{"pypi-ageichlwas5vcmc"}, `\b(pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,})`, "pypi"),
	{id: "pypirc-password", title: "Package index password in .pypirc", sev: high, kw: []string{"password"},
		re: `(?m)^[ \t]*password[ \t]*[=:][ \t]*(\S+)`, path: baseIs(".pypirc"), weak: true, tags: []string{"pypi"}},
	prefixed("rubygems-api-token", "RubyGems API token", high, []string{"rubygems_"}, `\b(rubygems_[a-f0-9]{48})\b`, "rubygems"),
	{id: "gem-credentials", title: "RubyGems API key in ~/.gem/credentials", sev: high,
		re: `(?m)^:?rubygems_api_key:[ \t]*["']?([A-Za-z0-9_]{20,})`, path: hasSuffix("/.gem/credentials"), tags: []string{"rubygems"}},
	{id: "nuget-api-key", title: "NuGet API key", sev: high, kw: []string{"oy2"}, re: `\b(oy2[a-z0-9]{43})\b`, entropy: 3.5, tags: []string{"nuget"}},
	{id: "nuget-config-password", title: "Package source password in NuGet.Config", sev: high, kw: []string{"password"},
		re:   `(?i)<add\s+key="(?:ClearTextPassword|Password)"\s+value="([^"]+)"`,
		path: func(p string) bool { return strings.EqualFold(path.Base(p), "nuget.config") }, weak: true, tags: []string{"nuget"}},
	prefixed("dockerhub-pat", "Docker Hub personal access token", high, []string{"dckr_pat_"}, `\b(dckr_pat_[A-Za-z0-9_-]{27})`+tokEnd, "docker"),
	prefixed("dockerhub-oat", "Docker Hub organization access token", high, []string{"dckr_oat_"}, `\b(dckr_oat_[A-Za-z0-9_-]{32})`+tokEnd, "docker"),
	{id: "docker-config-auth", title: "Registry credentials in a Docker config.json", sev: high, kw: []string{`"auth"`},
		re: `"auth"\s*:\s*"([A-Za-z0-9+/=]{8,})"`, path: isDockerConfig, validate: basicAuthB64, tags: []string{"docker"}},
	{id: "docker-config-identity-token", title: "Registry identity token in a Docker config.json", sev: high,
		kw: []string{"identitytoken", "registrytoken"},
		re: `"(?:identitytoken|registrytoken)"\s*:\s*"([^"]{8,})"`, path: isDockerConfig, tags: []string{"docker"}},
	prefixed("terraform-cloud-token", "Terraform Cloud / Enterprise API token", high, []string{"atlasv1"}, `\b([A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,70})`, "hashicorp"),
	{id: "vault-service-token", title: "HashiCorp Vault service token", sev: high, kw: []string{"hvs."},
		re: `\b(hvs\.[A-Za-z0-9_-]{90,120})` + tokEnd, entropy: 3.5, tags: []string{"hashicorp"}},
	{id: "vault-batch-token", title: "HashiCorp Vault batch token", sev: high, kw: []string{"hvb."},
		re: `\b(hvb\.[A-Za-z0-9_-]{138,300})` + tokEnd, entropy: 3.5, tags: []string{"hashicorp"}},
	prefixed("pulumi-access-token", "Pulumi access token", high, []string{"pul-"}, `\b(pul-[a-f0-9]{40})\b`, "pulumi"),
	prefixed("jfrog-api-key", "JFrog Artifactory API key", high, []string{"akcp"}, `\b(AKCp[A-Za-z0-9]{69})\b`, "jfrog"),
	prefixed("jfrog-reference-token", "JFrog reference token", high, []string{"cmvmdgtu"}, `\b(cmVmdGtu[A-Za-z0-9]{56})\b`, "jfrog"),
	prefixed("sonarqube-token", "SonarQube token", high, []string{"squ_", "sqp_", "sqa_"}, `\b((?:squ|sqp|sqa)_[a-f0-9]{40})\b`, "sonarqube"),
	prefixed("doppler-api-token", "Doppler API token", high, []string{"dp.pt."}, `\b(dp\.pt\.[a-zA-Z0-9]{43})\b`, "doppler"),
	prefixed("postman-api-token", "Postman API key", high, []string{"pmak-"}, `\b(PMAK-[a-f0-9]{24}-[a-f0-9]{34})\b`, "postman"),
	prefixed("clojars-api-token", "Clojars deploy token", high, []string{"clojars_"}, `(?i)\b(CLOJARS_[a-z0-9]{60})\b`, "clojars"),
	prefixed("infracost-api-token", "Infracost API token", med, []string{"ico-"}, `\b(ico-[a-zA-Z0-9]{32})\b`, "infracost"),
	prefixed("scalingo-api-token", "Scalingo API token", high, []string{"tk-us-"}, `\b(tk-us-[A-Za-z0-9_-]{48})`+tokEnd, "scalingo"),
	prefixed("render-api-key", "Render API key", high, []string{"rnd_"}, `\b(rnd_[A-Za-z0-9]{32})\b`, "render"),
	prefixed("flyio-access-token", "Fly.io access token", high, []string{"fo1_"}, `\b(fo1_[A-Za-z0-9_-]{43})`+tokEnd, "flyio"),
	prefixed("flyio-macaroon", "Fly.io macaroon token", high, []string{"flyv1 fm"}, `\b(FlyV1 fm\d+_[A-Za-z0-9+/=,_-]{100,})`, "flyio"),
	prefixed("tailscale-key", "Tailscale key", high, []string{"tskey-"}, `\b(tskey-(?:api|auth|client|webhook|scim)-[a-zA-Z0-9]{10,}-[a-zA-Z0-9]{20,})\b`, "tailscale"),
	prefixed("defined-networking-api-token", "Defined Networking API token", high, []string{"dnkey-"}, `\b(dnkey-[a-z0-9=_-]{26}-[a-z0-9=_-]{52})`, "nebula"),
	{id: "ngrok-authtoken", title: "ngrok authtoken", sev: high, kw: []string{"authtoken"},
		re: `(?m)^[ \t]*authtoken[ \t]*:[ \t]*["']?([A-Za-z0-9_]{30,})`, path: baseIs("ngrok.yml", "ngrok.yaml"), tags: []string{"ngrok"}},

	// --- observability, data, AI ------------------------------------------
	prefixed("sentry-org-token", "Sentry organization token", high, []string{"sntrys_"}, `\b(sntrys_eyJ[A-Za-z0-9+/=_]{80,})`, "sentry"),
	prefixed("sentry-user-token", "Sentry user auth token", high, []string{"sntryu_"}, `\b(sntryu_[a-f0-9]{64})\b`, "sentry"),
	{id: "grafana-cloud-api-token", title: "Grafana Cloud API token", sev: high, kw: []string{"glc_"},
		re: `\b(glc_[A-Za-z0-9+/]{32,400}={0,2})`, entropy: 3.5, tags: []string{"grafana"}},
	prefixed("grafana-service-account-token", "Grafana service account token", high, []string{"glsa_"}, `\b(glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8})\b`, "grafana"),
	{id: "grafana-api-key", title: "Grafana API key", sev: high, kw: []string{"eyjrijoi"},
		re: `\b(eyJrIjoi[A-Za-z0-9]{70,400}={0,2})`, entropy: 3.5, tags: []string{"grafana"}},
	prefixed("newrelic-user-api-key", "New Relic user API key", high, []string{"nrak-"}, `\b(NRAK-[A-Z0-9]{27})\b`, "newrelic"),
	prefixed("newrelic-insert-key", "New Relic insert key", high, []string{"nrii-"}, `\b(NRII-[A-Za-z0-9_-]{32})`+tokEnd, "newrelic"),
	prefixed("newrelic-browser-key", "New Relic browser API key", med, []string{"nrjs-"}, `\b(NRJS-[a-f0-9]{19})\b`, "newrelic"),
	{id: "datadog-api-key", title: "Datadog API or application key", sev: high, kw: []string{"datadog", "dd_api", "dd_app", "dd-api", "dd-app"},
		re: `(?i)(?:datadog|dd)[_.-]?(?:api|app(?:lication)?)[_.-]?key` + assign + `([a-f0-9]{32}(?:[a-f0-9]{8})?)\b`, entropy: 3, tags: []string{"datadog"}},
	{id: "dynatrace-api-token", title: "Dynatrace API token", sev: high, kw: []string{"dt0c01."},
		re: `\b(dt0c01\.[A-Z0-9]{24}\.[A-Z0-9]{64})\b`, entropy: 3, tags: []string{"dynatrace"}},
	prefixed("databricks-api-token", "Databricks API token", high, []string{"dapi"}, `\b(dapi[a-f0-9]{32}(?:-\d)?)\b`, "databricks"),
	prefixed("planetscale-password", "PlanetScale password", high, []string{"pscale_pw_"}, `\b(pscale_pw_[A-Za-z0-9_.=-]{32,64})`, "planetscale"),
	prefixed("planetscale-api-token", "PlanetScale API token", high, []string{"pscale_tkn_"}, `\b(pscale_tkn_[A-Za-z0-9_.=-]{32,64})`, "planetscale"),
	prefixed("planetscale-oauth-token", "PlanetScale OAuth token", high, []string{"pscale_oauth_"}, `\b(pscale_oauth_[A-Za-z0-9_.=-]{32,64})`, "planetscale"),
	prefixed("supabase-access-token", "Supabase access token", high, []string{"sbp_"}, `\b(sbp_[a-f0-9]{40})\b`, "supabase"),
	prefixed("supabase-secret-key", "Supabase secret API key", high, []string{"sb_secret_"}, `\b(sb_secret_[A-Za-z0-9_-]{31,})`, "supabase"),
	prefixed("prefect-api-token", "Prefect API token", high, []string{"pnu_"}, `\b(pnu_[a-zA-Z0-9]{36})\b`, "prefect"),
	prefixed("readme-api-token", "ReadMe API token", high, []string{"rdme_"}, `\b(rdme_[a-z0-9]{70})\b`, "readme"),
	prefixed("linear-api-key", "Linear API key", high, []string{"lin_api_"}, `\b(lin_api_[a-zA-Z0-9]{40})\b`, "linear"),
	prefixed("notion-api-token", "Notion integration token", high, []string{"ntn_"}, `\b(ntn_[0-9]{11}[A-Za-z0-9]{32,35})\b`, "notion"),
	prefixed("huggingface-access-token", "Hugging Face access token", high, []string{"hf_"}, `\b(hf_[a-zA-Z]{34})\b`, "huggingface", "ai"),
	prefixed("huggingface-org-token", "Hugging Face organization token", high, []string{"api_org_"}, `\b(api_org_[a-zA-Z]{34})\b`, "huggingface", "ai"),
	prefixed("openai-api-key", "OpenAI API key", high, []string{"t3blbkfj"},
		`\b(sk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,160}|[A-Za-z0-9]{20})T3BlbkFJ[A-Za-z0-9_-]{20,160})`, "openai", "ai"),
	prefixed("anthropic-api-key", "Anthropic API key", high, []string{"sk-ant-api03-"}, `\b(sk-ant-api03-[A-Za-z0-9_-]{93}AA)`, "anthropic", "ai"),
	prefixed("anthropic-admin-key", "Anthropic admin API key", crit, []string{"sk-ant-admin01-"}, `\b(sk-ant-admin01-[A-Za-z0-9_-]{93}AA)`, "anthropic", "ai"),
	prefixed("perplexity-api-key", "Perplexity API key", high, []string{"pplx-"}, `\b(pplx-[a-zA-Z0-9]{48})\b`, "perplexity", "ai"),
	prefixed("groq-api-key", "Groq API key", high, []string{"gsk_"}, `\b(gsk_[a-zA-Z0-9]{52})\b`, "groq", "ai"),
	prefixed("replicate-api-token", "Replicate API token", high, []string{"r8_"}, `\b(r8_[A-Za-z0-9]{37})\b`, "replicate", "ai"),
	prefixed("langsmith-api-key", "LangSmith API key", high, []string{"lsv2_"}, `\b(lsv2_(?:pt|sk)_[a-f0-9]{32}_[a-f0-9]{10})\b`, "langchain", "ai"),

	// --- messaging, commerce, payments ------------------------------------
	prefixed("slack-bot-token", "Slack bot token", high, []string{"xoxb-"}, `\b(xoxb-[0-9]{10,13}-[0-9]{10,13}[a-zA-Z0-9-]*)`, "slack"),
	prefixed("slack-user-token", "Slack user token", high, []string{"xoxp-", "xoxe-"}, `\b(xox[pe](?:-[0-9]{10,13}){3}-[a-zA-Z0-9-]{28,34})`, "slack"),
	prefixed("slack-app-token", "Slack app-level token", high, []string{"xapp-"}, `(?i)\b(xapp-\d-[A-Z0-9]+-\d+-[a-z0-9]+)`, "slack"),
	prefixed("slack-config-access-token", "Slack configuration access token", high, []string{"xoxe.xox"}, `(?i)\b(xoxe\.xox[bp]-\d-[A-Z0-9]{163,166})`, "slack"),
	prefixed("slack-config-refresh-token", "Slack configuration refresh token", high, []string{"xoxe-"}, `(?i)\b(xoxe-\d-[A-Z0-9]{146})`, "slack"),
	prefixed("slack-legacy-token", "Slack legacy token", high, []string{"xoxo-", "xoxs-", "xoxa-", "xoxr-"}, `\b(xox[osar]-(?:\d+-){1,3}[0-9a-zA-Z]{8,48})`, "slack"),
	prefixed("slack-webhook-url", "Slack incoming webhook URL", high, []string{"hooks.slack.com"},
		`hooks\.slack\.com/(?:services|workflows|triggers)/([A-Za-z0-9+/]{43,56})`, "slack"),
	prefixed("discord-webhook-url", "Discord webhook URL", med, []string{"discord.com/api/webhooks", "discordapp.com/api/webhooks"},
		`discord(?:app)?\.com/api/webhooks/[0-9]{17,20}/([A-Za-z0-9_-]{60,68})`, "discord"),
	{id: "telegram-bot-token", title: "Telegram bot token", sev: high, kw: []string{":aa"},
		re: `(?:^|[^0-9A-Za-z_-])([0-9]{8,10}:AA[0-9A-Za-z_-]{33})` + tokEnd, entropy: 3.5, tags: []string{"telegram"}},
	prefixed("teams-webhook-url", "Microsoft Teams incoming webhook URL", med, []string{"webhook.office.com"},
		`(?i)https://[a-z0-9-]+\.webhook\.office\.com/webhookb2/[a-z0-9-]{36}@[a-z0-9-]{36}/IncomingWebhook/([a-z0-9]{32})/[a-z0-9-]{36}`, "microsoft"),
	{id: "twilio-api-key", title: "Twilio API key", sev: high, kw: []string{"twilio"},
		re: `(?i)twilio[\w.-]{0,30}` + assign + `(SK[0-9a-f]{32})\b`, entropy: 3, tags: []string{"twilio"}},
	prefixed("sendgrid-api-token", "SendGrid API key", high, []string{"sg."}, `\b(SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43})`+tokEnd, "sendgrid"),
	{id: "mailgun-api-key", title: "Mailgun API key", sev: high, kw: []string{"mailgun"},
		re: `(?i)mailgun[\w.-]{0,20}` + assign + `(key-[0-9a-f]{32})\b`, entropy: 3, tags: []string{"mailgun"}},
	prefixed("mailchimp-api-key", "Mailchimp API key", high, []string{"-us"}, `\b([0-9a-f]{32}-us[0-9]{1,2})\b`, "mailchimp"),
	prefixed("stripe-live-secret-key", "Stripe live secret or restricted key", crit, []string{"sk_live_", "rk_live_"},
		`\b((?:sk|rk)_live_[0-9A-Za-z]{20,247})\b`, "stripe", "payment"),
	prefixed("stripe-test-secret-key", "Stripe test-mode secret key", med, []string{"sk_test_", "rk_test_"},
		`\b((?:sk|rk)_test_[0-9A-Za-z]{20,247})\b`, "stripe", "payment"),
	prefixed("stripe-webhook-secret", "Stripe webhook signing secret", high, []string{"whsec_"}, `\b(whsec_[A-Za-z0-9+/=]{32,})`, "stripe", "payment"),
	{id: "square-access-token", title: "Square access token", sev: high, kw: []string{"eaaa"},
		re: `\b(EAAA[A-Za-z0-9_-]{60})` + tokEnd, entropy: 3.5, tags: []string{"square", "payment"}},
	prefixed("square-oauth-secret", "Square OAuth secret", high, []string{"sq0csp-"}, `\b(sq0csp-[A-Za-z0-9_-]{43})`+tokEnd, "square", "payment"),
	prefixed("square-legacy-token", "Square legacy access token", high, []string{"sq0atp-"}, `\b(sq0atp-[A-Za-z0-9_-]{22})`+tokEnd, "square", "payment"),
	prefixed("braintree-access-token", "Braintree / PayPal access token", crit, []string{"access_token$production$"},
		`(access_token\$production\$[0-9a-z]{16}\$[0-9a-f]{32})`, "paypal", "payment"),
	prefixed("flutterwave-secret-key", "Flutterwave secret key", high, []string{"flwseck"}, `\b(FLWSECK(?:_TEST)?-[a-hA-H0-9]{32}-X)`, "flutterwave", "payment"),
	prefixed("plaid-access-token", "Plaid access token", high, []string{"access-sandbox-", "access-development-", "access-production-"},
		`\b(access-(?:sandbox|development|production)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b`, "plaid", "payment"),
	prefixed("shopify-access-token", "Shopify access token", high, []string{"shpat_"}, `\b(shpat_[a-fA-F0-9]{32})\b`, "shopify"),
	prefixed("shopify-custom-app-token", "Shopify custom app access token", high, []string{"shpca_"}, `\b(shpca_[a-fA-F0-9]{32})\b`, "shopify"),
	prefixed("shopify-private-app-token", "Shopify private app access token", high, []string{"shppa_"}, `\b(shppa_[a-fA-F0-9]{32})\b`, "shopify"),
	prefixed("shopify-shared-secret", "Shopify shared secret", high, []string{"shpss_"}, `\b(shpss_[a-fA-F0-9]{32})\b`, "shopify"),
	{id: "facebook-access-token", title: "Facebook access token", sev: high, kw: []string{"eaa"},
		re: `\b(EAA[BCDGIMQUZ][0-9A-Za-z]{100,})`, entropy: 4, tags: []string{"facebook"}},
	{id: "twitter-bearer-token", title: "Twitter / X bearer token", sev: high, kw: []string{"aaaaaaaaaaaaaaaaaaaaaa"},
		re: `(?:^|[^A-Za-z0-9+/])(A{22}[A-Za-z0-9%]{80,120})(?:[^A-Za-z0-9%+/=]|$)`, entropy: 3.5, tags: []string{"twitter"}},
	prefixed("mapbox-secret-token", "Mapbox secret access token", high, []string{"sk.eyj1ijoi"}, `\b(sk\.eyJ1Ijoi[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,})`, "mapbox"),
	prefixed("easypost-api-token", "EasyPost API key", high, []string{"ezak", "eztk"}, `\b(EZ[AT]K[a-zA-Z0-9]{54})\b`, "easypost"),
	prefixed("typeform-api-token", "Typeform API token", high, []string{"tfp_"}, `\b(tfp_[A-Za-z0-9_.=-]{59})`, "typeform"),
	prefixed("duffel-api-token", "Duffel API token", high, []string{"duffel_"}, `\b(duffel_(?:test|live)_[A-Za-z0-9_=-]{43})`, "duffel"),
	prefixed("frameio-api-token", "Frame.io API token", high, []string{"fio-u-"}, `\b(fio-u-[A-Za-z0-9_=-]{64})`, "frameio"),
	prefixed("settlemint-token", "SettleMint access token", high, []string{"sm_pat_", "sm_aat_", "sm_sat_"}, `\b(sm_(?:pat|aat|sat)_[a-zA-Z0-9]{16})\b`, "settlemint"),
	{id: "sidekiq-enterprise-credentials", title: "Sidekiq Enterprise / Pro credentials", sev: high, kw: []string{"contribsys__com"},
		re: `(?i)BUNDLE_(?:ENTERPRISE|GEMS)__CONTRIBSYS__COM["']?[ \t]*[=:][ \t]*["']?([a-f0-9]{8}:[a-f0-9]{8})\b`, tags: []string{"sidekiq"}},

	// --- secret managers and key material ----------------------------------
	prefixed("age-secret-key", "age encryption secret key", crit, []string{"age-secret-key-1"}, `\b(AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58})\b`, "age", "private-key"),
	{id: "1password-secret-key", title: "1Password account secret key", sev: crit, kw: []string{"a3-"},
		re: `\b(A3-[A-Z0-9]{6}-(?:[A-Z0-9]{11}|[A-Z0-9]{6}-[A-Z0-9]{5})-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5})\b`, entropy: 3.8, tags: []string{"1password"}},
	prefixed("1password-service-account-token", "1Password service account token", crit, []string{"ops_eyj"}, `\b(ops_eyJ[A-Za-z0-9+/]{250,}={0,3})`, "1password"),
	{id: "private-key-rsa", title: "RSA private key", sev: crit, kw: []string{"begin rsa private key"}, multi: true, binary: true,
		re: `-----BEGIN RSA PRIVATE KEY-----` + pemBody + `-----END RSA PRIVATE KEY-----`, validate: pemLike, tags: []string{"private-key"}},
	{id: "private-key-ec", title: "EC private key", sev: crit, kw: []string{"begin ec private key"}, multi: true, binary: true,
		re: `-----BEGIN EC PRIVATE KEY-----` + pemBody + `-----END EC PRIVATE KEY-----`, validate: pemLike, tags: []string{"private-key"}},
	{id: "private-key-dsa", title: "DSA private key", sev: crit, kw: []string{"begin dsa private key"}, multi: true, binary: true,
		re: `-----BEGIN DSA PRIVATE KEY-----` + pemBody + `-----END DSA PRIVATE KEY-----`, validate: pemLike, tags: []string{"private-key"}},
	{id: "private-key-openssh", title: "OpenSSH private key", sev: crit, kw: []string{"begin openssh private key"}, multi: true, binary: true,
		re: `-----BEGIN OPENSSH PRIVATE KEY-----` + pemBody + `-----END OPENSSH PRIVATE KEY-----`, validate: pemLike, tags: []string{"private-key", "ssh"}},
	{id: "private-key-pkcs8", title: "PKCS#8 private key", sev: crit, kw: []string{"begin private key"}, multi: true, binary: true,
		re: `-----BEGIN PRIVATE KEY-----` + pemBody + `-----END PRIVATE KEY-----`, validate: pemLike, tags: []string{"private-key"}},
	{id: "private-key-pkcs8-encrypted", title: "Encrypted PKCS#8 private key", sev: high, kw: []string{"begin encrypted private key"}, multi: true, binary: true,
		re: `-----BEGIN ENCRYPTED PRIVATE KEY-----` + pemBody + `-----END ENCRYPTED PRIVATE KEY-----`, validate: pemLike, tags: []string{"private-key"}},
	{id: "private-key-pgp", title: "PGP private key block", sev: crit, kw: []string{"begin pgp private key block"}, multi: true, binary: true,
		re: `-----BEGIN PGP PRIVATE KEY BLOCK-----(?:\s|\\[nr])*(?:[A-Za-z-]+: [^\r\n\\]*(?:\r?\n|\\r?\\n))*(?:\s|\\[nr])*` +
			`([A-Za-z0-9+/=\s\\]{64,}?)(?:\s|\\[nr])*-----END PGP PRIVATE KEY BLOCK-----`,
		validate: pemLike, tags: []string{"private-key", "pgp"}},
	{id: "private-key-putty", title: "PuTTY private key", sev: crit, kw: []string{"putty-user-key-file-"}, multi: true, binary: true,
		re:       `PuTTY-User-Key-File-[23]: [^\r\n]+\r?\nEncryption: [^\r\n]+\r?\n(?:[^\r\n]*\r?\n){0,12}?Private-Lines: \d+\r?\n([A-Za-z0-9+/=\r\n]{40,}?)\r?\nPrivate-MAC`,
		validate: pemLike, tags: []string{"private-key", "ssh"}},
	{id: "private-key-ssh2", title: "SSH2 (SECSH) private key", sev: high, kw: []string{"begin ssh2 encrypted private key"}, multi: true, binary: true,
		re:       `---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----` + `(?:\s|\\[nr])*([A-Za-z0-9+/=\s:,"\\-]{64,}?)(?:\s|\\[nr])*` + `---- END SSH2 ENCRYPTED PRIVATE KEY ----`,
		validate: pemLike, tags: []string{"private-key", "ssh"}},
	{id: "openvpn-static-key", title: "OpenVPN static key", sev: high, kw: []string{"begin openvpn static key"}, multi: true,
		re: `-----BEGIN OpenVPN Static key V1-----\s*([0-9a-f\s]{256,}?)\s*-----END OpenVPN Static key V1-----`, tags: []string{"private-key", "vpn"}},
	{id: "wireguard-private-key", title: "WireGuard private key", sev: high, kw: []string{"privatekey"},
		re: `(?m)^[ \t]*PrivateKey[ \t]*=[ \t]*([A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=)`, entropy: 3.5, tags: []string{"private-key", "vpn"}},
	{id: "pkcs12-file", title: "PKCS#12 key store file", sev: med, path: extIs(".p12", ".pfx"), tags: []string{"private-key"}},
	{id: "jwt", title: "JSON Web Token", sev: med, kw: []string{"eyj"},
		re: `\b(eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{16,})`, validate: jwtLike, tags: []string{"jwt"}},
	{id: "kubernetes-service-account-token", title: "Kubernetes service account token", sev: high,
		re: `(eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)`, path: hasSuffix("/serviceaccount/token"), tags: []string{"kubernetes"}},
	{id: "kubeconfig-token", title: "Bearer token in a kubeconfig", sev: high, kw: []string{"token"},
		re: `(?m)^[ \t]*token:[ \t]*["']?([A-Za-z0-9._~+/=-]{16,})`, path: isKubeconfig, tags: []string{"kubernetes"}},
	{id: "kubeconfig-client-key-data", title: "Client private key in a kubeconfig", sev: crit, kw: []string{"client-key-data"},
		re: `client-key-data:[ \t]*["']?([A-Za-z0-9+/=]{40,})`, entropy: 4, tags: []string{"kubernetes", "private-key"}},
	{id: "kubeconfig-password", title: "Password in a kubeconfig", sev: high, kw: []string{"password"},
		re: `(?m)^[ \t]*password:[ \t]*` + quoted, path: isKubeconfig, weak: true, tags: []string{"kubernetes"}},

	// --- databases and services --------------------------------------------
	{id: "postgres-url-password", title: "PostgreSQL connection URL with a password", sev: high,
		kw: []string{"postgres://", "postgresql://", "postgres+", "postgresql+"},
		re: `(?i)\bpostgres(?:ql)?(?:\+\w+)?://[^\s:/?#@'"]*:([^\s@/'"]+)@[^\s/'"]+`, tags: []string{"database", "postgresql"}},
	{id: "mysql-url-password", title: "MySQL / MariaDB connection URL with a password", sev: high,
		kw: []string{"mysql://", "mysql+", "mariadb://", "mariadb+", "mysqlx://"},
		re: `(?i)\b(?:mysql|mysqlx|mariadb)(?:\+\w+)?://[^\s:/?#@'"]*:([^\s@/'"]+)@[^\s/'"]+`, tags: []string{"database", "mysql"}},
	{id: "mongodb-url-password", title: "MongoDB connection URL with a password", sev: high,
		kw: []string{"mongodb://", "mongodb+srv://"},
		re: `(?i)\bmongodb(?:\+srv)?://[^\s:/?#@'"]*:([^\s@/'"]+)@[^\s/'"]+`, tags: []string{"database", "mongodb"}},
	{id: "redis-url-password", title: "Redis connection URL with a password", sev: high, kw: []string{"redis://", "rediss://"},
		re: `(?i)\brediss?://[^\s:/?#@'"]*:([^\s@/'"]+)@[^\s/'"]+`, tags: []string{"database", "redis"}},
	{id: "amqp-url-password", title: "AMQP (RabbitMQ) URL with a password", sev: high, kw: []string{"amqp://", "amqps://"},
		re: `(?i)\bamqps?://[^\s:/?#@'"]*:([^\s@/'"]+)@[^\s/'"]+`, tags: []string{"database", "rabbitmq"}},
	{id: "ftp-url-password", title: "FTP URL with a password", sev: high, kw: []string{"ftp://", "ftps://"},
		re: `(?i)\bs?ftps?://[^\s:/?#@'"]+:([^\s@/'"]+)@[^\s/'"]+`, tags: []string{"url"}},
	{id: "smtp-url-password", title: "SMTP URL with a password", sev: high, kw: []string{"smtp://", "smtps://"},
		re: `(?i)\bsmtps?://[^\s:/?#@'"]+:([^\s@/'"]+)@[^\s/'"]+`, tags: []string{"url", "mail"}},
	{id: "url-basic-auth", title: "HTTP URL with a password", sev: med, kw: []string{"http://", "https://"},
		re: `(?i)\bhttps?://[^\s:/?#@'"<>]+:([^\s@/'"<>]{3,})@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`, validate: notURLTemplate, tags: []string{"url"}},
	{id: "jdbc-password", title: "JDBC connection string with a password", sev: high, kw: []string{"jdbc:"},
		re: `(?i)\bjdbc:[a-z0-9]+:[^\s"'<>]*?[;?&]password=([^;&\s"'<>]+)`, tags: []string{"database"}},
	{id: "ado-connection-string-password", title: "Database connection string with a password", sev: high, kw: []string{"password=", "pwd="},
		re: `(?i)\b(?:server|data source|host)=[^;"'\n]+;[^"'\n]*?\b(?:password|pwd)=([^;"'\n]+)`, tags: []string{"database"}},
	{id: "postgres-conninfo-password", title: "PostgreSQL connection string with a password", sev: high, kw: []string{"password="},
		re: `(?i)\b(?:host|hostaddr|dbname)=[^\s'"]+[^\n]*?\bpassword=(?:'((?:[^'\\\n]|\\.)+)'|([^\s'";]+))`, tags: []string{"database", "postgresql"}},
	{id: "pgpass-password", title: "Password in a PostgreSQL .pgpass file", sev: high,
		re:   `(?m)^[^#\n:]*:[^:\n]*:[^:\n]*:[^:\n]*:([^\n\r]+)$`,
		path: baseIs(".pgpass", "pgpass", "pgpass.conf"), weak: true, tags: []string{"database", "postgresql"}},
	{id: "mysql-config-password", title: "Password in a MySQL / MariaDB option file", sev: high, kw: []string{"password"},
		re: `(?m)^[ \t]*password[ \t]*=[ \t]*` + quoted, path: isMySQLConfig, weak: true, tags: []string{"database", "mysql"}},
	{id: "redis-requirepass", title: "Redis requirepass password", sev: high, kw: []string{"requirepass"},
		re: `(?m)^[ \t]*requirepass[ \t]+` + quoted, weak: true, tags: []string{"database", "redis"}},
	{id: "redis-masterauth", title: "Redis masterauth password", sev: high, kw: []string{"masterauth"},
		re: `(?m)^[ \t]*masterauth[ \t]+` + quoted, weak: true, tags: []string{"database", "redis"}},
	{id: "redis-acl-password", title: "Password in a Redis ACL rule", sev: high,
		re: `(?m)^[ \t]*user[ \t]+\S+[^\n]*?[ \t]>(\S+)`, path: isRedisConfig, weak: true, tags: []string{"database", "redis"}},
	{id: "mongod-config-password", title: "Password in a MongoDB server configuration", sev: high, kw: []string{"password"},
		re:   `(?m)^[ \t]*(?:queryPassword|certificateKeyFilePassword|PEMKeyPassword|clusterPassword|clusterFilePassword|clientCertificatePassword)[ \t]*:[ \t]*` + quoted,
		path: baseIs("mongod.conf", "mongos.conf", "mongod.yaml", "mongod.yml"), weak: true, tags: []string{"database", "mongodb"}},
	{id: "ldap-root-password", title: "OpenLDAP rootpw", sev: high, kw: []string{"rootpw"},
		re: `(?mi)^[ \t]*(?:rootpw|olcRootPW:)[ \t]+(\S+)`, weak: true, tags: []string{"ldap"}},
	{id: "wordpress-db-password", title: "WordPress database password", sev: high, kw: []string{"db_password"},
		re: `define\(\s*['"]DB_PASSWORD['"]\s*,\s*['"]([^'"]+)['"]`, weak: true, tags: []string{"database", "php"}},
	{id: "tomcat-users-password", title: "Password in tomcat-users.xml", sev: high, kw: []string{"password"},
		re: `<user\s[^>]*\bpassword="([^"]+)"`, path: baseIs("tomcat-users.xml"), weak: true, tags: []string{"java"}},
	{id: "maven-settings-password", title: "Password in Maven settings.xml", sev: high, kw: []string{"<password>"},
		re: `<password>([^<\s]+)</password>`, path: baseIs("settings.xml", "settings-security.xml"), weak: true, tags: []string{"java"}},

	// --- files that hold credentials -----------------------------------------
	{id: "env-file-secret", title: "Secret in a .env file", sev: high,
		kw: []string{"pass", "pwd", "secret", "token", "key", "auth", "credential"},
		re: `(?mi)^[ \t]*(?:export[ \t]+)?[A-Za-z0-9_.-]*(?:passw(?:or)?d|pwd|secret|token|api[_-]?key|private[_-]?key|access[_-]?key|auth|credential)[A-Za-z0-9_.-]*[ \t]*=[ \t]*` +
			`(?:"([^"\n]+)"|'([^'\n]+)'|([^\s"'#]+))`,
		path: isEnvFile, validate: configValue, tags: []string{"dotenv"}},
	{id: "git-credentials", title: "Credentials in .git-credentials", sev: high,
		re: `(?i)\bhttps?://[^\s:/@]*:([^\s@]+)@`, path: baseIs(".git-credentials", "git-credentials"), weak: true, tags: []string{"git"}},
	{id: "netrc-password", title: "Password in .netrc", sev: high, kw: []string{"password"},
		re: `(?m)\bpassword[ \t]+(\S+)`, path: baseIs(".netrc", "_netrc"), weak: true, tags: []string{"netrc"}},
	{id: "apt-auth-password", title: "Password in APT auth.conf", sev: high, kw: []string{"password"},
		re: `(?m)\bpassword[ \t]+(\S+)`, path: func(p string) bool { return p == "/etc/apt/auth.conf" || strings.HasPrefix(p, "/etc/apt/auth.conf.d/") },
		weak: true, tags: []string{"apt"}},
	{id: "aws-credentials-file", title: "Secret in an AWS credentials file", sev: crit, kw: []string{"aws_secret_access_key", "aws_session_token"},
		re: `(?m)^[ \t]*(?:aws_secret_access_key|aws_session_token)[ \t]*=[ \t]*(\S+)`, path: hasSuffix("/.aws/credentials", "/.aws/config"), tags: []string{"aws"}},
	{id: "s3cfg-secret", title: "Secret key in .s3cfg", sev: high, kw: []string{"secret_key", "access_token"},
		re: `(?m)^[ \t]*(?:secret_key|access_token)[ \t]*=[ \t]*(\S+)`, path: baseIs(".s3cfg", "s3cfg"), tags: []string{"aws"}},
	{id: "debconf-password", title: "Password stored by debconf", sev: high, kw: []string{"value:"},
		re: `(?m)^Value:[ \t]*(\S[^\n]*)$`, path: hasSuffix("/var/cache/debconf/passwords.dat"), weak: true, tags: []string{"debian"}},
	{id: "htpasswd-hash", title: "Password hash in an htpasswd file", sev: med,
		re:   `(?m)^[^:\s#]+:(\$apr1\$[^\s:]+|\{SHA\}[A-Za-z0-9+/=]{28}|\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}|[./A-Za-z0-9]{13})$`,
		path: func(p string) bool { return strings.HasSuffix(path.Base(p), "htpasswd") }, weak: true, tags: []string{"password-hash"}},
	{id: "smbpasswd-hash", title: "NT password hash in smbpasswd", sev: high,
		re: `(?m)^[^:\n]+:\d+:[0-9A-FX]{32}:([0-9A-F]{32}):`, path: baseIs("smbpasswd"), tags: []string{"password-hash"}},
	{id: "wpa-supplicant-psk", title: "Wi-Fi passphrase in wpa_supplicant.conf", sev: med, kw: []string{"psk"},
		re: `(?m)^[ \t]*psk[ \t]*=[ \t]*"([^"\n]{8,63})"`, weak: true, tags: []string{"wifi"}},
	{id: "django-secret-key", title: "Django / Flask SECRET_KEY", sev: high, kw: []string{"secret_key"},
		re: `(?m)^[ \t]*SECRET_KEY[ \t]*=[ \t]*[rbu]?["']([^"'\n]{20,})["']`, path: extIs(".py"), entropy: 3, tags: []string{"python"}},
	{id: "rails-master-key", title: "Rails master key", sev: high,
		re: `\A[ \t]*([0-9a-f]{32})[ \t]*\r?\n?\z`, path: func(p string) bool {
			return strings.HasSuffix(p, "/config/master.key") || (strings.Contains(p, "/config/credentials/") && strings.HasSuffix(p, ".key"))
		}, tags: []string{"ruby"}},
	{id: "rails-secret-key-base", title: "Rails secret_key_base", sev: high, kw: []string{"secret_key_base"},
		re: `(?i)secret_key_base["']?[ \t]*[:=][ \t]*["']?([0-9a-f]{64,})`, entropy: 3, tags: []string{"ruby"}},
	{id: "laravel-app-key", title: "Laravel APP_KEY", sev: high, kw: []string{"app_key"},
		re: `(?m)^[ \t]*APP_KEY[ \t]*=[ \t]*["']?base64:([A-Za-z0-9+/]{43}=)`, tags: []string{"php"}},
	{id: "symfony-app-secret", title: "Symfony APP_SECRET", sev: high, kw: []string{"app_secret"},
		re: `(?m)^[ \t]*APP_SECRET[ \t]*=[ \t]*["']?([0-9a-f]{32})\b`, entropy: 3, tags: []string{"php"}},

	// --- generic assignments in configuration formats -----------------------
	{id: "config-password", title: "Password or secret in a configuration file", sev: med, kw: secretKeyKeywords,
		re:   `(?mi)^[ \t]*(?:-[ \t]+)?` + secretKey + `["']?[ \t]*[=:][ \t]*` + quoted + `[ \t]*(?:[#;].*)?$`,
		path: extIs(configExts...), validate: configValue, entropy: 3, tags: []string{"config"}},
	{id: "json-password", title: "Password or secret in a JSON file", sev: med, kw: secretKeyKeywords,
		re:   `(?i)"` + secretKey + `"\s*:\s*"([^"\s\\]{6,})"`,
		path: extIs(".json"), validate: configValue, entropy: 3, tags: []string{"config"}},
	{id: "xml-password", title: "Password in an XML configuration", sev: med, kw: []string{"password", "passwd"},
		re:   `(?i)<[\w.:-]*(?:password|passwd)>([^<\s]{4,})</[\w.:-]*(?:password|passwd)>|\b(?:password|passwd)="([^"\s]{4,})"`,
		path: extIs(".xml", ".config"), validate: configValue, entropy: 3, tags: []string{"config"}},

	// --- system accounts -------------------------------------------------------
	{id: "shadow-des-hash", title: "Weak DES-crypt password hash in shadow", sev: high,
		re: `(?m)^[^:\n]+:!?([a-zA-Z0-9./]{13}):`, path: isShadow, tags: []string{"password-hash", "linux"},
		rem: "Set the password again with a modern hash (yescrypt or SHA-512: `passwd`, ENCRYPT_METHOD in login.defs) or lock the account."},
	{id: "shadow-bsdi-hash", title: "Weak BSDi extended-DES password hash in shadow", sev: high,
		re: `(?m)^[^:\n]+:!?(_[a-zA-Z0-9./]{19}):`, path: isShadow, tags: []string{"password-hash", "linux"},
		rem: "Set the password again with a modern hash (yescrypt or SHA-512) or lock the account."},
	{id: "shadow-md5-hash", title: "Weak MD5-crypt password hash in shadow", sev: high,
		re: `(?m)^[^:\n]+:!?(\$(?:1|apr1|md5)\$[^:\n]+):`, path: isShadow, tags: []string{"password-hash", "linux"},
		rem: "Set the password again with a modern hash (yescrypt or SHA-512) or lock the account."},
	{id: "shadow-nt-hash", title: "Weak NT password hash in shadow", sev: high,
		re: `(?m)^[^:\n]+:!?(\$3\$\$[0-9a-f]{32}):`, path: isShadow, tags: []string{"password-hash", "linux"},
		rem: "Set the password again with a modern hash (yescrypt or SHA-512) or lock the account."},
	{id: "passwd-password-hash", title: "Password hash in /etc/passwd", sev: high,
		re: `(?m)^[^:\n]+:((?:\$[0-9a-z]+\$[^:\n]+)|[a-zA-Z0-9./]{13}):[0-9]*:`, path: isPasswd, tags: []string{"password-hash", "linux"},
		rem: "Move the hash to /etc/shadow (pwconv) or lock the account: /etc/passwd is world-readable."},
}

var (
	builtinOnce  sync.Once
	builtinRules []*Rule
)

// BuiltinRules returns fresh copies of the built-in rules (their compiled
// regular expressions are shared, which is safe).
func BuiltinRules() []*Rule {
	builtinOnce.Do(func() {
		for _, s := range builtinSpecs {
			r := &Rule{
				ID: s.id, Title: s.title, Severity: s.sev, Keywords: s.kw, SecretGroup: s.group,
				Entropy: s.entropy, PathFunc: s.path, MultiLine: s.multi, Binary: s.binary,
				ReportWeak: s.weak, Validate: s.validate, Tags: s.tags, Remediation: s.rem, Source: "builtin",
			}
			if s.re != "" {
				r.Regex = regexp.MustCompile(s.re)
			}
			builtinRules = append(builtinRules, r)
		}
	})
	out := make([]*Rule, len(builtinRules))
	for i, r := range builtinRules {
		cp := *r
		out[i] = &cp
	}
	return out
}

// Validators.

// basicAuthB64: a Docker "auth" value is base64("user:password").
func basicAuthB64(secret, _ []byte) bool {
	dec, err := base64.StdEncoding.DecodeString(string(secret))
	if err != nil {
		return false
	}
	user, pass, ok := bytes.Cut(dec, []byte{':'})
	return ok && len(user) > 0 && len(pass) > 0
}

// pemLike: a key body holds a good run of base64 (not a template).
func pemLike(secret, _ []byte) bool {
	n := 0
	for _, c := range secret {
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' {
			n++
		}
	}
	return n >= 40 && shannon(secret) > 3.5
}

// jwtLike: the header decodes to a JSON object with an "alg".
func jwtLike(secret, _ []byte) bool {
	head, _, _ := bytes.Cut(secret, []byte{'.'})
	dec, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(string(head), "="))
	if err != nil {
		return false
	}
	var h map[string]any
	if json.Unmarshal(dec, &h) != nil {
		return false
	}
	_, ok := h["alg"]
	return ok
}

// notURLTemplate drops URLs in documentation ("https://user:pass@host").
func notURLTemplate(secret, match []byte) bool {
	low := strings.ToLower(string(match))
	host := low[strings.LastIndexByte(low, '@')+1:]
	if i := strings.IndexAny(host, ":/?#"); i >= 0 {
		host = host[:i]
	}
	switch host {
	case "localhost", "host", "hostname", "server", "domain", "example.com", "example.org", "example.net":
		return false
	}
	if strings.HasPrefix(host, "your") || strings.HasPrefix(host, "example.") || strings.Contains(host, ".example.") ||
		strings.HasSuffix(host, ".example") || strings.HasSuffix(host, ".invalid") {
		return false
	}
	return !weakWords[strings.ToLower(string(secret))]
}

// configKeyNoise are key-name endings that name a setting about a secret,
// not the secret itself ("PASSWORD_MIN_LENGTH", "TOKEN_URL").
var configKeyNoise = strings.Fields(`url uri endpoint host port user username login file path dir length len ttl
	expiry expires expiration expire timeout enabled enable type name id mode algorithm alg header prefix suffix size
	count max min policy format method command cmd provider store location version lifetime duration interval days
	hours seconds required hint field param regex pattern char chars reset validity`)

func noiseKey(key []byte) bool {
	k := strings.ToLower(strings.TrimRight(string(key), `"' `))
	for _, n := range configKeyNoise {
		if strings.HasSuffix(k, n) {
			return true
		}
	}
	return false
}

var envVarName = regexp.MustCompile(`^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$`)

// configValue filters generic key = value matches: the key must name the
// secret itself and the value must not be a boolean, a small number, a
// reference or a path.
func configValue(secret, match []byte) bool {
	key := match
	if i := bytes.IndexAny(match, "=:"); i >= 0 {
		key = bytes.TrimSpace(match[:i])
	}
	key = bytes.TrimLeft(key, "\"'< \t")
	if noiseKey(key) {
		return false
	}
	s := string(secret)
	low := strings.ToLower(s)
	switch low {
	case "true", "false", "yes", "no", "on", "off", "none", "null", "nil", "undefined", "empty", "required", "optional", "default", "disabled", "enabled":
		return false
	}
	if len(s) < 6 && isDigits(s) {
		return false
	}
	if strings.HasPrefix(s, "/") || strings.HasPrefix(s, "./") || strings.HasPrefix(s, "~/") || strings.HasPrefix(low, "http://") || strings.HasPrefix(low, "https://") || strings.HasPrefix(low, "file:") {
		return false
	}
	if strings.HasPrefix(s, "$") || strings.HasPrefix(s, "%") || strings.HasPrefix(s, "!") || strings.HasPrefix(s, "&") || strings.HasPrefix(s, "*") {
		return false
	}
	if envVarName.MatchString(s) { // SONATYPE_PASSWORD: the name of where the secret is
		return false
	}
	if strings.HasPrefix(low, "env:") || strings.HasPrefix(low, "secret:") || strings.HasPrefix(low, "vault:") || strings.HasPrefix(low, "ref+") || strings.HasPrefix(low, "arn:") {
		return false
	}
	return true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
