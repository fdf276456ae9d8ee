mock_provider "aws" {
  mock_data "aws_availability_zones" {
    defaults = {
      # Unsorted on purpose: the module sorts before it picks.
      names = ["us-east-1c", "us-east-1a", "us-east-1d", "us-east-1b"]
    }
  }
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
}

variables {
  name = "lf-test"
}

run "defaults_three_zones_no_nat" {
  command = plan

  assert {
    condition     = keys(aws_subnet.public) == ["us-east-1a", "us-east-1b", "us-east-1c"]
    error_message = "Expected public subnets in the first three zones by name."
  }
  assert {
    condition     = keys(aws_subnet.private) == ["us-east-1a", "us-east-1b", "us-east-1c"]
    error_message = "Expected private subnets in the first three zones by name."
  }
  assert {
    condition     = [for az in ["us-east-1a", "us-east-1b", "us-east-1c"] : aws_subnet.public[az].cidr_block] == ["10.42.0.0/20", "10.42.16.0/20", "10.42.32.0/20"]
    error_message = "Public subnets must take the lower half of the VPC range, one /20 per zone."
  }
  assert {
    condition     = [for az in ["us-east-1a", "us-east-1b", "us-east-1c"] : aws_subnet.private[az].cidr_block] == ["10.42.128.0/20", "10.42.144.0/20", "10.42.160.0/20"]
    error_message = "Private subnets must take the upper half of the VPC range, one /20 per zone."
  }
  assert {
    condition     = alltrue([for s in aws_subnet.public : s.map_public_ip_on_launch == false])
    error_message = "No subnet may hand out public addresses by default."
  }
  assert {
    condition     = length(aws_nat_gateway.this) == 0 && length(aws_route.private_nat) == 0 && length(aws_eip.nat) == 0
    error_message = "nat_gateway = \"none\" must create no NAT gateway, address or route."
  }
  assert {
    condition     = aws_vpc_endpoint.s3[0].service_name == "com.amazonaws.us-east-1.s3" && aws_vpc_endpoint.s3[0].vpc_endpoint_type == "Gateway"
    error_message = "The S3 gateway endpoint must be created for the region by default."
  }
  assert {
    condition     = length(aws_flow_log.this) == 0 && length(aws_cloudwatch_log_group.flow_logs) == 0
    error_message = "Flow logs are opt-in."
  }
  assert {
    condition     = length(aws_default_security_group.this.ingress) == 0 && length(aws_default_security_group.this.egress) == 0
    error_message = "The default security group must be left without rules."
  }
  assert {
    condition     = aws_route.public_internet.destination_cidr_block == "0.0.0.0/0"
    error_message = "Public subnets need a default route to the internet gateway."
  }
}

run "single_nat_serves_every_zone" {
  command = plan

  variables {
    nat_gateway = "single"
  }

  assert {
    condition     = keys(aws_nat_gateway.this) == ["us-east-1a"] && length(aws_eip.nat) == 1
    error_message = "nat_gateway = \"single\" must create exactly one NAT gateway, in the first zone."
  }
  assert {
    condition     = length(aws_route.private_nat) == 3
    error_message = "Every private route table needs a default route through the NAT gateway."
  }
}

run "nat_per_zone" {
  command = plan

  variables {
    nat_gateway = "one_per_az"
  }

  assert {
    condition     = keys(aws_nat_gateway.this) == ["us-east-1a", "us-east-1b", "us-east-1c"]
    error_message = "nat_gateway = \"one_per_az\" must create one NAT gateway in each zone."
  }
}

run "explicit_zones_and_tags" {
  command = plan

  variables {
    availability_zones = ["us-east-1d", "us-east-1b"]
    cidr_block         = "10.7.0.0/20"
    subnet_newbits     = 5
    tags               = { team = "data" }
  }

  assert {
    condition     = keys(aws_subnet.public) == ["us-east-1b", "us-east-1d"]
    error_message = "availability_zones must be used as given."
  }
  assert {
    condition     = aws_subnet.public["us-east-1d"].cidr_block == "10.7.0.0/25" && aws_subnet.private["us-east-1d"].cidr_block == "10.7.8.0/25"
    error_message = "Subnets follow the order of availability_zones, private ones half-way through the range."
  }
  assert {
    condition     = aws_vpc.this.tags["team"] == "data" && aws_vpc.this.tags["Name"] == "lf-test" && aws_subnet.private["us-east-1b"].tags["team"] == "data"
    error_message = "var.tags must be merged into every resource's tags."
  }
}

run "flow_logs_when_enabled" {
  command = plan

  variables {
    flow_logs = { enabled = true, retention_days = 90 }
  }

  assert {
    condition     = length(aws_flow_log.this) == 1 && aws_flow_log.this[0].traffic_type == "ALL"
    error_message = "Enabled flow logs must record all traffic by default."
  }
  assert {
    condition     = aws_cloudwatch_log_group.flow_logs[0].retention_in_days == 90
    error_message = "The log group must keep flow logs for retention_days."
  }
}

run "rejects_bad_cidr" {
  command = plan

  variables {
    cidr_block = "10.42.0.0/33"
  }

  expect_failures = [var.cidr_block]
}

run "rejects_non_cidr" {
  command = plan

  variables {
    cidr_block = "vpc-please"
  }

  expect_failures = [var.cidr_block]
}

run "rejects_oversized_vpc" {
  command = plan

  variables {
    cidr_block = "10.0.0.0/8"
  }

  expect_failures = [var.cidr_block]
}

run "rejects_unknown_nat_mode" {
  command = plan

  variables {
    nat_gateway = "yes"
  }

  expect_failures = [var.nat_gateway]
}

run "rejects_zero_zones" {
  command = plan

  variables {
    az_count = 0
  }

  expect_failures = [var.az_count]
}

run "rejects_more_zones_than_the_region_has" {
  command = plan

  variables {
    az_count = 5
  }

  expect_failures = [data.aws_availability_zones.available]
}

run "rejects_bad_flow_log_retention" {
  command = plan

  variables {
    flow_logs = { enabled = true, retention_days = 100 }
  }

  expect_failures = [var.flow_logs]
}
