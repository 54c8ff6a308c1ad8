# Dockerfile rules. input.doc is the list of instructions:
# {"cmd": "from", "value": [...], "flags": [...], "line": N, "original": "..."}.
package paved.rules.dockerfile

is_df if input.kind == "dockerfile"

ins := input.doc if is_df

finding(rule, msg, i) := {"rule": rule, "msg": msg, "line": i.line}

froms := [i | some i in ins; i.cmd == "from"]

# The last stage is the image that runs.
last_from_line := froms[count(froms) - 1].line

final_users := [i | some i in ins; i.cmd == "user"; i.line > last_from_line]

root_user(u) if {
	name := split(u, ":")[0]
	name in {"root", "0"}
}

deny contains {"rule": "DOCKER-ROOT-USER", "msg": "the final stage sets no USER: the container runs as root", "line": last_from_line} if {
	is_df
	count(froms) > 0
	count(final_users) == 0
	not scratch_final
}

scratch_final if froms[count(froms) - 1].value[0] == "scratch"

deny contains finding("DOCKER-ROOT-USER", sprintf("the final USER is %q", [u.value[0]]), u) if {
	is_df
	count(final_users) > 0
	u := final_users[count(final_users) - 1]
	root_user(u.value[0])
}

stage_names contains lower(f.value[2]) if {
	some f in froms
	count(f.value) >= 3
	lower(f.value[1]) == "as"
}

deny contains finding("DOCKER-UNPINNED-BASE", sprintf("base image %q is not pinned by digest (@sha256:...)", [img]), f) if {
	some f in froms
	img := f.value[0]
	img != "scratch"
	not lower(img) in stage_names
	not contains(img, "@sha256:")
	not startswith(img, "$")
}

deny contains finding("DOCKER-ADD-URL", sprintf("ADD fetches %q: use curl with a checksum, or ADD --checksum", [src]), i) if {
	some i in ins
	i.cmd == "add"
	some src in array.slice(i.value, 0, count(i.value) - 1)
	regex.match(`^(https?|ftp)://`, src)
	not has_checksum(i)
}

has_checksum(i) if {
	some f in i.flags
	startswith(f, "--checksum=")
}

secret_name := `(?i)(pass(word|wd)?|secret|token|api[_-]?key|private[_-]?key|credential|access[_-]?key)`

deny contains finding("DOCKER-SECRET-ENV", sprintf("%s %s looks like a secret: it stays in the image's history; use RUN --mount=type=secret", [upper(i.cmd), name]), i) if {
	some i in ins
	i.cmd in {"env", "arg"}
	some name in env_names(i)
	regex.match(secret_name, name)
}

# ENV value lists are name, value, "=" triples; ARG values are "NAME" or "NAME=default".
env_names(i) := [i.value[k] | some k in numbers.range(0, count(i.value) - 1); k % 3 == 0] if i.cmd == "env"

env_names(i) := [split(v, "=")[0] | some v in i.value] if i.cmd == "arg"
