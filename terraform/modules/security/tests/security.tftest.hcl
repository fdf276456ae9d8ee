mock_provider "aws" {}

variables {
  name        = "lf-test-cluster"
  vpc_id      = "vpc-0123456789abcdef0"
  admin_cidrs = ["203.0.113.7/32", "198.51.100.0/24"]
}

run "kafka_only_from_members_ssh_only_from_admins" {
  command = plan

  assert {
    condition     = length(aws_security_group.this.ingress) == 6
    error_message = "Exactly six ingress rules: Kafka broker, Kafka controller, Kafka metrics, lakefeed metrics, host metrics, SSH."
  }
  assert {
    condition = alltrue([
      for r in aws_security_group.this.ingress : r.self == true && length(coalesce(r.cidr_blocks, [])) == 0 && length(coalesce(r.ipv6_cidr_blocks, [])) == 0 && length(coalesce(r.security_groups, [])) == 0
      if contains([9092, 9093, 7071, 9101, 9100], r.from_port)
    ]) && length([for r in aws_security_group.this.ingress : r if contains([9092, 9093, 7071, 9100], r.from_port) && r.to_port == r.from_port]) == 4 && one([for r in aws_security_group.this.ingress : r.to_port if r.from_port == 9101]) == 9120
    error_message = "Kafka ports 9092, 9093, the metrics ports 7071, 9100 and the daemons' 9101-9120 must be open to members of the group only."
  }
  assert {
    condition = one([
      for r in aws_security_group.this.ingress : r if r.from_port == 22
    ]).cidr_blocks == tolist(["203.0.113.7/32", "198.51.100.0/24"])
    error_message = "SSH must be open to admin_cidrs and nothing else."
  }
  assert {
    condition     = one([for r in aws_security_group.this.ingress : r if r.from_port == 22]).self != true
    error_message = "SSH is for admins, not for cluster members."
  }
  assert {
    condition     = alltrue([for r in aws_security_group.this.ingress : r.description != ""])
    error_message = "Every rule needs a description."
  }
  assert {
    condition     = one(aws_security_group.this.egress).protocol == "-1" && one(aws_security_group.this.egress).cidr_blocks == tolist(["0.0.0.0/0"])
    error_message = "Egress must be open (package mirrors, source APIs, S3)."
  }
}

run "custom_kafka_ports_and_tags" {
  command = plan

  variables {
    kafka_ports = { broker = 19092, controller = 19093, metrics = 17071 }
    tags        = { team = "data" }
  }

  assert {
    condition     = sort([for r in aws_security_group.this.ingress : tostring(r.from_port)]) == tolist(["17071", "19092", "19093", "22", "9100", "9101"])
    error_message = "kafka_ports must set the Kafka rules' ports."
  }
  assert {
    condition     = aws_security_group.this.tags["team"] == "data" && aws_security_group.this.tags["Name"] == "lf-test-cluster"
    error_message = "var.tags must be merged into the group's tags."
  }
}

run "name_is_a_prefix_so_replacements_fit" {
  command = plan

  assert {
    condition     = aws_security_group.this.name_prefix == "lf-test-cluster-"
    error_message = "The group must be named from name_prefix \"<name>-\", not a fixed name: create_before_destroy makes the replacement while the old group, with the same name, still exists."
  }
  assert {
    condition     = aws_security_group.this.tags["Name"] == "lf-test-cluster"
    error_message = "The Name tag stays var.name, without the unique suffix."
  }
}

run "rejects_ssh_from_the_internet" {
  command = plan

  variables {
    admin_cidrs = ["0.0.0.0/0"]
  }

  expect_failures = [var.admin_cidrs]
}

run "rejects_bad_admin_cidr" {
  command = plan

  variables {
    admin_cidrs = ["203.0.113.300/32"]
  }

  expect_failures = [var.admin_cidrs]
}

run "rejects_no_admin_cidr" {
  command = plan

  variables {
    admin_cidrs = []
  }

  expect_failures = [var.admin_cidrs]
}

run "rejects_same_port_twice" {
  command = plan

  variables {
    kafka_ports = { broker = 9092, controller = 9092 }
  }

  expect_failures = [var.kafka_ports]
}

run "rejects_metrics_on_a_kafka_port" {
  command = plan

  variables {
    kafka_ports = { metrics = 9093 }
  }

  expect_failures = [var.kafka_ports]
}

run "rejects_bad_vpc_id" {
  command = plan

  variables {
    vpc_id = "my-vpc"
  }

  expect_failures = [var.vpc_id]
}
