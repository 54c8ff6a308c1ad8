# Kubernetes hygiene beyond the Pod Security Standards.
package paved.rules.k8s

import data.paved.lib.k8s

image_tag(img) := t if {
	not contains(img, "@")
	last := regex.replace(img, `^.*/`, "")
	contains(last, ":")
	t := split(last, ":")[1]
}

image_tag(img) := "" if {
	not contains(img, "@")
	not contains(regex.replace(img, `^.*/`, ""), ":")
}

image_tag(img) := "@digest" if contains(img, "@")

deny contains k8s.finding("K8S-LATEST-TAG", sprintf("container %q uses image %q without a fixed tag or digest", [c.name, img]), array.concat(c.path, ["image"])) if {
	some c in k8s.containers
	img := c.c.image
	is_string(img)
	image_tag(img) in {"", "latest"}
}

deny contains k8s.finding("K8S-RESOURCE-LIMITS", sprintf("container %q sets no %s limit", [c.name, r]), array.concat(c.path, ["resources"])) if {
	some c in k8s.containers
	c.path[count(c.path) - 2] != "ephemeralContainers"
	some r in ["cpu", "memory"]
	not c.c.resources.limits[r]
}

# A pod that does not call the API server needs no token: set
# automountServiceAccountToken: false, or annotate the workload
# paved.dev/needs-api-token: "reason".
deny contains k8s.finding("K8S-SA-TOKEN", "the pod mounts a service-account token (automountServiceAccountToken is not false)", k8s.spec_path) if {
	k8s.is_pod
	not k8s.pod_spec.automountServiceAccountToken == false
	not needs_token
}

needs_token if k8s.pod_meta.annotations["paved.dev/needs-api-token"]

needs_token if k8s.obj.metadata.annotations["paved.dev/needs-api-token"]

deny contains k8s.finding("K8S-INGRESS-TLS", sprintf("Ingress %q serves no TLS", [object.get(k8s.obj.metadata, "name", "")]), ["spec"]) if {
	k8s.obj.kind == "Ingress"
	count(object.get(k8s.obj.spec, "tls", [])) == 0
}

deny contains k8s.finding("K8S-INGRESS-TLS", sprintf("Ingress host %q is not covered by spec.tls", [h]), ["spec", "rules", i, "host"]) if {
	k8s.obj.kind == "Ingress"
	count(object.get(k8s.obj.spec, "tls", [])) > 0
	some i, r in k8s.obj.spec.rules
	h := r.host
	not tls_covers(h)
}

tls_covers(h) if {
	some t in k8s.obj.spec.tls
	some th in t.hosts
	glob.match(th, ["."], h)
}
