# GitHub Actions workflow rules. input.doc is the workflow.
package paved.rules.actions

is_wf if input.kind == "github-actions"

wf := input.doc if is_wf

finding(rule, msg, path) := {"rule": rule, "msg": msg, "path": path}

steps contains {"s": s, "path": ["jobs", j, "steps", i], "job": j} if {
	some j, job in wf.jobs
	some i, s in job.steps
}

# Every action is pinned to a full commit SHA (a tag can be moved, as
# trivy-action's were in March 2026); local ./ actions are exempt, and a
# docker:// action needs a digest.
deny contains finding("GHA-UNPINNED-ACTION", sprintf("step uses %q, not pinned to a commit SHA", [u]), array.concat(st.path, ["uses"])) if {
	some st in steps
	u := st.s.uses
	unpinned(u)
}

deny contains finding("GHA-UNPINNED-ACTION", sprintf("job %s uses workflow %q, not pinned to a commit SHA", [j, u]), ["jobs", j, "uses"]) if {
	some j, job in wf.jobs
	u := job.uses
	unpinned(u)
}

unpinned(u) if {
	is_string(u)
	not startswith(u, "./")
	not startswith(u, "docker://")
	not regex.match(`@[0-9a-f]{40}$`, u)
}

unpinned(u) if {
	startswith(u, "docker://")
	not contains(u, "@sha256:")
}

deny contains finding("GHA-PERMISSIONS", "permissions: write-all grants every scope", ["permissions"]) if {
	wf.permissions == "write-all"
}

deny contains finding("GHA-PERMISSIONS", sprintf("job %s: permissions: write-all grants every scope", [j]), ["jobs", j, "permissions"]) if {
	some j, job in wf.jobs
	job.permissions == "write-all"
}

deny contains finding("GHA-PERMISSIONS", sprintf("job %s sets no permissions and the workflow none: the token gets the repository's default scopes", [j]), ["jobs", j]) if {
	is_wf
	not has_key(wf, "permissions")
	some j, job in wf.jobs
	not has_key(job, "permissions")
}

has_key(o, k) if {
	is_object(o)
	_ = o[k]
}

triggers contains t if {
	is_string(wf.on)
	t := wf.on
}

triggers contains t if {
	is_array(wf.on)
	some t in wf.on
}

triggers contains t if {
	is_object(wf.on)
	some t, _ in wf.on
}

# An expression naming the pull request's head, in any spelling GitHub
# accepts: property names are case-insensitive and may be indexed
# (github.event.pull_request.head['sha']), spaces are free.
head_ref_re := `github\.event\.pull_request\.head\.(sha|ref)|github\.head_ref|github\.event\.pull_request\.merge_commit_sha|refs/pull/`

normal(s) := regex.replace(regex.replace(lower(s), `\s+`, ""), `\[['"]([a-z0-9_-]+)['"]\]`, ".$1")

names_head(s) if {
	is_string(s)
	regex.match(head_ref_re, normal(s))
}

deny contains finding("GHA-PRT-CHECKOUT", "pull_request_target checks out the pull request's head: untrusted code runs with the base repository's secrets and write token", array.concat(st.path, ["with", "ref"])) if {
	"pull_request_target" in triggers
	some st in steps
	startswith(lower(st.s.uses), "actions/checkout")
	names_head(st.s["with"].ref)
}

deny contains finding("GHA-PRT-CHECKOUT", "pull_request_target fetches or checks out the pull request's head in a run step: untrusted code runs with the base repository's secrets and write token", array.concat(st.path, ["run"])) if {
	"pull_request_target" in triggers
	some st in steps
	run := st.s.run
	is_string(run)
	prt_run_checkout(run)
}

prt_run_checkout(run) if regex.match(`(?i)\bgh\s+pr\s+checkout\b`, run)

prt_run_checkout(run) if {
	regex.match(`(?i)\bgit\s+(fetch|checkout|switch|pull|reset|worktree)\b`, run)
	names_head(run)
}

deny contains finding("GHA-SECRET-ECHO", "a run step prints a secret to the log", array.concat(st.path, ["run"])) if {
	some st in steps
	regex.match(`(?i)\b(echo|printf|print|cat|tee)\b[^\n|;&]*\$\{\{\s*secrets\.`, st.s.run)
}

deny contains finding("GHA-SECRET-ECHO", "a run step prints a secret-bearing environment variable to the log", array.concat(st.path, ["run"])) if {
	some st in steps
	some name, v in object.get(st.s, "env", {})
	is_string(v)
	regex.match(`\$\{\{\s*secrets\.`, v)
	regex.match(sprintf(`(?i)\b(echo|printf)\b[^\n|;&]*\$\{?%s\b`, [name]), st.s.run)
}
