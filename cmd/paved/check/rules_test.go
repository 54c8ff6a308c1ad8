package check

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

const goodPod = `apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  automountServiceAccountToken: false
  securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
  containers:
    - name: app
      image: app:1.2.3
      resources: {limits: {cpu: 100m, memory: 64Mi}}
      securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
`

// podWith returns goodPod with extra pod-spec lines (indented 2) or
// container lines (indented 6).
func podWith(spec, container string) string {
	return goodPod[:len(goodPod)-len("      securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}\n")] +
		"      securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}\n" + container + spec
}

type ruleCase struct {
	rule, file, fail, pass string
}

var ruleCases = []ruleCase{
	{"K8S-PSS-B-HOSTPROCESS", "p.yaml", podWith("  hostNetwork: false\n", "") + "  os: {name: windows}\n  securityContext: {windowsOptions: {hostProcess: true}}\n", goodPod},
	{"K8S-PSS-B-HOSTNS", "p.yaml", podWith("  hostPID: true\n", ""), podWith("  hostPID: false\n", "")},
	{"K8S-PSS-B-PRIVILEGED", "p.yaml", podWith("", "      ports: []\n") + "  initContainers: [{name: i, image: 'i:1', securityContext: {privileged: true}}]\n", goodPod},
	{"K8S-PSS-B-CAPS", "p.yaml", podWith("", "") + "  initContainers: [{name: i, image: 'i:1', securityContext: {capabilities: {add: [SYS_ADMIN]}}}]\n", podWith("", "") + "  initContainers: [{name: i, image: 'i:1', securityContext: {capabilities: {add: [CHOWN]}}}]\n"},
	{"K8S-PSS-B-HOSTPATH", "p.yaml", podWith("  volumes: [{name: h, hostPath: {path: /}}]\n", ""), podWith("  volumes: [{name: h, emptyDir: {}}]\n", "")},
	{"K8S-PSS-B-HOSTPORTS", "p.yaml", podWith("", "      ports: [{containerPort: 80, hostPort: 80}]\n"), podWith("", "      ports: [{containerPort: 80}]\n")},
	{"K8S-PSS-B-APPARMOR", "p.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: p, annotations: {container.apparmor.security.beta.kubernetes.io/app: unconfined}}\nspec: {containers: [{name: app, image: 'a:1'}]}\n", "apiVersion: v1\nkind: Pod\nmetadata: {name: p, annotations: {container.apparmor.security.beta.kubernetes.io/app: runtime/default}}\nspec: {containers: [{name: app, image: 'a:1'}]}\n"},
	{"K8S-PSS-B-SELINUX", "p.yaml", podWith("  hostIPC: false\n", "      ports: []\n") + "  initContainers: [{name: i, image: 'i:1', securityContext: {seLinuxOptions: {type: spc_t}}}]\n", podWith("", "") + "  initContainers: [{name: i, image: 'i:1', securityContext: {seLinuxOptions: {type: container_t}}}]\n"},
	{"K8S-PSS-B-PROCMOUNT", "p.yaml", podWith("  initContainers: [{name: i, image: 'i:1', securityContext: {procMount: Unmasked}}]\n", ""), podWith("  initContainers: [{name: i, image: 'i:1', securityContext: {procMount: Default}}]\n", "")},
	{"K8S-PSS-B-SECCOMP", "p.yaml", podWith("  initContainers: [{name: i, image: 'i:1', securityContext: {seccompProfile: {type: Unconfined}}}]\n", ""), goodPod},
	{"K8S-PSS-B-SYSCTLS", "p.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {securityContext: {sysctls: [{name: kernel.msgmax, value: '1'}]}, containers: [{name: a, image: 'a:1'}]}\n", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {securityContext: {sysctls: [{name: net.ipv4.tcp_syncookies, value: '1'}]}, containers: [{name: a, image: 'a:1'}]}\n"},
	{"K8S-PSS-B-HOSTPROBES", "p.yaml", podWith("", "      livenessProbe: {httpGet: {host: 169.254.169.254, path: /, port: 80}}\n"), podWith("", "      livenessProbe: {httpGet: {path: /, port: 80}}\n")},
	{"K8S-PSS-R-VOLUMES", "p.yaml", podWith("  volumes: [{name: n, nfs: {server: x, path: /}}]\n", ""), podWith("  volumes: [{name: n, persistentVolumeClaim: {claimName: c}}]\n", "")},
	{"K8S-PSS-R-PRIVESC", "p.yaml", podWith("  initContainers: [{name: i, image: 'i:1', securityContext: {capabilities: {drop: [ALL]}}}]\n", ""), goodPod},
	{"K8S-PSS-R-RUNASNONROOT", "p.yaml", podWith("", "") + "  initContainers: [{name: i, image: 'i:1', securityContext: {runAsNonRoot: false, allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}}]\n", goodPod},
	{"K8S-PSS-R-RUNASUSER", "p.yaml", podWith("", "") + "  initContainers: [{name: i, image: 'i:1', securityContext: {runAsUser: 0, allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}}]\n", podWith("", "") + "  initContainers: [{name: i, image: 'i:1', securityContext: {runAsUser: 1000, allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}}]\n"},
	{"K8S-PSS-R-SECCOMP", "p.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: 'a:1'}]}\n", goodPod},
	{"K8S-PSS-R-CAPS", "p.yaml", podWith("  initContainers: [{name: i, image: 'i:1', securityContext: {allowPrivilegeEscalation: false}}]\n", ""), goodPod},
	{"K8S-PSS-R-PROCMOUNT", "p.yaml", podWith("  hostUsers: false\n  initContainers: [{name: i, image: 'i:1', securityContext: {procMount: Unmasked, allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}}]\n", ""), goodPod},
	{"K8S-LATEST-TAG", "p.yaml", podWith("  initContainers: [{name: i, image: 'registry:5000/i:latest'}]\n", ""), podWith("  initContainers: [{name: i, image: 'registry:5000/i@sha256:0123'}]\n", "")},
	{"K8S-RESOURCE-LIMITS", "p.yaml", podWith("  initContainers: [{name: i, image: 'i:1', resources: {limits: {cpu: 1}}}]\n", ""), goodPod},
	{"K8S-SA-TOKEN", "p.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {template: {spec: {containers: [{name: a, image: 'a:1'}]}}}\n", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, annotations: {paved.dev/needs-api-token: operator watches pods}}\nspec: {template: {spec: {containers: [{name: a, image: 'a:1'}]}}}\n"},
	{"K8S-INGRESS-TLS", "i.yaml", "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i}\nspec: {tls: [{hosts: [a.example.com]}], rules: [{host: a.example.com}, {host: b.example.com}]}\n", "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i}\nspec: {tls: [{hosts: ['*.example.com']}], rules: [{host: a.example.com}]}\n"},

	{"DOCKER-ROOT-USER", "Dockerfile", "FROM a@sha256:00\nRUN x\n", "FROM a@sha256:00 AS b\nUSER root\nFROM b\nUSER 65532:65532\n"},
	{"DOCKER-UNPINNED-BASE", "Dockerfile", "FROM golang:1.26\nUSER 1\n", "FROM golang:1.26@sha256:00 AS build\nFROM build\nUSER 1\n"},
	// FROM scratch with no USER runs as UID 0; a stage built FROM another inherits its USER (two levels here).
	{"DOCKER-ROOT-USER", "Dockerfile", "FROM scratch\nCOPY app /app\n", "FROM a@sha256:00 AS b\nUSER 1\nFROM b AS c\nRUN x\nFROM c\n"},
	// A global ARG's default is the base image: ${B} and $B are resolved, a $B without a default is not pinned.
	{"DOCKER-UNPINNED-BASE", "Dockerfile", "ARG B=alpine:latest\nFROM ${B}\nUSER 1\n", "ARG B=a@sha256:00\nFROM $B\nUSER 1\n"},
	{"DOCKER-UNPINNED-BASE", "Dockerfile", "ARG B\nFROM $B\nUSER 1\n", "FROM a:latest@sha256:00\nUSER 1\n"},
	{"DOCKER-ADD-URL", "x.dockerfile", "FROM a@sha256:00\nADD https://x.example/a.tgz /a\nUSER 1\n", "FROM a@sha256:00\nADD --checksum=sha256:00 https://x.example/a.tgz /a\nADD ./local /b\nUSER 1\n"},
	{"DOCKER-SECRET-ENV", "Dockerfile", "FROM a@sha256:00\nENV DB_PASSWORD=hunter2\nUSER 1\n", "FROM a@sha256:00\nENV PORT=8080 MODE=prod\nARG VERSION=1\nUSER 1\n"},

	{"GHA-UNPINNED-ACTION", ".github/workflows/ci.yml", "permissions: {}\non: push\njobs: {b: {runs-on: x, steps: [{uses: 'aquasecurity/trivy-action@0.28.0'}]}}\n", "permissions: {}\non: push\njobs: {b: {runs-on: x, steps: [{uses: 'aquasecurity/trivy-action@0123456789abcdef0123456789abcdef01234567'}, {uses: ./local}]}}\n"},
	{"GHA-PERMISSIONS", ".github/workflows/ci.yml", "permissions: write-all\non: push\njobs: {b: {runs-on: x, steps: [{run: make}]}}\n", "on: push\njobs: {b: {runs-on: x, permissions: {contents: read}, steps: [{run: make}]}}\n"},
	{"GHA-PRT-CHECKOUT", ".github/workflows/ci.yml", "permissions: {}\non: {pull_request_target: {types: [opened]}}\njobs: {b: {runs-on: x, steps: [{uses: 'actions/checkout@0123456789abcdef0123456789abcdef01234567', with: {ref: '${{ github.event.pull_request.head.sha }}'}}]}}\n", "permissions: {}\non: {pull_request_target: {types: [opened]}}\njobs: {b: {runs-on: x, steps: [{uses: 'actions/checkout@0123456789abcdef0123456789abcdef01234567'}]}}\n"},
	// Any spelling of the head (indexed, any case, no spaces), and run steps that fetch or check it out.
	{"GHA-PRT-CHECKOUT", ".github/workflows/ci.yml", "permissions: {}\non: {pull_request_target: {types: [opened]}}\njobs: {b: {runs-on: x, steps: [{uses: 'actions/checkout@0123456789abcdef0123456789abcdef01234567', with: {ref: \"${{ github.event.pull_request.head['sha'] }}\"}}]}}\n", "permissions: {}\non: {pull_request_target: {types: [opened]}}\njobs: {b: {runs-on: x, steps: [{uses: 'actions/checkout@0123456789abcdef0123456789abcdef01234567', with: {ref: '${{ github.event.pull_request.base.sha }}'}}]}}\n"},
	{"GHA-PRT-CHECKOUT", ".github/workflows/ci.yml", "permissions: {}\non: {pull_request_target: {types: [opened]}}\njobs: {b: {runs-on: x, steps: [{uses: 'actions/checkout@0123456789abcdef0123456789abcdef01234567', with: {ref: '${{github.event.pull_request.HEAD.Ref}}'}}]}}\n", "permissions: {}\non: {pull_request_target: {types: [opened]}}\njobs: {b: {runs-on: x, steps: [{run: 'git checkout ${{ github.event.pull_request.base.sha }}'}]}}\n"},
	{"GHA-PRT-CHECKOUT", ".github/workflows/ci.yml", "permissions: {}\non: {pull_request_target: {types: [opened]}}\njobs: {b: {runs-on: x, steps: [{run: 'git fetch origin ${{ github.event.pull_request.head.sha }} && git checkout FETCH_HEAD'}]}}\n", "permissions: {}\non: {pull_request_target: {types: [opened]}}\njobs: {b: {runs-on: x, steps: [{run: 'echo ${{ github.event.pull_request.head.sha }}'}]}}\n"},
	{"GHA-PRT-CHECKOUT", ".github/workflows/ci.yml", "permissions: {}\non: {pull_request_target: {types: [opened]}}\njobs: {b: {runs-on: x, steps: [{run: 'gh pr checkout 1'}]}}\n", "permissions: {}\non: {pull_request_target: {types: [opened]}}\njobs: {b: {runs-on: x, steps: [{run: make}]}}\n"},
	{"GHA-SECRET-ECHO", ".github/workflows/ci.yml", "permissions: {}\non: push\njobs: {b: {runs-on: x, steps: [{run: 'echo \"${{ secrets.NPM_TOKEN }}\"'}]}}\n", "permissions: {}\non: push\njobs: {b: {runs-on: x, steps: [{run: 'npm publish', env: {NODE_AUTH_TOKEN: '${{ secrets.NPM_TOKEN }}'}}]}}\n"},
}

// tfCases are HCL sources; each is also checked as the plan JSON
// `terraform show -json` gives for the same resources.
var tfCases = []ruleCase{
	{"TF-PUBLIC-BUCKET", "", `resource "aws_s3_bucket_public_access_block" "b" {
  bucket = aws_s3_bucket.b.id
  block_public_acls = false
  block_public_policy = true
  ignore_public_acls = true
  restrict_public_buckets = true
}
resource "google_storage_bucket_iam_member" "m" {
  bucket = "b"
  role = "roles/storage.objectViewer"
  member = "allUsers"
}`, `resource "aws_s3_bucket_public_access_block" "b" {
  bucket = aws_s3_bucket.b.id
  block_public_acls = true
  block_public_policy = true
  ignore_public_acls = true
  restrict_public_buckets = true
}
resource "azurerm_storage_container" "c" {
  name = "c"
  container_access_type = "private"
}`},
	{"TF-OPEN-ADMIN-PORT", "", `resource "google_compute_firewall" "ssh" {
  name = "ssh"
  network = "default"
  source_ranges = ["0.0.0.0/0"]
  allow {
    protocol = "tcp"
    ports = ["20-25"]
  }
}`, `resource "google_compute_firewall" "web" {
  name = "web"
  network = "default"
  source_ranges = ["0.0.0.0/0"]
  allow {
    protocol = "tcp"
    ports = ["443"]
  }
}
resource "aws_security_group" "sg" {
  ingress {
    from_port = 22
    to_port = 22
    protocol = "tcp"
    cidr_blocks = ["10.0.0.0/8"]
  }
}`},
	// Protocol -1 opens every port whatever from/to say (-1 here); an Azure rule's source_address_prefixes list.
	{"TF-OPEN-ADMIN-PORT", "", `resource "aws_security_group" "all" {
  ingress {
    from_port = -1
    to_port = -1
    protocol = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}`, `resource "aws_security_group" "all" {
  ingress {
    from_port = -1
    to_port = -1
    protocol = "-1"
    cidr_blocks = ["10.0.0.0/8"]
  }
}`},
	{"TF-OPEN-ADMIN-PORT", "", `resource "azurerm_network_security_rule" "r" {
  name = "r"
  direction = "Inbound"
  access = "Allow"
  protocol = "Tcp"
  source_address_prefixes = ["10.0.0.0/8", "Internet"]
  destination_port_range = "3389"
}`, `resource "azurerm_network_security_rule" "r" {
  name = "r"
  direction = "Inbound"
  access = "Allow"
  protocol = "Tcp"
  source_address_prefixes = ["10.0.0.0/8"]
  destination_port_range = "3389"
}`},
	{"TF-UNENCRYPTED-STORAGE", "", `resource "aws_db_instance" "db" {
  engine = "postgres"
  storage_encrypted = false
}`, `resource "aws_db_instance" "db" {
  engine = "postgres"
  storage_encrypted = true
}
resource "aws_ebs_volume" "v" {
  size = 1
  encrypted = true
}`},
	{"TF-IAM-WILDCARD", "", `resource "aws_iam_role_policy" "p" {
  role = "r"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = ["s3:*"], Resource = "*" }]
  })
}
resource "google_project_iam_member" "o" {
  project = "p"
  role = "roles/owner"
  member = "user:a@example.com"
}`, `resource "aws_iam_role_policy" "p" {
  role = "r"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = ["s3:GetObject"], Resource = "arn:aws:s3:::b/*" }]
  })
}`},
	{"TF-MISSING-LOGGING", "", `resource "aws_lb" "lb" {
  name = "lb"
}
resource "aws_cloudtrail" "t" {
  name = "t"
  s3_bucket_name = "b"
}`, `resource "aws_lb" "lb" {
  name = "lb"
  access_logs {
    bucket = "logs"
    enabled = true
  }
}
resource "aws_cloudtrail" "t" {
  name = "t"
  s3_bucket_name = "b"
  is_multi_region_trail = true
}`},
}

// planOf renders the resources of an HCL source as a plan's
// planned_values, as terraform show -json lays them out (nested blocks
// as arrays of objects).
func planOf(t *testing.T, src string) []byte {
	t.Helper()
	docs, err := parseHCL("main.tf", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var rs []any
	for _, r := range docs[0].Input["resources"].([]any) {
		m := r.(map[string]any)
		rs = append(rs, map[string]any{"address": m["address"], "mode": "managed", "type": m["type"], "name": m["name"], "provider_name": "registry.terraform.io/hashicorp/x", "values": m["values"]})
	}
	b, _ := json.Marshal(map[string]any{"format_version": "1.2", "terraform_version": "1.9.0",
		"planned_values": map[string]any{"root_module": map[string]any{"child_modules": []any{map[string]any{"address": "module.m", "resources": rs}}}}})
	return b
}

func rulesOf(t *testing.T, c *Checker, name, src string) []string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	res := c.File(context.Background(), p)
	if len(res.Errors) > 0 || res.Documents == 0 {
		t.Fatalf("%s: %d documents, errors %v", name, res.Documents, res.Errors)
	}
	var ids []string
	for _, f := range res.Findings {
		ids = append(ids, f.Rule)
	}
	return ids
}

// TestRuleFixtures: every rule fails its failing fixture and passes its
// passing one; the Terraform rules on HCL and on plan JSON alike.
func TestRuleFixtures(t *testing.T) {
	c, err := New(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{RuleExceptionNoReason: true}
	for _, tc := range ruleCases {
		covered[tc.rule] = true
		t.Run(tc.rule, func(t *testing.T) {
			if got := rulesOf(t, c, tc.file, tc.fail); !slices.Contains(got, tc.rule) {
				t.Errorf("failing fixture: findings %v, want %s", got, tc.rule)
			}
			if got := rulesOf(t, c, tc.file, tc.pass); slices.Contains(got, tc.rule) {
				t.Errorf("passing fixture: findings %v include %s", got, tc.rule)
			}
		})
	}
	for _, tc := range tfCases {
		covered[tc.rule] = true
		t.Run(tc.rule, func(t *testing.T) {
			for _, form := range []struct{ name, fail, pass string }{
				{"main.tf", tc.fail, tc.pass},
				{"plan.json", string(planOf(t, tc.fail)), string(planOf(t, tc.pass))},
			} {
				if got := rulesOf(t, c, form.name, form.fail); !slices.Contains(got, tc.rule) {
					t.Errorf("%s failing fixture: findings %v, want %s", form.name, got, tc.rule)
				}
				if got := rulesOf(t, c, form.name, form.pass); slices.Contains(got, tc.rule) {
					t.Errorf("%s passing fixture: findings %v include %s", form.name, got, tc.rule)
				}
			}
		})
	}
	for _, r := range c.RuleList() {
		if !covered[r.ID] {
			t.Errorf("rule %s has no fixture", r.ID)
		}
	}
}
