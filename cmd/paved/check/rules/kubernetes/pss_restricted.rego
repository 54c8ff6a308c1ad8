# Pod Security Standards, restricted level (Kubernetes v1.37), as
# k8s.io/pod-security-admission/policy checks it. The restricted level
# is these rules and the baseline ones, except that K8S-PSS-R-CAPS,
# K8S-PSS-R-SECCOMP and K8S-PSS-R-PROCMOUNT take the place of their
# baseline counterparts (as upstream's overrides do).
package paved.rules.k8s_pss_restricted

import data.paved.lib.k8s

allowed_volumes := {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image", "persistentVolumeClaim", "projected", "secret"}

deny contains k8s.finding("K8S-PSS-R-VOLUMES", sprintf("volume %q is of type %s", [object.get(v, "name", ""), t]), array.concat(k8s.spec_path, ["volumes", i, t])) if {
	k8s.is_pod
	some i, v in k8s.pod_spec.volumes
	is_object(v)
	some t, src in v
	t != "name"
	src != null
	not t in allowed_volumes
}

deny contains k8s.finding("K8S-PSS-R-PRIVESC", sprintf("container %q does not set securityContext.allowPrivilegeEscalation=false", [c.name]), array.concat(c.path, ["securityContext"])) if {
	not k8s.is_windows
	some c in k8s.containers
	not c.c.securityContext.allowPrivilegeEscalation == false
}

pod_nonroot if k8s.pod_spec.securityContext.runAsNonRoot == true

deny contains k8s.finding("K8S-PSS-R-RUNASNONROOT", "pod sets securityContext.runAsNonRoot=false", array.concat(k8s.spec_path, ["securityContext", "runAsNonRoot"])) if {
	not k8s.host_users_false
	k8s.pod_spec.securityContext.runAsNonRoot == false
}

deny contains k8s.finding("K8S-PSS-R-RUNASNONROOT", sprintf("container %q sets securityContext.runAsNonRoot=false", [c.name]), array.concat(c.path, ["securityContext", "runAsNonRoot"])) if {
	not k8s.host_users_false
	some c in k8s.containers
	c.c.securityContext.runAsNonRoot == false
}

deny contains k8s.finding("K8S-PSS-R-RUNASNONROOT", sprintf("neither the pod nor container %q sets securityContext.runAsNonRoot=true", [c.name]), c.path) if {
	not k8s.host_users_false
	not pod_nonroot
	some c in k8s.containers
	not nonroot_set(c.c)
}

nonroot_set(c) if is_boolean(c.securityContext.runAsNonRoot)

deny contains k8s.finding("K8S-PSS-R-RUNASUSER", "pod sets securityContext.runAsUser=0", array.concat(k8s.spec_path, ["securityContext", "runAsUser"])) if {
	not k8s.host_users_false
	k8s.pod_spec.securityContext.runAsUser == 0
}

deny contains k8s.finding("K8S-PSS-R-RUNASUSER", sprintf("container %q sets securityContext.runAsUser=0", [c.name]), array.concat(c.path, ["securityContext", "runAsUser"])) if {
	not k8s.host_users_false
	some c in k8s.containers
	c.c.securityContext.runAsUser == 0
}

seccomp_ok(t) if t in {"RuntimeDefault", "Localhost"}

pod_seccomp_ok if seccomp_ok(k8s.pod_spec.securityContext.seccompProfile.type)

pod_seccomp_set if is_object(k8s.pod_spec.securityContext.seccompProfile)

deny contains k8s.finding("K8S-PSS-R-SECCOMP", sprintf("pod sets seccompProfile.type %v", [object.get(k8s.pod_spec.securityContext.seccompProfile, "type", "")]), array.concat(k8s.spec_path, ["securityContext", "seccompProfile"])) if {
	not k8s.is_windows
	pod_seccomp_set
	not pod_seccomp_ok
}

deny contains k8s.finding("K8S-PSS-R-SECCOMP", sprintf("container %q sets seccompProfile.type %v", [c.name, object.get(p, "type", "")]), array.concat(c.path, ["securityContext", "seccompProfile"])) if {
	not k8s.is_windows
	some c in k8s.containers
	p := c.c.securityContext.seccompProfile
	is_object(p)
	not seccomp_ok(object.get(p, "type", ""))
}

deny contains k8s.finding("K8S-PSS-R-SECCOMP", sprintf("neither the pod nor container %q sets seccompProfile.type RuntimeDefault or Localhost", [c.name]), c.path) if {
	not k8s.is_windows
	not pod_seccomp_ok
	some c in k8s.containers
	not container_seccomp_set(c.c)
}

container_seccomp_set(c) if c.securityContext.seccompProfile != null

drops_all(c) if "ALL" in c.securityContext.capabilities.drop

deny contains k8s.finding("K8S-PSS-R-CAPS", sprintf("container %q does not drop ALL capabilities", [c.name]), array.concat(c.path, ["securityContext"])) if {
	not k8s.is_windows
	some c in k8s.containers
	not drops_all(c.c)
}

deny contains k8s.finding("K8S-PSS-R-CAPS", sprintf("container %q adds capability %v (only NET_BIND_SERVICE is allowed)", [c.name, cap]), array.concat(c.path, ["securityContext", "capabilities", "add"])) if {
	not k8s.is_windows
	some c in k8s.containers
	some cap in c.c.securityContext.capabilities.add
	cap != "NET_BIND_SERVICE"
}

deny contains k8s.finding("K8S-PSS-R-PROCMOUNT", sprintf("container %q sets procMount %v", [c.name, p]), array.concat(c.path, ["securityContext", "procMount"])) if {
	some c in k8s.containers
	p := c.c.securityContext.procMount
	p != null
	p != "Default"
}
