# Pod Security Standards, baseline level (Kubernetes v1.37), as
# k8s.io/pod-security-admission/policy checks it.
package paved.rules.k8s_pss_baseline

import data.paved.lib.k8s

# Baseline: host processes (Windows).
deny contains k8s.finding("K8S-PSS-B-HOSTPROCESS", "pod sets securityContext.windowsOptions.hostProcess=true", array.concat(k8s.spec_path, ["securityContext", "windowsOptions", "hostProcess"])) if {
	k8s.pod_spec.securityContext.windowsOptions.hostProcess == true
}

deny contains k8s.finding("K8S-PSS-B-HOSTPROCESS", sprintf("container %q sets securityContext.windowsOptions.hostProcess=true", [c.name]), array.concat(c.path, ["securityContext", "windowsOptions", "hostProcess"])) if {
	some c in k8s.containers
	c.c.securityContext.windowsOptions.hostProcess == true
}

# Baseline: host namespaces.
deny contains k8s.finding("K8S-PSS-B-HOSTNS", sprintf("pod sets %s=true", [f]), array.concat(k8s.spec_path, [f])) if {
	some f in ["hostNetwork", "hostPID", "hostIPC"]
	k8s.pod_spec[f] == true
}

# Baseline: privileged containers.
deny contains k8s.finding("K8S-PSS-B-PRIVILEGED", sprintf("container %q is privileged", [c.name]), array.concat(c.path, ["securityContext", "privileged"])) if {
	some c in k8s.containers
	c.c.securityContext.privileged == true
}

baseline_caps := {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}

# Baseline: capabilities beyond the default set.
deny contains k8s.finding("K8S-PSS-B-CAPS", sprintf("container %q adds capability %v", [c.name, cap]), array.concat(c.path, ["securityContext", "capabilities", "add"])) if {
	some c in k8s.containers
	some cap in c.c.securityContext.capabilities.add
	not cap in baseline_caps
}

# Baseline: hostPath volumes.
deny contains k8s.finding("K8S-PSS-B-HOSTPATH", sprintf("volume %q is a hostPath", [object.get(v, "name", "")]), array.concat(k8s.spec_path, ["volumes", i, "hostPath"])) if {
	k8s.is_pod
	some i, v in k8s.pod_spec.volumes
	is_object(v)
	v.hostPath != null
}

# Baseline: host ports.
deny contains k8s.finding("K8S-PSS-B-HOSTPORTS", sprintf("container %q uses hostPort %v", [c.name, p.hostPort]), array.concat(c.path, ["ports", i, "hostPort"])) if {
	some c in k8s.containers
	some i, p in c.c.ports
	is_number(p.hostPort)
	p.hostPort != 0
}

# Baseline: AppArmor.
deny contains k8s.finding("K8S-PSS-B-APPARMOR", sprintf("annotation %s is %q, not runtime/default or localhost/*", [k, v]), array.concat(k8s.meta_path, ["annotations", k])) if {
	some k, v in k8s.pod_meta.annotations
	startswith(k, "container.apparmor.security.beta.kubernetes.io/")
	is_string(v)
	v != ""
	v != "runtime/default"
	not startswith(v, "localhost/")
}

apparmor_ok(t) if t in {"RuntimeDefault", "Localhost"}

deny contains k8s.finding("K8S-PSS-B-APPARMOR", sprintf("pod sets appArmorProfile.type %v", [t]), array.concat(k8s.spec_path, ["securityContext", "appArmorProfile"])) if {
	p := k8s.pod_spec.securityContext.appArmorProfile
	is_object(p)
	t := object.get(p, "type", "")
	not apparmor_ok(t)
}

deny contains k8s.finding("K8S-PSS-B-APPARMOR", sprintf("container %q sets appArmorProfile.type %v", [c.name, t]), array.concat(c.path, ["securityContext", "appArmorProfile"])) if {
	some c in k8s.containers
	p := c.c.securityContext.appArmorProfile
	is_object(p)
	t := object.get(p, "type", "")
	not apparmor_ok(t)
}

# Baseline: SELinux.
selinux_types := {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}

selinux_bad(o) := sprintf("seLinuxOptions.type %v", [o.type]) if {
	is_object(o)
	t := o.type
	not t in selinux_types
	t != null
}

selinux_bad(o) := sprintf("seLinuxOptions.%s %v", [f, o[f]]) if {
	is_object(o)
	some f in ["user", "role"]
	o[f] != ""
	o[f] != null
}

deny contains k8s.finding("K8S-PSS-B-SELINUX", sprintf("pod sets %s", [m]), array.concat(k8s.spec_path, ["securityContext", "seLinuxOptions"])) if {
	some m in {selinux_bad(k8s.pod_spec.securityContext.seLinuxOptions)}
}

deny contains k8s.finding("K8S-PSS-B-SELINUX", sprintf("container %q sets %s", [c.name, m]), array.concat(c.path, ["securityContext", "seLinuxOptions"])) if {
	some c in k8s.containers
	some m in {selinux_bad(c.c.securityContext.seLinuxOptions)}
}

# Baseline: /proc mount (any value in a user namespace).
deny contains k8s.finding("K8S-PSS-B-PROCMOUNT", sprintf("container %q sets procMount %v", [c.name, p]), array.concat(c.path, ["securityContext", "procMount"])) if {
	not k8s.host_users_false
	some c in k8s.containers
	p := c.c.securityContext.procMount
	p != null
	p != "Default"
}

# Baseline: seccomp.
seccomp_ok(t) if t in {"RuntimeDefault", "Localhost"}

deny contains k8s.finding("K8S-PSS-B-SECCOMP", sprintf("pod sets seccompProfile.type %v", [t]), array.concat(k8s.spec_path, ["securityContext", "seccompProfile"])) if {
	p := k8s.pod_spec.securityContext.seccompProfile
	is_object(p)
	t := object.get(p, "type", "")
	not seccomp_ok(t)
}

deny contains k8s.finding("K8S-PSS-B-SECCOMP", sprintf("container %q sets seccompProfile.type %v", [c.name, t]), array.concat(c.path, ["securityContext", "seccompProfile"])) if {
	some c in k8s.containers
	p := c.c.securityContext.seccompProfile
	is_object(p)
	t := object.get(p, "type", "")
	not seccomp_ok(t)
}

# Baseline: sysctls outside the safe set.
safe_sysctls := {
	"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
	"net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start", "net.ipv4.ip_local_reserved_ports",
	"net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
	"net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem",
	"net.ipv4.tcp_slow_start_after_idle", "net.ipv4.tcp_notsent_lowat",
}

deny contains k8s.finding("K8S-PSS-B-SYSCTLS", sprintf("pod sets unsafe sysctl %v", [s.name]), array.concat(k8s.spec_path, ["securityContext", "sysctls", i])) if {
	some i, s in k8s.pod_spec.securityContext.sysctls
	not s.name in safe_sysctls
}

# Baseline: host in probes and lifecycle handlers.
probe_hosts(c) := array.concat(
	[[[p, h, "host"], c[p][h].host] |
		some p in ["livenessProbe", "readinessProbe", "startupProbe"]
		some h in ["httpGet", "tcpSocket"]
		c[p][h].host
	],
	[[["lifecycle", p, h, "host"], c.lifecycle[p][h].host] |
		some p in ["postStart", "preStop"]
		some h in ["httpGet", "tcpSocket"]
		c.lifecycle[p][h].host
	],
)

deny contains k8s.finding("K8S-PSS-B-HOSTPROBES", sprintf("container %q probes or hooks host %v", [c.name, h[1]]), array.concat(c.path, h[0])) if {
	some c in k8s.containers
	some h in probe_hosts(c.c)
	h[1] != ""
	h[1] != null
}
