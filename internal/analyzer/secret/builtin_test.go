package secret

import (
	"context"
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/picket-cdr/picket/internal/analyzer/analyzertest"
	"github.com/picket-cdr/picket/internal/finding"
)

// Examples are written as templates so that no credential-looking literal
// lives in the repository: {{class:N}} expands to N pseudo-random characters
// of the class (deterministic per rule and example), {{uuid}} to a random
// UUID, {{pem:N}} to N lines of base64, {{hexlines:N}} to N lines of hex,
// {{auth}} to base64("ci-bot:<random>").
var charClasses = map[string]string{
	"an":    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
	"A":     "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567",
	"U":     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
	"h":     "0123456789abcdef",
	"H":     "0123456789ABCDEF",
	"l":     "abcdefghijklmnopqrstuvwxyz0123456789",
	"l32":   "abcdefghijklmnopqrstuvwxyz234567",
	"a":     "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
	"d":     "0123456789",
	"b64":   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
	"url":   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-",
	"bech":  "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L",
	"crypt": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789./",
}

var tmplRe = regexp.MustCompile(`\{\{([a-z0-9A-Z]+)(?::(\d+))?\}\}`)

// expand fills a template; seed makes it deterministic.
func expand(t testing.TB, tmpl, seed string) string {
	t.Helper()
	h := fnv.New64a()
	h.Write([]byte(seed))
	rng := rand.New(rand.NewPCG(h.Sum64(), 42))
	pick := func(class string, n int) string {
		cs := charClasses[class]
		var b strings.Builder
		for range n {
			c := cs[rng.IntN(len(cs))]
			// never start or end a value with a separator
			for (b.Len() == 0 || b.Len() == n-1) && (c == '-' || c == '_' || c == '/' || c == '+' || c == '.') {
				c = cs[rng.IntN(len(cs))]
			}
			b.WriteByte(c)
		}
		return b.String()
	}
	return tmplRe.ReplaceAllStringFunc(tmpl, func(m string) string {
		sm := tmplRe.FindStringSubmatch(m)
		n, _ := strconv.Atoi(sm[2])
		switch sm[1] {
		case "uuid":
			return pick("h", 8) + "-" + pick("h", 4) + "-" + pick("h", 4) + "-" + pick("h", 4) + "-" + pick("h", 12)
		case "pem":
			lines := make([]string, n)
			for i := range lines {
				lines[i] = pick("b64", 64)
			}
			return strings.Join(lines, "\n")
		case "hexlines":
			lines := make([]string, n)
			for i := range lines {
				lines[i] = pick("h", 32)
			}
			return strings.Join(lines, "\n")
		case "auth":
			return base64.StdEncoding.EncodeToString([]byte("ci-bot:" + pick("an", 20)))
		}
		if _, ok := charClasses[sm[1]]; !ok {
			t.Fatalf("template %q: unknown class %q", tmpl, sm[1])
		}
		return pick(sm[1], n)
	})
}

// ex is an example file: path (default /app/settings.txt) and content.
type ex struct{ path, text string }

func (e ex) p() string {
	if e.path == "" {
		return "/app/settings.txt"
	}
	return e.path
}

type cases struct{ pos, neg []ex }

func plain(pos, neg string) cases { return cases{pos: []ex{{"", pos}}, neg: []ex{{"", neg}}} }
func at(path, pos, neg string) cases {
	return cases{pos: []ex{{path, pos}}, neg: []ex{{path, neg}}}
}

const jwtHead = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9" // {"alg":"HS256","typ":"JWT"}

var pemKey = func(kind string) cases {
	return cases{
		pos: []ex{
			{"/root/.ssh/id_key", "-----BEGIN " + kind + "-----\n{{pem:12}}\n-----END " + kind + "-----\n"},
			{"/app/sa.json", `{"private_key": "-----BEGIN ` + kind + `-----\n{{an:64}}\n{{b64:64}}\n-----END ` + kind + `-----\n"}`},
		},
		neg: []ex{
			{"/app/pem.py", `HEADER = "-----BEGIN ` + kind + `-----\n" + body + "\n-----END ` + kind + `-----"`},
			{"/app/doc.txt", "-----BEGIN " + kind + "-----\n...\n-----END " + kind + "-----"},
		},
	}
}

// ruleCases: at least one positive and one negative example per built-in rule.
var ruleCases = map[string]cases{
	"aws-access-key-id": {pos: []ex{{"", "aws_access_key_id = AKIA{{A:16}}"}},
		neg: []ex{{"", "id = AKIA{{A:12}}"}, {"", "aws_access_key_id = AKIAIOSFODNN7EXAMPLE"}}},
	"aws-secret-access-key": {pos: []ex{{"", "aws_secret_access_key = {{b64:40}}"}, {"/app/env.yaml", `AWS_SECRET_ACCESS_KEY: "{{b64:40}}"`}},
		neg: []ex{{"", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}, {"", "aws_secret_access_key = ${AWS_SECRET}"}}},
	"aws-session-token":          plain("aws_session_token = {{b64:160}}", "aws_session_token = {{b64:40}}"),
	"aws-mws-key":                plain("mws = amzn.mws.{{h:8}}-{{h:4}}-{{h:4}}-{{h:4}}-{{h:12}}", "mws = amzn.mws.1234"),
	"aws-bedrock-api-key":        plain("BEDROCK=ABSK{{b64:120}}", "BEDROCK=ABSK{{b64:20}}"),
	"gcp-api-key":                plain("key: AIza{{url:35}}", "key: AIza{{url:20}}"),
	"gcp-service-account-key":    plain(`{"type": "service_account", "private_key_id": "{{h:40}}"}`, `{"private_key_id": "{{h:12}}"}`),
	"google-oauth-client-secret": plain("client_secret: GOCSPX-{{url:28}}", "client_secret: GOCSPX-{{url:10}} "),
	"google-oauth-access-token":  plain("Authorization: Bearer ya29.{{url:60}}", "ya29.short"),
	"google-oauth-refresh-token": plain("refresh_token: 1//0{{url:60}}", "x = 1//0 + 5"),
	"azure-storage-account-key": plain("DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={{b64:86}}==;EndpointSuffix=core.windows.net",
		"AccountKey=your-key"),
	"azure-shared-access-key": plain("Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey={{b64:43}}=",
		"SharedAccessKey=<key>"),
	"azure-sas-token": plain("https://acct.blob.core.windows.net/c?sv=2022-11-02&ss=b&srt=co&sp=rl&se=2030-01-01&sig={{an:43}}%3D",
		"?sv=2022-11-02&sig=abc"),
	"azure-ad-client-secret":     plain(`client_secret = "{{an:3}}8Q~{{an:34}}"`, `client_secret = "abc8Q~short"`),
	"azure-devops-pat":           plain("AZURE_DEVOPS_PAT={{l32:52}}", "AZURE_DEVOPS_PAT=${PAT}"),
	"alibaba-access-key-id":      plain("ALIBABA_KEY=LTAI{{an:20}}", "ALIBABA_KEY=LTAI{{an:8}}"),
	"tencentcloud-secret-id":     plain("secret_id: AKID{{an:32}}", "secret_id: AKID{{an:10}}"),
	"yandex-api-key":             plain("key: AQVN{{url:36}}", "key: AQVN{{url:10}}"),
	"digitalocean-pat":           plain("DO_TOKEN=dop_v1_{{h:64}}", "DO_TOKEN=dop_v1_{{h:10}}"),
	"digitalocean-oauth-token":   plain("t=doo_v1_{{h:64}}", "t=doo_v1_{{h:10}}"),
	"digitalocean-refresh-token": plain("t=dor_v1_{{h:64}}", "t=dor_v1_{{h:10}}"),
	"heroku-api-key":             plain("HEROKU_API_KEY={{uuid}}", "HEROKU_APP=my-app"),
	"heroku-api-key-v2":          plain("key HRKU-AA{{url:58}}", "key HRKU-AA{{url:10}}"),
	"cloudflare-origin-ca-key":   plain("v1.0-{{h:24}}-{{h:146}}", "v1.0-{{h:24}}"),
	"cloudflare-api-token":       plain("CLOUDFLARE_API_TOKEN={{url:40}}", "CLOUDFLARE_API_TOKEN=${CF_TOKEN}"),
	"ibm-cloud-api-key":          plain("IBM_CLOUD_API_KEY={{url:44}}", "IBM_CLOUD_API_KEY="),

	"github-pat":                       plain("token: ghp_{{an:36}}", "token: ghp_{{an:20}}"),
	"github-oauth-token":               plain("token: gho_{{an:36}}", "token: gho_{{an:20}}"),
	"github-user-to-server-token":      plain("token: ghu_{{an:36}}", "token: ghu_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
	"github-server-to-server-token":    plain("token: ghs_{{an:36}}", "token: ghs_{{an:20}}"),
	"github-refresh-token":             plain("token: ghr_{{an:76}}", "token: ghr_{{an:20}}"),
	"github-fine-grained-pat":          plain("GH_TOKEN=github_pat_{{an:22}}_{{an:59}}", "GH_TOKEN=github_pat_{{an:22}}"),
	"gitlab-pat":                       plain("GITLAB_TOKEN=glpat-{{url:20}}", "GITLAB_TOKEN=glpat-xxxxxxxxxxxxxxxxxxxx"),
	"gitlab-pipeline-trigger-token":    plain("token=glptt-{{h:40}}", "token=glptt-{{h:10}}"),
	"gitlab-runner-registration-token": plain("registration-token: GR1348941{{url:20}}", "registration-token: GR1348941{{url:5}}"),
	"gitlab-runner-auth-token":         plain("token = glrt-{{url:20}}", "token = glrt-{{url:5}}"),
	"gitlab-deploy-token":              plain("token = gldt-{{url:20}}", "token = gldt-{{url:5}}"),
	"gitlab-feed-token":                plain("token = glft-{{url:20}}", "token = glft-{{url:5}}"),
	"gitlab-oauth-app-secret":          plain("secret = gloas-{{url:64}}", "secret = gloas-{{url:5}}"),
	"gitlab-scim-token":                plain("token = glsoat-{{url:20}}", "token = glsoat-{{url:5}}"),
	"gitlab-incoming-mail-token":       plain("token = glimt-{{url:25}}", "token = glimt-{{url:5}}"),
	"gitlab-agent-token":               plain("token = glagent-{{url:50}}", "token = glagent-{{url:5}}"),
	"gitlab-ci-job-token":              plain("CI_JOB_TOKEN=glcbt-{{an:2}}_{{url:20}}", "CI_JOB_TOKEN=glcbt-{{an:2}}_{{url:4}}"),
	"atlassian-api-token":              plain("JIRA_TOKEN=ATATT3{{url:186}}", "JIRA_TOKEN=ATATT3{{url:20}}"),
	"circleci-pat":                     plain("CIRCLE_TOKEN=CCIPAT_{{an:22}}_{{h:40}}", "CIRCLE_TOKEN=CCIPAT_{{an:22}}"),
	"buildkite-api-token":              plain("BUILDKITE_TOKEN=bkua_{{h:40}}", "BUILDKITE_TOKEN=bkua_{{h:10}}"),
	"npm-access-token":                 plain("NPM_TOKEN=npm_{{an:36}}", "NPM_TOKEN=npm_{{an:10}}"),
	"npmrc-auth-token": at("/root/.npmrc", "//registry.npmjs.org/:_authToken={{url:36}}",
		"//registry.npmjs.org/:_authToken=${NPM_TOKEN}"),
	"npmrc-auth":        at("/root/.npmrc", "_auth={{b64:32}}", "_auth=${NPM_AUTH}"),
	"yarnrc-auth-token": at("/app/.yarnrc.yml", `npmAuthToken: "{{url:36}}"`, `npmAuthToken: "${NPM_TOKEN}"`),
	"pypi-upload-token": plain("password = pypi-AgEIcHlwaS5vcmc{{url:70}}", "password = pypi-AgEIcHlwaS5vcmc"),
	"pypirc-password": {pos: []ex{{"/root/.pypirc", "[pypi]\nusername = __token__\npassword = {{url:20}}\n"}, {"/root/.pypirc", "[local]\npassword = changeme\n"}},
		neg: []ex{{"/root/.pypirc", "[pypi]\npassword = ${PYPI_PASSWORD}\n# password = secret\n"}}},
	"rubygems-api-token":    plain("key: rubygems_{{h:48}}", "key: rubygems_{{h:10}}"),
	"gem-credentials":       at("/root/.gem/credentials", "---\n:rubygems_api_key: {{h:32}}\n", "---\n:rubygems_api_key: short\n"),
	"nuget-api-key":         plain("NUGET_KEY=oy2{{l:43}}", "NUGET_KEY=oy2short"),
	"nuget-config-password": at("/app/NuGet.Config", `<add key="ClearTextPassword" value="{{an:16}}" />`, `<add key="Username" value="bob" />`),
	"dockerhub-pat":         plain("DOCKER_TOKEN=dckr_pat_{{url:27}}", "DOCKER_TOKEN=dckr_pat_{{url:5}}"),
	"dockerhub-oat":         plain("DOCKER_TOKEN=dckr_oat_{{url:32}}", "DOCKER_TOKEN=dckr_oat_{{url:5}}"),
	"docker-config-auth": at("/root/.docker/config.json", `{"auths":{"registry.internal.net":{"auth":"{{auth}}"}}}`,
		`{"auths":{"registry.internal.net":{"auth":"bm90YXZhbGlk"}}}`),
	"docker-config-identity-token": at("/root/.docker/config.json", `{"auths":{"r.internal.net":{"identitytoken":"{{url:40}}"}}}`,
		`{"auths":{"r.internal.net":{"identitytoken":""}}}`),
	"terraform-cloud-token":         plain("token = {{an:14}}.atlasv1.{{url:65}}", "token = abc.atlasv1.short"),
	"vault-service-token":           plain("VAULT_TOKEN=hvs.{{url:95}}", "VAULT_TOKEN=hvs.{{url:20}}"),
	"vault-batch-token":             plain("VAULT_TOKEN=hvb.{{url:150}}", "VAULT_TOKEN=hvb.{{url:20}}"),
	"pulumi-access-token":           plain("PULUMI_ACCESS_TOKEN=pul-{{h:40}}", "PULUMI_ACCESS_TOKEN=pul-{{h:10}}"),
	"jfrog-api-key":                 plain("key: AKCp{{an:69}}", "key: AKCp{{an:10}}"),
	"jfrog-reference-token":         plain("token: cmVmdGtu{{an:56}}", "token: cmVmdGtu{{an:10}}"),
	"sonarqube-token":               plain("SONAR_TOKEN=squ_{{h:40}}", "SONAR_TOKEN=squ_{{h:10}}"),
	"doppler-api-token":             plain("DOPPLER_TOKEN=dp.pt.{{an:43}}", "DOPPLER_TOKEN=dp.pt.{{an:10}}"),
	"postman-api-token":             plain("POSTMAN_KEY=PMAK-{{h:24}}-{{h:34}}", "POSTMAN_KEY=PMAK-{{h:24}}"),
	"clojars-api-token":             plain("CLOJARS_{{l:60}}", "CLOJARS_{{l:10}}"),
	"infracost-api-token":           plain("INFRACOST_API_KEY=ico-{{an:32}}", "INFRACOST_API_KEY=ico-{{an:10}}"),
	"scalingo-api-token":            plain("SCALINGO_TOKEN=tk-us-{{url:48}}", "SCALINGO_TOKEN=tk-us-{{url:10}}"),
	"render-api-key":                plain("RENDER_KEY=rnd_{{an:32}}", "RENDER_KEY=rnd_{{an:10}}"),
	"flyio-access-token":            plain("FLY_TOKEN=fo1_{{url:43}}", "FLY_TOKEN=fo1_{{url:10}}"),
	"flyio-macaroon":                plain("FLY_API_TOKEN=FlyV1 fm2_{{b64:120}}", "FLY_API_TOKEN=FlyV1 fm2_{{b64:10}}"),
	"tailscale-key":                 plain("TS_AUTHKEY=tskey-auth-{{an:12}}-{{an:30}}", "TS_AUTHKEY=tskey-auth-{{an:4}}"),
	"defined-networking-api-token":  plain("DN_KEY=dnkey-{{l:26}}-{{l:52}}", "DN_KEY=dnkey-{{l:10}}"),
	"ngrok-authtoken":               at("/root/.config/ngrok/ngrok.yml", "version: 2\nauthtoken: {{an:40}}\n", "version: 2\nauthtoken: ${NGROK_AUTHTOKEN}\n"),
	"sentry-org-token":              plain("SENTRY_AUTH_TOKEN=sntrys_eyJ{{b64:100}}", "SENTRY_AUTH_TOKEN=sntrys_eyJ{{b64:10}}"),
	"sentry-user-token":             plain("SENTRY_AUTH_TOKEN=sntryu_{{h:64}}", "SENTRY_AUTH_TOKEN=sntryu_{{h:10}}"),
	"grafana-cloud-api-token":       plain("GRAFANA_TOKEN=glc_{{b64:40}}", "GRAFANA_TOKEN=glc_{{b64:10}}"),
	"grafana-service-account-token": plain("GRAFANA_TOKEN=glsa_{{an:32}}_{{h:8}}", "GRAFANA_TOKEN=glsa_{{an:32}}"),
	"grafana-api-key":               plain("GRAFANA_KEY=eyJrIjoi{{an:80}}", "GRAFANA_KEY=eyJrIjoi{{an:10}}"),
	"newrelic-user-api-key":         plain("NEW_RELIC_API_KEY=NRAK-{{U:27}}", "NEW_RELIC_API_KEY=NRAK-{{U:10}}"),
	"newrelic-insert-key":           plain("NEW_RELIC_INSERT_KEY=NRII-{{url:32}}", "NEW_RELIC_INSERT_KEY=NRII-{{url:10}}"),
	"newrelic-browser-key":          plain("NEW_RELIC_BROWSER_KEY=NRJS-{{h:19}}", "NEW_RELIC_BROWSER_KEY=NRJS-{{h:10}}"),
	"datadog-api-key":               plain("DD_API_KEY={{h:32}}", "DD_API_KEY=${DD_API_KEY}"),
	"dynatrace-api-token":           plain("DT_TOKEN=dt0c01.{{U:24}}.{{U:64}}", "DT_TOKEN=dt0c01.{{U:24}}"),
	"databricks-api-token":          plain("DATABRICKS_TOKEN=dapi{{h:32}}", "DATABRICKS_TOKEN=dapi{{h:10}}"),
	"planetscale-password":          plain("PS_PASSWORD=pscale_pw_{{url:43}}", "PS_PASSWORD=pscale_pw_{{url:10}}"),
	"planetscale-api-token":         plain("PS_TOKEN=pscale_tkn_{{url:43}}", "PS_TOKEN=pscale_tkn_{{url:10}}"),
	"planetscale-oauth-token":       plain("PS_TOKEN=pscale_oauth_{{url:43}}", "PS_TOKEN=pscale_oauth_{{url:10}}"),
	"supabase-access-token":         plain("SUPABASE_ACCESS_TOKEN=sbp_{{h:40}}", "SUPABASE_ACCESS_TOKEN=sbp_{{h:10}}"),
	"supabase-secret-key":           plain("SUPABASE_KEY=sb_secret_{{url:40}}", "SUPABASE_KEY=sb_secret_{{url:10}}"),
	"prefect-api-token":             plain("PREFECT_API_KEY=pnu_{{an:36}}", "PREFECT_API_KEY=pnu_{{an:10}}"),
	"readme-api-token":              plain("README_API_KEY=rdme_{{l:70}}", "README_API_KEY=rdme_{{l:10}}"),
	"linear-api-key":                plain("LINEAR_API_KEY=lin_api_{{an:40}}", "LINEAR_API_KEY=lin_api_{{an:10}}"),
	"notion-api-token":              plain("NOTION_TOKEN=ntn_{{d:11}}{{an:35}}", "NOTION_TOKEN=ntn_{{d:11}}"),
	"huggingface-access-token":      plain("HF_TOKEN=hf_{{a:34}}", "HF_TOKEN=hf_{{a:10}}"),
	"huggingface-org-token":         plain("HF_TOKEN=api_org_{{a:34}}", "HF_TOKEN=api_org_{{a:10}}"),
	"openai-api-key":                plain("OPENAI_API_KEY=sk-proj-{{url:40}}T3BlbkFJ{{url:40}}", "OPENAI_API_KEY=sk-proj-{{url:10}}"),
	"anthropic-api-key":             plain("ANTHROPIC_API_KEY=sk-ant-api03-{{url:93}}AA", "ANTHROPIC_API_KEY=sk-ant-api03-{{url:10}}"),
	"anthropic-admin-key":           plain("ANTHROPIC_ADMIN_KEY=sk-ant-admin01-{{url:93}}AA", "ANTHROPIC_ADMIN_KEY=sk-ant-admin01-{{url:10}}"),
	"perplexity-api-key":            plain("PPLX_KEY=pplx-{{an:48}}", "PPLX_KEY=pplx-{{an:10}}"),
	"groq-api-key":                  plain("GROQ_API_KEY=gsk_{{an:52}}", "GROQ_API_KEY=gsk_{{an:10}}"),
	"replicate-api-token":           plain("REPLICATE_API_TOKEN=r8_{{an:37}}", "REPLICATE_API_TOKEN=r8_{{an:10}}"),
	"langsmith-api-key":             plain("LANGSMITH_API_KEY=lsv2_pt_{{h:32}}_{{h:10}}", "LANGSMITH_API_KEY=lsv2_pt_{{h:32}}"),

	"slack-bot-token":            plain("SLACK_BOT_TOKEN=xoxb-{{d:12}}-{{d:12}}-{{an:24}}", "SLACK_BOT_TOKEN=xoxb-123"),
	"slack-user-token":           plain("SLACK_TOKEN=xoxp-{{d:12}}-{{d:12}}-{{d:12}}-{{an:32}}", "SLACK_TOKEN=xoxp-123-456"),
	"slack-app-token":            plain("SLACK_APP_TOKEN=xapp-1-A{{U:10}}-{{d:13}}-{{h:64}}", "SLACK_APP_TOKEN=xapp-1"),
	"slack-config-access-token":  plain("t=xoxe.xoxp-1-{{U:164}}", "t=xoxe.xoxp-1-{{U:20}}"),
	"slack-config-refresh-token": plain("t=xoxe-1-{{U:146}}", "t=xoxe-1-{{U:20}}"),
	"slack-legacy-token":         plain("t=xoxs-{{d:10}}-{{d:10}}-{{d:10}}-{{h:40}}", "t=xoxs-abc"),
	"slack-webhook-url":          plain("hook: https://hooks.slack.com/services/T{{U:8}}/B{{U:8}}/{{an:24}}", "hook: https://hooks.slack.com/services/T000/B000/XXXX"),
	"discord-webhook-url":        plain("https://discord.com/api/webhooks/{{d:18}}/{{url:68}}", "https://discord.com/api/webhooks/{{d:18}}/short"),
	"telegram-bot-token":         plain("TELEGRAM_TOKEN={{d:10}}:AA{{url:33}}", "TELEGRAM_TOKEN=123:AAshort"),
	"teams-webhook-url": plain("https://org.webhook.office.com/webhookb2/{{uuid}}@{{uuid}}/IncomingWebhook/{{h:32}}/{{uuid}}",
		"https://org.webhook.office.com/webhookb2/"),
	"twilio-api-key":            plain("TWILIO_API_KEY=SK{{h:32}}", "TWILIO_API_KEY=SK{{h:10}}"),
	"sendgrid-api-token":        plain("SENDGRID_API_KEY=SG.{{url:22}}.{{url:43}}", "msg.send(SG.short)"),
	"mailgun-api-key":           plain("MAILGUN_API_KEY=key-{{h:32}}", "MAILGUN_API_KEY=key-{{h:10}}"),
	"mailchimp-api-key":         plain("MAILCHIMP_KEY={{h:32}}-us14", "lang: en-us"),
	"stripe-live-secret-key":    plain("STRIPE_KEY=sk_live_{{an:32}}", "STRIPE_KEY=sk_live_{{an:8}}"),
	"stripe-test-secret-key":    plain("STRIPE_KEY=sk_test_{{an:32}}", "STRIPE_KEY=sk_test_{{an:8}}"),
	"stripe-webhook-secret":     plain("STRIPE_WEBHOOK_SECRET=whsec_{{an:32}}", "STRIPE_WEBHOOK_SECRET=whsec_{{an:8}}"),
	"square-access-token":       plain("SQUARE_TOKEN=EAAA{{url:60}}", "SQUARE_TOKEN=EAAA{{url:10}}"),
	"square-oauth-secret":       plain("SQUARE_SECRET=sq0csp-{{url:43}}", "SQUARE_SECRET=sq0csp-{{url:10}}"),
	"square-legacy-token":       plain("SQUARE_TOKEN=sq0atp-{{url:22}}", "SQUARE_TOKEN=sq0atp-{{url:10}}"),
	"braintree-access-token":    plain("BT_TOKEN=access_token$production${{l:16}}${{h:32}}", "BT_TOKEN=access_token$production$abc"),
	"flutterwave-secret-key":    plain("FLW_SECRET=FLWSECK_TEST-{{h:32}}-X", "FLW_SECRET=FLWSECK_TEST-{{h:10}}-X"),
	"plaid-access-token":        plain("PLAID_TOKEN=access-sandbox-{{uuid}}", "PLAID_TOKEN=access-sandbox-1234"),
	"shopify-access-token":      plain("SHOPIFY_TOKEN=shpat_{{h:32}}", "SHOPIFY_TOKEN=shpat_{{h:10}}"),
	"shopify-custom-app-token":  plain("SHOPIFY_TOKEN=shpca_{{h:32}}", "SHOPIFY_TOKEN=shpca_{{h:10}}"),
	"shopify-private-app-token": plain("SHOPIFY_TOKEN=shppa_{{h:32}}", "SHOPIFY_TOKEN=shppa_{{h:10}}"),
	"shopify-shared-secret":     plain("SHOPIFY_SECRET=shpss_{{h:32}}", "SHOPIFY_SECRET=shpss_{{h:10}}"),
	"facebook-access-token":     plain("FB_TOKEN=EAAG{{an:120}}", "FB_TOKEN=EAAG{{an:20}}"),
	"twitter-bearer-token":      plain("TWITTER_BEARER="+strings.Repeat("A", 22)+"{{an:90}}", "padding: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
	"mapbox-secret-token":       plain("MAPBOX_TOKEN=sk.eyJ1Ijoi{{url:30}}.{{url:30}}", "MAPBOX_TOKEN=sk.eyJ1Ijoi"),
	"easypost-api-token":        plain("EASYPOST_KEY=EZAK{{an:54}}", "EASYPOST_KEY=EZAK{{an:10}}"),
	"typeform-api-token":        plain("TYPEFORM_TOKEN=tfp_{{url:59}}", "TYPEFORM_TOKEN=tfp_{{url:10}}"),
	"duffel-api-token":          plain("DUFFEL_TOKEN=duffel_test_{{url:43}}", "DUFFEL_TOKEN=duffel_test_{{url:10}}"),
	"frameio-api-token":         plain("FRAMEIO_TOKEN=fio-u-{{url:64}}", "FRAMEIO_TOKEN=fio-u-{{url:10}}"),
	"settlemint-token":          plain("SM_TOKEN=sm_pat_{{an:16}}", "SM_TOKEN=sm_pat_{{an:6}}"),
	"sidekiq-enterprise-credentials": plain("BUNDLE_ENTERPRISE__CONTRIBSYS__COM={{h:8}}:{{h:8}}",
		"BUNDLE_ENTERPRISE__CONTRIBSYS__COM=${SIDEKIQ_CREDS}"),

	"age-secret-key":                  plain("AGE-SECRET-KEY-1{{bech:58}}", "AGE-SECRET-KEY-1{{bech:20}}"),
	"1password-secret-key":            plain("key: A3-{{U:6}}-{{U:11}}-{{U:5}}-{{U:5}}-{{U:5}}", "key: A3-ABCDEF-GHIJKLMNOPQ-RSTUV-WXYZ0-12345x"),
	"1password-service-account-token": plain("OP_SERVICE_ACCOUNT_TOKEN=ops_eyJ{{b64:260}}", "OP_SERVICE_ACCOUNT_TOKEN=ops_eyJ{{b64:20}}"),
	"private-key-rsa":                 pemKey("RSA PRIVATE KEY"),
	"private-key-ec":                  pemKey("EC PRIVATE KEY"),
	"private-key-dsa":                 pemKey("DSA PRIVATE KEY"),
	"private-key-openssh":             pemKey("OPENSSH PRIVATE KEY"),
	"private-key-pkcs8":               pemKey("PRIVATE KEY"),
	"private-key-pkcs8-encrypted":     pemKey("ENCRYPTED PRIVATE KEY"),
	"private-key-pgp": {pos: []ex{{"/root/key.asc", "-----BEGIN PGP PRIVATE KEY BLOCK-----\nComment: backup\n\n{{pem:12}}\n={{b64:4}}\n-----END PGP PRIVATE KEY BLOCK-----\n"}},
		neg: []ex{{"/root/key.asc", "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n{{pem:12}}\n-----END PGP PUBLIC KEY BLOCK-----\n"}}},
	"private-key-putty": at("/root/id.ppk",
		"PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: ed25519-key\nPublic-Lines: 2\n{{b64:64}}\n{{b64:20}}\nPrivate-Lines: 1\n{{b64:44}}\nPrivate-MAC: {{h:64}}\n",
		"PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: empty\nPublic-Lines: 0\nPrivate-Lines: 0\nPrivate-MAC: 00\n"),
	"private-key-ssh2": at("/root/id.ssh2",
		"---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\nComment: \"rsa-key\"\n{{pem:8}}\n---- END SSH2 ENCRYPTED PRIVATE KEY ----\n",
		"---- BEGIN SSH2 PUBLIC KEY ----\n{{pem:4}}\n---- END SSH2 PUBLIC KEY ----\n"),
	"openvpn-static-key": at("/etc/openvpn/ta.key",
		"#\n# 2048 bit OpenVPN static key\n#\n-----BEGIN OpenVPN Static key V1-----\n{{hexlines:16}}\n-----END OpenVPN Static key V1-----\n",
		"-----BEGIN OpenVPN Static key V1-----\n-----END OpenVPN Static key V1-----\n"),
	"wireguard-private-key": at("/etc/wireguard/wg0.conf", "[Interface]\nPrivateKey = {{b64:42}}A=\nListenPort = 51820\n", "[Interface]\nPrivateKey = <private key>\n"),
	"pkcs12-file":           {pos: []ex{{"/app/certs/client.p12", "0\x82\x0a\x01\x02\x03"}}, neg: []ex{{"/app/certs/client.crt", "-----BEGIN CERTIFICATE-----\n"}}},
	"jwt": plain("Authorization: Bearer "+jwtHead+".eyJ{{url:40}}.{{url:43}}",
		"token: eyJ{{url:20}}.eyJ{{url:20}}.{{url:43}}"),
	"kubernetes-service-account-token": at("/var/run/secrets/kubernetes.io/serviceaccount/token", jwtHead+".eyJ{{url:200}}.{{url:342}}", "not a token"),
	"kubeconfig-token": at("/root/.kube/config", "users:\n- name: admin\n  user:\n    token: {{url:40}}\n",
		"users:\n- name: admin\n  user:\n    token: ${TOKEN}\n"),
	"kubeconfig-client-key-data": plain("    client-key-data: {{b64:120}}", "    client-key-data: REDACTED"),
	"kubeconfig-password": at("/root/.kube/config", "users:\n- name: admin\n  user:\n    username: admin\n    password: {{an:16}}\n",
		"users:\n- name: admin\n  user:\n    password: ${PASS}\n"),

	"postgres-url-password": {pos: []ex{{"", "DATABASE_URL=postgres://app:{{an:16}}@db.internal:5432/app"}, {"", "url = postgresql+psycopg2://app:{{an:16}}@db/app"}},
		neg: []ex{{"", "DATABASE_URL=postgres://app@db.internal:5432/app"}, {"", "postgres://user:password@localhost/db"}}},
	"mysql-url-password":   plain("DSN=mysql://root:{{an:16}}@mysql:3306/app", "DSN=mysql://root@mysql:3306/app"),
	"mongodb-url-password": plain("MONGO_URL=mongodb+srv://admin:{{an:16}}@cluster0.abcde.mongodb.net/test", "MONGO_URL=mongodb://mongo:27017/test"),
	"redis-url-password":   plain("REDIS_URL=redis://:{{an:20}}@redis:6379/0", "REDIS_URL=redis://redis:6379/0"),
	"amqp-url-password":    plain("AMQP_URL=amqp://app:{{an:16}}@rabbit:5672/", "AMQP_URL=amqp://rabbit:5672/"),
	"ftp-url-password":     plain("UPLOAD=ftp://deploy:{{an:16}}@ftp.internal.net/upload", "UPLOAD=ftp://ftp.internal.net/upload"),
	"smtp-url-password":    plain("MAIL_URL=smtp://mailer:{{an:16}}@smtp.internal.net:587", "MAIL_URL=smtp://smtp.internal.net:587"),
	"url-basic-auth":       plain("remote = https://ci:{{an:20}}@git.internal.net/org/repo.git", "see https://user:pass@example.com/path"),
	"jdbc-password":        plain("url=jdbc:sqlserver://db:1433;databaseName=app;user=sa;password={{an:16}}", "url=jdbc:mysql://db:3306/app"),
	"ado-connection-string-password": plain("ConnectionString=Server=tcp:db.internal,1433;Database=app;User Id=sa;Password={{an:16}};",
		"ConnectionString=Server=db;Integrated Security=true;"),
	"postgres-conninfo-password": plain("conninfo = host=db port=5432 dbname=app user=app password={{an:16}} sslmode=require",
		"conninfo = host=db port=5432 dbname=app user=app"),
	"pgpass-password": at("/root/.pgpass", "db.internal:5432:app:app:{{an:16}}\n", "# hostname:port:database:username:password\n"),
	"mysql-config-password": {pos: []ex{{"/etc/mysql/my.cnf", "[client]\nuser = root\npassword = {{an:16}}\n"}, {"/root/.my.cnf", "[client]\npassword=\"{{an:16}}\"\n"}},
		neg: []ex{{"/etc/mysql/my.cnf", "[client]\n#password = secret\n"}}},
	"redis-requirepass": {pos: []ex{{"/etc/redis/redis.conf", "bind 127.0.0.1\nrequirepass changeme\n"}, {"/etc/redis/redis.conf", "requirepass \"{{an:24}}\"\n"}},
		neg: []ex{{"/etc/redis/redis.conf", "# requirepass foobared\n"}}},
	"redis-masterauth":   at("/etc/redis/redis.conf", "masterauth {{an:16}}\n", "# masterauth <master-password>\n"),
	"redis-acl-password": at("/etc/redis/users.acl", "user app on >{{an:16}} ~* +@all\n", "user default off nopass\n"),
	"mongod-config-password": at("/etc/mongod.conf", "security:\n  ldap:\n    bind:\n      queryPassword: {{an:16}}\n",
		"security:\n  ldap:\n    bind:\n#      queryPassword: secret\n"),
	"ldap-root-password":    plain("rootpw {SSHA}{{b64:32}}", "# rootpw secret"),
	"wordpress-db-password": at("/var/www/html/wp-config.php", "define( 'DB_PASSWORD', '{{an:16}}' );", "define( 'DB_PASSWORD', '' );"),
	"tomcat-users-password": at("/usr/local/tomcat/conf/tomcat-users.xml", `<user username="admin" password="{{an:12}}" roles="manager-gui"/>`,
		`<user username="admin" password="<must-be-changed>" roles="manager-gui"/>`),
	"maven-settings-password": at("/root/.m2/settings.xml", "<server><id>nexus</id><username>ci</username><password>{{an:16}}</password></server>",
		"<server><id>nexus</id><password>{COQLCE6DU6GtcS5P=}</password></server>"),

	"env-file-secret": {pos: []ex{{"/app/.env", "DB_PASSWORD={{an:16}}\n"}, {"/app/.env.production", "export STRIPE_API_KEY='{{an:24}}'\n"}},
		neg: []ex{{"/app/.env", "PASSWORD_MIN_LENGTH=12\nAPI_KEY=${API_KEY}\nAUTH_ENABLED=true\n"}}},
	"git-credentials":      at("/root/.git-credentials", "https://bob:{{an:20}}@github.com\n", "https://github.com\n"),
	"netrc-password":       at("/root/.netrc", "machine api.heroku.com\n  login me@internal.net\n  password {{an:20}}\n", "machine api.heroku.com login me\n"),
	"apt-auth-password":    at("/etc/apt/auth.conf", "machine repo.internal.net login ci password {{an:16}}\n", "machine repo.internal.net login ci\n"),
	"aws-credentials-file": at("/root/.aws/credentials", "[default]\naws_access_key_id = AKIA{{A:16}}\naws_secret_access_key = {{b64:40}}\n", "[default]\naws_secret_access_key =\n"),
	"s3cfg-secret":         at("/root/.s3cfg", "[default]\nsecret_key = {{b64:40}}\n", "[default]\nsecret_key =\n"),
	"debconf-password": at("/var/cache/debconf/passwords.dat", "Name: mysql-server/root_password\nTemplate: mysql-server/root_password\nValue: {{an:12}}\nOwners: mysql-server\n",
		"Name: mysql-server/root_password\nValue:\nOwners: mysql-server\n"),
	"htpasswd-hash":         at("/etc/nginx/.htpasswd", "admin:$apr1${{crypt:8}}${{crypt:22}}\n", "# admin:password\n"),
	"smbpasswd-hash":        at("/etc/samba/smbpasswd", "alice:1000:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:{{H:32}}:[U          ]:LCT-5F2A3B4C:\n", "alice:1000:NO PASSWORDXXXXXXXXXXXXXXXXXXXXX:NO PASSWORDXXXXXXXXXXXXXXXXXXXXX:[NU         ]:LCT-00000000:\n"),
	"wpa-supplicant-psk":    at("/etc/wpa_supplicant/wpa_supplicant.conf", "network={\n  ssid=\"home\"\n  psk=\"{{an:16}}\"\n}\n", "network={\n  psk=\"short\"\n}\n"),
	"django-secret-key":     at("/app/mysite/settings.py", "SECRET_KEY = 'django-insecure-{{url:50}}'\n", "SECRET_KEY = os.environ['SECRET_KEY']\n"),
	"rails-master-key":      at("/app/config/master.key", "{{h:32}}\n", "not a key\n"),
	"rails-secret-key-base": plain("secret_key_base: {{h:128}}", `secret_key_base: <%= ENV["SECRET_KEY_BASE"] %>`),
	"laravel-app-key":       plain("APP_KEY=base64:{{b64:43}}=", "APP_KEY="),
	"symfony-app-secret":    plain("APP_SECRET={{h:32}}", "APP_SECRET="),

	"config-password": {pos: []ex{{"/etc/app/app.conf", "db_password = {{an:16}}\n"}, {"/app/config.yaml", "database:\n  password: {{an:16}}\n"}, {"/app/config.yaml", "users:\n  - password: {{an:16}}\n"}},
		neg: []ex{{"/etc/app/app.conf", "password_min_length = 12\npassword = ${DB_PASSWORD}\n# password = {{an:16}}\ntoken_ttl = 3600\n"}}},
	"json-password": {pos: []ex{{"/app/config.json", `{"db": {"password": "{{an:16}}"}}`}},
		neg: []ex{{"/app/config.json", `{"password": "${DB_PASSWORD}", "passwordPolicy": "strong123", "tokenUrl": "https://auth.internal.net/token"}`}}},
	"xml-password": {pos: []ex{{"/app/web.config", "<connection><password>{{an:16}}</password></connection>"}},
		neg: []ex{{"/app/web.config", "<connection><password></password></connection>"}}},

	"shadow-des-hash":      at("/etc/shadow", "olduser:{{crypt:13}}:19000:0:99999:7:::\n", "root:*:19000:0:99999:7:::\nsys:!:19000::::::\n"),
	"shadow-bsdi-hash":     at("/etc/shadow", "olduser:_{{crypt:19}}:19000:0:99999:7:::\n", "root:*:19000:0:99999:7:::\n"),
	"shadow-md5-hash":      at("/etc/shadow", "root:$1${{crypt:8}}${{crypt:22}}:19000:0:99999:7:::\n", "root:$6${{crypt:16}}${{crypt:86}}:19000:0:99999:7:::\n"),
	"shadow-nt-hash":       at("/etc/shadow", "user:$3$${{h:32}}:19000::::::\n", "user:!:19000::::::\n"),
	"passwd-password-hash": at("/etc/passwd", "root:$1${{crypt:8}}${{crypt:22}}:0:0:root:/root:/bin/bash\n", "root:x:0:0:root:/root:/bin/bash\n"),
}

func TestBuiltinRuleCount(t *testing.T) {
	rules := BuiltinRules()
	if len(rules) < 100 {
		t.Fatalf("%d built-in rules, want at least 100", len(rules))
	}
	t.Logf("%d built-in rules", len(rules))
	ids := map[string]bool{}
	for _, r := range rules {
		if ids[r.ID] {
			t.Errorf("duplicate rule id %s", r.ID)
		}
		ids[r.ID] = true
		if r.Title == "" || r.Severity == finding.Unknown {
			t.Errorf("%s: title and severity are required", r.ID)
		}
		c, ok := ruleCases[r.ID]
		if !ok || len(c.pos) == 0 || len(c.neg) == 0 {
			t.Errorf("%s: needs at least one positive and one negative example", r.ID)
		}
		if r.Regex != nil && len(r.Keywords) == 0 && !r.hasPathFilter() {
			t.Errorf("%s: a rule without keywords must have a path filter (it would run on every file)", r.ID)
		}
		for _, k := range r.Keywords {
			if k != strings.ToLower(k) {
				t.Errorf("%s: keyword %q is not lower case", r.ID, k)
			}
		}
	}
	for id := range ruleCases {
		if !ids[id] {
			t.Errorf("examples for unknown rule %s", id)
		}
	}
}

var noDeadline time.Time

// scanned is one kept match with its secret, for white-box checks.
type scanned struct {
	f      *finding.Finding
	secret string
}

// scan runs a over text at path and returns its findings with the secrets.
func scan(t testing.TB, a *Analyzer, path, text string) []scanned {
	t.Helper()
	res, err := a.Analyze(context.Background(), analyzertest.Input(path, []byte(text), 0o644))
	if err != nil {
		t.Fatalf("Analyze(%s): %v", path, err)
	}
	// Recompute the spans to know the secrets (findings only carry redacted ones).
	buf := []byte(text)
	s := a.eng.newScan(context.Background(), noDeadline, path, buf)
	s.run(isBinary(buf))
	kept := s.selectCandidates()
	var out []scanned
	i := 0
	if res == nil {
		return nil
	}
	for _, f := range res.Findings {
		sc := scanned{f: f}
		if f.Kind == finding.KindSecret && f.Location.Line > 0 && i < len(kept) {
			sc.secret = string(buf[kept[i].ss:kept[i].se])
			i++
		}
		out = append(out, sc)
	}
	return out
}

func only(t testing.TB, r *Rule) *Analyzer {
	t.Helper()
	a, err := New(WithoutBuiltinRules(), WithRules(r))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestBuiltinRuleExamples(t *testing.T) {
	full := MustNew()
	for _, r := range BuiltinRules() {
		c := ruleCases[r.ID]
		t.Run(r.ID, func(t *testing.T) {
			a := only(t, r)
			for i, e := range c.pos {
				text := expand(t, e.text, fmt.Sprintf("%s/pos/%d", r.ID, i))
				if !full.Required(e.p(), analyzertest.Info{Path: e.p(), Length: int64(len(text)), FMode: 0o644}) {
					t.Errorf("positive %d: the analyzer does not read %s", i, e.p())
				}
				got := scan(t, a, e.p(), text)
				var hit *scanned
				for j := range got {
					if got[j].f.RuleID == r.ID {
						hit = &got[j]
					}
				}
				if hit == nil {
					t.Errorf("positive %d: no finding in %s:\n%s", i, e.p(), text)
					continue
				}
				f := hit.f
				if f.Kind != finding.KindSecret || f.Severity != r.Severity || f.Attributes["rule"] != r.ID ||
					f.Location.Path != e.p() || f.Title == "" || f.Remediation == "" {
					t.Errorf("positive %d: malformed finding %+v", i, f)
				}
				if r.Regex != nil {
					if f.Location.Line < 1 || f.Evidence == "" || f.Attributes["match"] != f.Evidence || !strings.Contains(f.Evidence, "****") {
						t.Errorf("positive %d: finding without line or redacted evidence: %+v", i, f)
					}
					if len(hit.secret) >= 5 && strings.Contains(f.Evidence, hit.secret) {
						t.Errorf("positive %d: evidence %q shows the secret", i, f.Evidence)
					}
				}
				// The full rule set reports the secret too (maybe under
				// a more specific rule).
				if len(scan(t, full, e.p(), text)) == 0 {
					t.Errorf("positive %d: the full rule set finds nothing", i)
				}
			}
			for i, e := range c.neg {
				text := expand(t, e.text, fmt.Sprintf("%s/neg/%d", r.ID, i))
				for _, got := range scan(t, a, e.p(), text) {
					if got.f.RuleID == r.ID {
						t.Errorf("negative %d: unexpected finding %q in %s:\n%s", i, got.f.Evidence, e.p(), text)
					}
				}
			}
		})
	}
}
