# Dockerfile rules. input.doc is the list of instructions:
# {"cmd": "from", "value": [...], "flags": [...], "line": N, "original": "..."}.
package paved.rules.dockerfile

is_df if input.kind == "dockerfile"

ins := input.doc if is_df

finding(rule, msg, i) := {"rule": rule, "msg": msg, "line": i.line}

froms := [i | some i in ins; i.cmd == "from"]

# stages[k]: the k-th FROM, its base (global ARGs substituted) and its
# name (AS ...), lower case.
stages := [{"line": f.line, "base": base_of(f), "name": stage_name(f)} | some f in froms]

stage_name(f) := lower(f.value[2]) if {
	count(f.value) >= 3
	lower(f.value[1]) == "as"
} else := ""

stage_names contains s.name if {
	some s in stages
	s.name != ""
}

# Global ARGs (before the first FROM) with a default: the values a FROM
# line's $NAME or ${NAME} takes.
global_args[name] := val if {
	some i in ins
	i.cmd == "arg"
	i.line < froms[0].line
	some v in i.value
	contains(v, "=")
	parts := split(v, "=")
	name := parts[0]
	val := trim(concat("=", array.slice(parts, 1, count(parts))), `"'`)
}

arg_subst[k] := v if {
	some n, v in global_args
	some k in {sprintf("${%s}", [n]), sprintf("$%s", [n])}
}

base_of(f) := strings.replace_n(arg_subst, f.value[0])

last := count(stages) - 1

users := [i | some i in ins; i.cmd == "user"]

# stage_end[k]: the line the next stage starts at.
stage_end[k] := stages[k + 1].line if {
	some k in stage_ids
	k < last
}

stage_end[last] := 1000000000 if last >= 0

# own_user[k]: the last USER written in stage k.
own_user[k] := us[count(us) - 1] if {
	some k in stage_ids
	us := [u | some u in users; u.line > stages[k].line; u.line < stage_end[k]]
	count(us) > 0
}

# A stage built FROM an earlier stage inherits its USER.
parents[k] := ps if {
	some k in stage_ids
	base := lower(stages[k].base)
	ps := [p | some p, s in stages; p < k; base == s.name]
}

stage_ids := numbers.range(0, last) if last >= 0 else := []

chain := graph.reachable(parents, {last}) if last >= 0

# The USER the final image runs as: that of the nearest stage in its
# chain that sets one (the chain is a line, so the highest index).
user_stage := max({k | some k in chain; own_user[k]})

final_user := own_user[user_stage]

root_user(u) if {
	name := split(u, ":")[0]
	name in {"root", "0"}
}

# No USER anywhere in the final image's chain: it runs as the base
# image's user, root unless that image says otherwise (scratch has no
# user at all: UID 0).
deny contains {"rule": "DOCKER-ROOT-USER", "msg": "the final stage sets no USER (nor the stage it is built from): the container runs as root", "line": stages[last].line} if {
	is_df
	count(stages) > 0
	count({k | some k in chain; own_user[k]}) == 0
}

deny contains finding("DOCKER-ROOT-USER", sprintf("the final USER is %q", [final_user.value[0]]), final_user) if {
	is_df
	root_user(final_user.value[0])
}

deny contains finding("DOCKER-UNPINNED-BASE", sprintf("base image %q is not pinned by digest (@sha256:...)", [img]), f) if {
	some k, f in froms
	img := stages[k].base
	img != "scratch"
	not lower(img) in stage_names
	not contains(img, "@sha256:")
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
