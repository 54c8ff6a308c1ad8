package paved.lib.k8s_test

import data.paved.lib.k8s
import data.paved.rules.k8s as hygiene

test_pod_spec_of_cronjob if {
	k8s.spec_path == ["spec", "jobTemplate", "spec", "template", "spec"] with input as {"kind": "kubernetes", "doc": {"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {}}}}}}}
}

test_containers_all_kinds if {
	cs := k8s.containers with input as {"kind": "kubernetes", "doc": {"kind": "Pod", "spec": {"initContainers": [{"name": "i"}], "containers": [{"name": "a"}], "ephemeralContainers": [{"name": "e"}]}}}
	{c.name | some c in cs} == {"i", "a", "e"}
}

test_not_k8s if {
	not k8s.is_pod with input as {"kind": "dockerfile", "doc": []}
}

test_image_tags if {
	hygiene.image_tag("nginx") == ""
	hygiene.image_tag("nginx:latest") == "latest"
	hygiene.image_tag("registry:5000/nginx") == ""
	hygiene.image_tag("registry:5000/nginx:1.2") == "1.2"
	hygiene.image_tag("nginx@sha256:00") == "@digest"
}
