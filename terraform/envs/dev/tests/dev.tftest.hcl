# Plan-only checks of the environment's own logic; tests/terraform/test_terraform.py
# applies it for real against a local AWS API.
mock_provider "aws" {
  mock_data "aws_availability_zones" {
    defaults = { names = ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"] }
  }
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
  mock_data "aws_ami" {
    defaults = { id = "ami-0123456789abcdef0" }
  }
}

variables {
  admin_cidrs    = ["203.0.113.7/32"]
  ssh_public_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk8b7rVtHxJm0M1y3y0q8X2m0v5bqQvJm1mC8a3m4nL admin@example"
  lake_bucket    = "lf-test-lake"
}

run "default_ami_is_debians_bookworm_amd64" {
  command = plan

  assert {
    condition     = length(data.aws_ami.debian) == 1 && data.aws_ami.debian[0].owners == tolist(["136693071363"]) && data.aws_ami.debian[0].most_recent
    error_message = "Without ami_id the newest AMI of Debian's cloud team account must be looked up."
  }
  assert {
    condition = toset([for f in data.aws_ami.debian[0].filter : "${f.name}=${join(",", f.values)}"]) == toset([
      "name=debian-12-amd64-*", "architecture=x86_64", "virtualization-type=hvm", "root-device-type=ebs",
    ])
    error_message = "The lookup must select Debian 12 amd64 HVM EBS images."
  }
  assert {
    condition     = local.ami_id == "ami-0123456789abcdef0"
    error_message = "The looked-up AMI must be the hosts' AMI."
  }
}

run "ami_id_overrides_the_lookup" {
  command = plan

  variables {
    ami_id = "ami-0fedcba9876543210"
  }

  assert {
    condition     = length(data.aws_ami.debian) == 0 && local.ami_id == "ami-0fedcba9876543210"
    error_message = "ami_id must be used as given, without a lookup."
  }
}

run "inventory_addresses_public_by_default" {
  command = plan

  # The instances' addresses are only known after apply: fix them for the plan.
  override_resource {
    target          = module.cluster.aws_instance.host
    override_during = plan
    values          = { private_ip = "10.42.1.10", public_ip = "198.51.100.10" }
  }

  assert {
    condition     = alltrue([for h in output.inventory.hosts : h.address == "198.51.100.10" && h.private_ip == "10.42.1.10"])
    error_message = "ssh_address = \"auto\" must give the public IP of hosts that have one."
  }
  assert {
    condition     = [for n in ["kafka-1", "kafka-2", "kafka-3"] : output.inventory.hosts[n].node_id] == [1, 2, 3]
    error_message = "Every host of the inventory must carry the cluster module's node_id."
  }
  assert {
    condition     = output.inventory.ssh_user == "admin" && output.inventory.ssh_private_key_file == null
    error_message = "Without ssh_private_key_file the inventory names no key file."
  }
}

run "inventory_addresses_private_without_public_ip" {
  command = plan

  override_resource {
    target          = module.cluster.aws_instance.host
    override_during = plan
    # What the provider reports for a host without a public address.
    values = { private_ip = "10.42.1.10", public_ip = "" }
  }

  assert {
    condition     = alltrue([for h in output.inventory.hosts : h.address == "10.42.1.10"])
    error_message = "A host without a public IP must be reached over its private IP."
  }
}

run "ssh_address_private_gives_private_addresses" {
  command = plan

  variables {
    ssh_address          = "private"
    ssh_private_key_file = "~/.ssh/lakefeed_ed25519"
  }

  override_resource {
    target          = module.cluster.aws_instance.host
    override_during = plan
    values          = { private_ip = "10.42.1.10", public_ip = "198.51.100.10" }
  }

  assert {
    condition     = alltrue([for h in output.inventory.hosts : h.address == "10.42.1.10"])
    error_message = "ssh_address = \"private\" must give the private IP even to hosts with a public one."
  }
  assert {
    condition     = output.inventory.ssh_private_key_file == "~/.ssh/lakefeed_ed25519"
    error_message = "ssh_private_key_file must reach the inventory as given."
  }
}

run "rejects_unknown_ssh_address" {
  command = plan

  variables {
    ssh_address = "public"
  }

  expect_failures = [var.ssh_address]
}

run "rejects_relative_ssh_private_key_file" {
  command = plan

  variables {
    ssh_private_key_file = ".ssh/id_ed25519"
  }

  expect_failures = [var.ssh_private_key_file]
}

run "rejects_graviton_with_the_default_ami" {
  command = plan

  variables {
    hosts = { kafka = { count = 3, instance_type = "m7g.large", data_volume_gb = 100 } }
  }

  expect_failures = [var.hosts]
}

run "rejects_private_hosts_without_nat" {
  command = plan

  variables {
    private_hosts = true
  }

  expect_failures = [var.private_hosts]
}

run "rejects_endpoint_url_with_a_path" {
  command = plan

  variables {
    endpoint_url = "http://127.0.0.1:5000/s3"
  }

  expect_failures = [var.endpoint_url]
}

run "rejects_unknown_region_format" {
  command = plan

  variables {
    region = "US East"
  }

  expect_failures = [var.region]
}
