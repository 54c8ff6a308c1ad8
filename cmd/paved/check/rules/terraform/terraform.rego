# Terraform rules for AWS, GCP and Azure. input.resources is the list of
# managed resources, the same shape from plan JSON and from HCL source:
# {"address", "type", "name", "values", "line"}; nested blocks are arrays
# of objects. A value HCL cannot know without a plan is "${expression}".
package paved.rules.terraform

is_tf if input.kind == "terraform"

resources contains r if {
	is_tf
	some r in input.resources
}

finding(rule, msg, r) := {"rule": rule, "msg": sprintf("%s: %s", [r.address, msg]), "line": r.line, "object": r.address}

blocks(v, k) := [b | some b in object.get(v, k, []); is_object(b)]

# --- public storage ----------------------------------------------------
deny contains finding("TF-PUBLIC-BUCKET", sprintf("acl %q makes the bucket public", [r.values.acl]), r) if {
	some r in resources
	r.type in {"aws_s3_bucket", "aws_s3_bucket_acl"}
	r.values.acl in {"public-read", "public-read-write", "authenticated-read"}
}

deny contains finding("TF-PUBLIC-BUCKET", sprintf("%s = false lets the bucket be made public", [k]), r) if {
	some r in resources
	r.type in {"aws_s3_bucket_public_access_block", "aws_s3_account_public_access_block"}
	some k in ["block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"]
	r.values[k] == false
}

deny contains finding("TF-PUBLIC-BUCKET", sprintf("grants %s to %s", [r.values.role, m]), r) if {
	some r in resources
	r.type in {"google_storage_bucket_iam_member", "google_storage_bucket_iam_binding"}
	some m in members(r.values)
	m in {"allUsers", "allAuthenticatedUsers"}
}

members(v) := [v.member] if is_string(v.member)

members(v) := v.members if is_array(v.members)

deny contains finding("TF-PUBLIC-BUCKET", "public_access_prevention is not \"enforced\"", r) if {
	some r in resources
	r.type == "google_storage_bucket"
	object.get(r.values, "public_access_prevention", "inherited") != "enforced"
}

deny contains finding("TF-PUBLIC-BUCKET", sprintf("%s = true allows public blobs", [k]), r) if {
	some r in resources
	r.type == "azurerm_storage_account"
	some k in ["allow_nested_items_to_be_public", "allow_blob_public_access"]
	r.values[k] == true
}

deny contains finding("TF-PUBLIC-BUCKET", sprintf("container_access_type %q is public", [r.values.container_access_type]), r) if {
	some r in resources
	r.type == "azurerm_storage_container"
	r.values.container_access_type in {"blob", "container"}
}

# --- admin ports open to the world -------------------------------------
admin_ports := {22, 3389}

world := {"0.0.0.0/0", "::/0"}

num(x) := x if is_number(x)

num(x) := to_number(x) if {
	is_string(x)
	regex.match(`^[0-9]+$`, x)
}

# open_ports is the set of admin ports within from..to; 0..0 (with
# protocol -1) is every port, so every admin port.
open_ports(from, to) := {p | some p in admin_ports; num(from) <= p; p <= num(to)} | {p | some p in admin_ports; num(from) == 0; num(to) == 0}

# AWS ignores the ports of a rule whose protocol is -1 ("all"): every
# port is open, whatever from_port and to_port say (often -1).
sg_open_ports(i) := admin_ports if {
	lower(sprintf("%v", [object.get(i, "protocol", "")])) in {"-1", "all"}
} else := open_ports(i.from_port, i.to_port)

sg_ingress(r) := blocks(r.values, "ingress") if r.type == "aws_security_group"

sg_ingress(r) := [r.values] if {
	r.type == "aws_security_group_rule"
	r.values.type == "ingress"
}

cidrs(i) := array.concat(object.get(i, "cidr_blocks", []), object.get(i, "ipv6_cidr_blocks", []))

deny contains finding("TF-OPEN-ADMIN-PORT", sprintf("port %d is open to %s", [p, c]), r) if {
	some r in resources
	some i in sg_ingress(r)
	some c in cidrs(i)
	c in world
	some p in sg_open_ports(i)
}

deny contains finding("TF-OPEN-ADMIN-PORT", sprintf("port %d is open to %s", [p, c]), r) if {
	some r in resources
	r.type == "aws_vpc_security_group_ingress_rule"
	some k in ["cidr_ipv4", "cidr_ipv6"]
	c := r.values[k]
	c in world
	some p in sg_open_ports({"protocol": object.get(r.values, "ip_protocol", ""), "from_port": object.get(r.values, "from_port", 0), "to_port": object.get(r.values, "to_port", 0)})
}

gcp_open_ports(ports) := admin_ports if count(ports) == 0

gcp_open_ports(ports) := {p |
	some s in ports
	is_string(s)
	parts := split(s, "-")
	some p in open_ports(parts[0], parts[count(parts) - 1])
} if count(ports) > 0

deny contains finding("TF-OPEN-ADMIN-PORT", sprintf("port %d is open to %s", [p, c]), r) if {
	some r in resources
	r.type == "google_compute_firewall"
	object.get(r.values, "direction", "INGRESS") == "INGRESS"
	some c in object.get(r.values, "source_ranges", [])
	c in world
	some a in blocks(r.values, "allow")
	a.protocol in {"tcp", "all"}
	some p in gcp_open_ports(object.get(a, "ports", []))
}

az_world := {"*", "0.0.0.0/0", "Internet", "Any"}

az_open_ports(s) := {22, 3389} if s == "*"

az_open_ports(s) := open_ports(parts[0], parts[count(parts) - 1]) if {
	is_string(s)
	s != "*"
	parts := split(s, "-")
}

deny contains finding("TF-OPEN-ADMIN-PORT", sprintf("port %d is open to %s", [p, src]), r) if {
	some r in resources
	r.type == "azurerm_network_security_rule"
	r.values.direction == "Inbound"
	r.values.access == "Allow"
	some src in array.concat([x | x := r.values.source_address_prefix; is_string(x)], object.get(r.values, "source_address_prefixes", []))
	src in az_world
	ranges := array.concat([x | x := r.values.destination_port_range; is_string(x)], object.get(r.values, "destination_port_ranges", []))
	some s in ranges
	some p in az_open_ports(s)
}

# --- encryption at rest ------------------------------------------------
deny contains finding("TF-UNENCRYPTED-STORAGE", "the volume is not encrypted (encrypted = true)", r) if {
	some r in resources
	r.type == "aws_ebs_volume"
	not r.values.encrypted == true
}

deny contains finding("TF-UNENCRYPTED-STORAGE", "the database storage is not encrypted (storage_encrypted = true)", r) if {
	some r in resources
	r.type in {"aws_db_instance", "aws_rds_cluster"}
	not r.values.storage_encrypted == true
}

deny contains finding("TF-UNENCRYPTED-STORAGE", "a block device is not encrypted (encrypted = true)", r) if {
	some r in resources
	r.type in {"aws_instance", "aws_launch_template"}
	some k in ["root_block_device", "ebs_block_device"]
	some b in blocks(r.values, k)
	not b.encrypted == true
}

deny contains finding("TF-UNENCRYPTED-STORAGE", "transparent data encryption is turned off", r) if {
	some r in resources
	r.type == "azurerm_mssql_database"
	r.values.transparent_data_encryption_enabled == false
}

deny contains finding("TF-UNENCRYPTED-STORAGE", "the disk has no customer or platform encryption setting and encryption_at_host_enabled is false", r) if {
	some r in resources
	r.type == "azurerm_linux_virtual_machine"
	r.values.encryption_at_host_enabled == false
}

# --- IAM wildcards -----------------------------------------------------
aws_policy_types := {"aws_iam_policy", "aws_iam_role_policy", "aws_iam_user_policy", "aws_iam_group_policy"}

as_list(x) := x if is_array(x)

as_list(x) := [x] if not is_array(x)

deny contains finding("TF-IAM-WILDCARD", sprintf("a statement allows action %q", [a]), r) if {
	some r in resources
	r.type in aws_policy_types
	is_string(r.values.policy)
	json.is_valid(r.values.policy)
	doc := json.unmarshal(r.values.policy)
	some st in as_list(doc.Statement)
	st.Effect == "Allow"
	some a in as_list(object.get(st, "Action", []))
	a in {"*", "*:*"}
}

deny contains finding("TF-IAM-WILDCARD", sprintf("a statement allows %q on resource \"*\"", [a]), r) if {
	some r in resources
	r.type in aws_policy_types
	is_string(r.values.policy)
	json.is_valid(r.values.policy)
	doc := json.unmarshal(r.values.policy)
	some st in as_list(doc.Statement)
	st.Effect == "Allow"
	"*" in as_list(object.get(st, "Resource", []))
	some a in as_list(object.get(st, "Action", []))
	endswith(a, ":*")
}

deny contains finding("TF-IAM-WILDCARD", sprintf("grants the primitive role %s", [r.values.role]), r) if {
	some r in resources
	startswith(r.type, "google_project_iam_")
	r.values.role in {"roles/owner", "roles/editor"}
}

deny contains finding("TF-IAM-WILDCARD", "the role definition allows actions \"*\"", r) if {
	some r in resources
	r.type == "azurerm_role_definition"
	some p in blocks(r.values, "permissions")
	"*" in object.get(p, "actions", [])
}

# --- logging -------------------------------------------------------------
deny contains finding("TF-MISSING-LOGGING", "the bucket has no access logging (a logging block or an aws_s3_bucket_logging)", r) if {
	some r in resources
	r.type == "aws_s3_bucket"
	count(blocks(r.values, "logging")) == 0
	not has_type("aws_s3_bucket_logging")
}

deny contains finding("TF-MISSING-LOGGING", "the bucket has no access logging (a logging block)", r) if {
	some r in resources
	r.type == "google_storage_bucket"
	count(blocks(r.values, "logging")) == 0
}

deny contains finding("TF-MISSING-LOGGING", "the load balancer writes no access logs", r) if {
	some r in resources
	r.type in {"aws_lb", "aws_alb"}
	not access_logs_on(r.values)
}

access_logs_on(v) if {
	some b in blocks(v, "access_logs")
	b.enabled == true
}

deny contains finding("TF-MISSING-LOGGING", "the trail does not cover all regions (is_multi_region_trail = true)", r) if {
	some r in resources
	r.type == "aws_cloudtrail"
	not r.values.is_multi_region_trail == true
}

has_type(t) if {
	some r in resources
	r.type == t
}
