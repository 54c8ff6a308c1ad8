# The decision `paved check` asks for each document: every finding of
# every rule package under data.paved.rules, and of conftest-style
# policies (package main: deny, violation, warn) judged against the bare
# document as conftest would.
package paved.check

findings contains f if {
	some r in data.paved.rules[_].deny
	is_object(r)
	f := r
}

findings contains f if {
	some r in data.paved.rules[_].deny
	is_string(r)
	f := {"rule": "UNNAMED", "msg": r}
}

conftest(set, sev) := {f |
	some r in set
	f := object.union({"rule": "main", "severity": sev}, obj(r))
}

obj(r) := {"msg": r} if is_string(r)

obj(r) := r if is_object(r)

findings contains f if {
	some f in conftest(data.main.deny, "high") with input as input.doc
}

findings contains f if {
	some f in conftest(data.main.violation, "high") with input as input.doc
}

findings contains f if {
	some f in conftest(data.main.warn, "low") with input as input.doc
}

decision := {"allow": count(findings) == 0, "obligations": {"findings": findings}}
