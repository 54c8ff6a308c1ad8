# Helpers shared by the Kubernetes rules: the pod spec of any workload
# kind, its containers with their paths, and finding objects.
package paved.lib.k8s

is_k8s if input.kind == "kubernetes"

obj := input.doc if is_k8s

workload_kinds := {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job"}

spec_path := ["spec"] if obj.kind == "Pod"

spec_path := ["template", "spec"] if obj.kind == "PodTemplate"

spec_path := ["spec", "template", "spec"] if obj.kind in workload_kinds

spec_path := ["spec", "jobTemplate", "spec", "template", "spec"] if obj.kind == "CronJob"

meta_path := ["metadata"] if obj.kind == "Pod"

meta_path := array.slice(spec_path, 0, count(spec_path) - 1) if {
	obj.kind != "Pod"
	spec_path
}

pod_spec := object.get(obj, spec_path, null) if spec_path

pod_meta := m if {
	m := object.get(obj, array.concat(meta_path, ["metadata"]), null)
	obj.kind != "Pod"
	is_object(m)
}

pod_meta := obj.metadata if {
	obj.kind == "Pod"
	is_object(obj.metadata)
}

is_pod if is_object(pod_spec)

# containers: {"c": container, "path": path to it, "name": name}
containers contains {"c": c, "path": array.concat(spec_path, [field, i]), "name": object.get(c, "name", "")} if {
	is_pod
	some field in ["initContainers", "containers", "ephemeralContainers"]
	is_array(pod_spec[field])
	some i, c in pod_spec[field]
	is_object(c)
}

is_windows if pod_spec.os.name == "windows"

host_users_false if pod_spec.hostUsers == false

finding(rule, msg, path) := {"rule": rule, "msg": msg, "path": path}
