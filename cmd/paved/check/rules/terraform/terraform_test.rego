package paved.rules.terraform_test

import data.paved.rules.terraform

test_port_ranges if {
	terraform.open_ports(0, 65535) == {22, 3389}
	terraform.open_ports(0, 0) == {22, 3389}
	terraform.sg_open_ports({"protocol": "-1", "from_port": -1, "to_port": -1}) == {22, 3389}
	terraform.sg_open_ports({"protocol": -1, "from_port": 0, "to_port": 0}) == {22, 3389}
	terraform.sg_open_ports({"protocol": "tcp", "from_port": 443, "to_port": 443}) == set()
	terraform.gcp_open_ports([]) == {22, 3389}
	terraform.open_ports("20", "25") == {22}
	terraform.open_ports(80, 443) == set()
	terraform.open_ports("${var.from}", 22) == set()
	terraform.gcp_open_ports(["22", "3389"]) == {22, 3389}
}

test_hcl_unknown_values_do_not_error if {
	count(terraform.deny) == 0 with input as {"kind": "terraform", "resources": [{"address": "aws_security_group.s", "type": "aws_security_group", "name": "s", "line": 1, "values": {"ingress": [{"from_port": "${var.p}", "to_port": "${var.p}", "cidr_blocks": "${var.c}"}]}}]}
}
