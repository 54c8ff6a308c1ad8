# A 10-rule Pod Security subset in conftest's style (package main, deny
# of strings, input = the bare manifest): the performance comparison
# between conftest and paved check runs this same file in both.
package main

containers contains c if {
	input.kind == "Deployment"
	some c in input.spec.template.spec.containers
}

containers contains c if {
	input.kind == "Pod"
	some c in input.spec.containers
}

pod_spec := input.spec.template.spec if input.kind == "Deployment"

pod_spec := input.spec if input.kind == "Pod"

deny contains msg if {
	some f in ["hostNetwork", "hostPID", "hostIPC"]
	pod_spec[f] == true
	msg := sprintf("%s is true", [f])
}

deny contains msg if {
	some c in containers
	c.securityContext.privileged == true
	msg := sprintf("container %s is privileged", [c.name])
}

deny contains msg if {
	some c in containers
	some cap in c.securityContext.capabilities.add
	not cap in {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}
	msg := sprintf("container %s adds %s", [c.name, cap])
}

deny contains msg if {
	some v in pod_spec.volumes
	v.hostPath
	msg := sprintf("volume %s is a hostPath", [v.name])
}

deny contains msg if {
	some c in containers
	some p in c.ports
	p.hostPort
	p.hostPort != 0
	msg := sprintf("container %s uses a hostPort", [c.name])
}

deny contains msg if {
	some c in containers
	p := c.securityContext.procMount
	p != "Default"
	msg := sprintf("container %s sets procMount %s", [c.name, p])
}

deny contains msg if {
	some c in containers
	c.securityContext.seccompProfile.type == "Unconfined"
	msg := sprintf("container %s: seccomp Unconfined", [c.name])
}

deny contains msg if {
	some c in containers
	not c.securityContext.allowPrivilegeEscalation == false
	msg := sprintf("container %s may escalate privileges", [c.name])
}

deny contains msg if {
	not pod_spec.securityContext.runAsNonRoot == true
	some c in containers
	not c.securityContext.runAsNonRoot == true
	msg := sprintf("container %s may run as root", [c.name])
}

deny contains msg if {
	some c in containers
	not "ALL" in c.securityContext.capabilities.drop
	msg := sprintf("container %s does not drop ALL", [c.name])
}
