mock_provider "aws" {
  mock_resource "aws_ebs_volume" {
    # Known at plan time, so assertions can read the user data that embeds it.
    override_during = plan
    defaults = {
      id = "vol-0123456789abcdef0"
    }
  }
}

variables {
  name = "lf-test"
  groups = {
    kafka = { count = 3, instance_type = "t3.large", data_volume_gb = 100 }
  }
  services = {
    collector = ["kafka-1"]
    archiver  = ["kafka-2"]
    shipper   = ["kafka-2"]
  }
  subnets = [
    { id = "subnet-0000000000000000a", availability_zone = "us-east-1a" },
    { id = "subnet-0000000000000000b", availability_zone = "us-east-1b" },
    { id = "subnet-0000000000000000c", availability_zone = "us-east-1c" },
  ]
  security_group_ids    = ["sg-0123456789abcdef0"]
  ami_id                = "ami-0123456789abcdef0"
  ssh_public_key        = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk8b7rVtHxJm0M1y3y0q8X2m0v5bqQvJm1mC8a3m4nL admin@example"
  instance_profile_name = "lf-test-lake-writer"
}

run "three_kafka_hosts_one_per_zone" {
  command = plan

  assert {
    condition     = toset(keys(aws_instance.host)) == toset(["kafka-1", "kafka-2", "kafka-3"])
    error_message = "Hosts must be named <group>-<n>."
  }
  assert {
    condition = [for h in ["kafka-1", "kafka-2", "kafka-3"] : aws_instance.host[h].subnet_id] == [
      "subnet-0000000000000000a", "subnet-0000000000000000b", "subnet-0000000000000000c",
    ]
    error_message = "The kafka hosts must be spread over the subnets, one per zone."
  }
  assert {
    condition = alltrue([for h in aws_instance.host : (
      h.tags["lakefeed:cluster"] == "lf-test" && h.tags["lakefeed:group"] == "kafka" && startswith(h.tags["Name"], "lf-test-kafka-")
    )])
    error_message = "Every host needs the lakefeed:cluster, lakefeed:group and Name tags."
  }
  assert {
    condition     = aws_instance.host["kafka-1"].tags["lakefeed:ansible-groups"] == "kafka,collector" && aws_instance.host["kafka-2"].tags["lakefeed:ansible-groups"] == "kafka,archiver,shipper" && aws_instance.host["kafka-3"].tags["lakefeed:ansible-groups"] == "kafka"
    error_message = "services must add their Ansible groups to the hosts they name."
  }
}

run "hardened_hosts" {
  command = plan

  assert {
    condition     = alltrue([for h in aws_instance.host : one(h.metadata_options).http_tokens == "required" && one(h.metadata_options).http_put_response_hop_limit == 1])
    error_message = "IMDSv2 must be required on every host, with a hop limit of 1."
  }
  assert {
    condition     = alltrue([for h in aws_instance.host : one(h.root_block_device).encrypted && one(h.root_block_device).volume_type == "gp3"])
    error_message = "Root volumes must be encrypted gp3."
  }
  assert {
    condition     = alltrue([for v in aws_ebs_volume.data : v.encrypted && v.type == "gp3" && v.size == 100])
    error_message = "Data volumes must be encrypted gp3 of data_volume_gb."
  }
  assert {
    condition     = [for h in ["kafka-1", "kafka-2", "kafka-3"] : aws_ebs_volume.data[h].availability_zone] == ["us-east-1a", "us-east-1b", "us-east-1c"]
    error_message = "Each data volume must be in its host's zone."
  }
  assert {
    condition     = length(aws_volume_attachment.data) == 3 && alltrue([for a in aws_volume_attachment.data : a.device_name == "/dev/sdf"])
    error_message = "Each kafka host must get its data volume attached."
  }
  assert {
    condition     = strcontains(aws_instance.host["kafka-1"].user_data, "nvme-Amazon_Elastic_Block_Store_$serial") && strcontains(aws_instance.host["kafka-1"].user_data, "serial=vol0123456789abcdef0") && strcontains(aws_instance.host["kafka-1"].user_data, "mnt=/var/lib/kafka")
    error_message = "The user data must mount the host's own volume at /var/lib/kafka."
  }
  assert {
    condition     = alltrue([for h in aws_instance.host : h.ebs_optimized && h.associate_public_ip_address])
    error_message = "Hosts are EBS-optimized and get a public address by default."
  }
}

run "instance_profile_only_on_the_shipper" {
  command = plan

  assert {
    condition     = aws_instance.host["kafka-2"].iam_instance_profile == "lf-test-lake-writer"
    error_message = "The shipper's host must get the instance profile."
  }
  assert {
    condition     = !local.gets_profile["kafka-1"] && !local.gets_profile["kafka-3"]
    error_message = "Hosts that do not ship must not get the lake's credentials."
  }
}

run "pipeline_host_and_profile_everywhere" {
  command = plan

  variables {
    groups = {
      kafka    = { count = 5, instance_type = "m7i.large", data_volume_gb = 500, data_volume_throughput = 250 }
      pipeline = { count = 1, instance_type = "t3.medium", data_volume_gb = 50 }
    }
    services = {
      collector = ["pipeline-1"]
      archiver  = ["pipeline-1"]
      shipper   = ["pipeline-1"]
    }
    instance_profile_services = []
    associate_public_ip       = false
    tags                      = { team = "data" }
  }

  assert {
    condition     = length(aws_instance.host) == 6 && aws_instance.host["kafka-4"].subnet_id == "subnet-0000000000000000a" && aws_instance.host["kafka-5"].subnet_id == "subnet-0000000000000000b"
    error_message = "More hosts than zones wrap around the subnets."
  }
  assert {
    condition     = alltrue([for h in aws_instance.host : h.iam_instance_profile == "lf-test-lake-writer"])
    error_message = "instance_profile_services = [] gives the profile to every host."
  }
  assert {
    condition     = strcontains(aws_instance.host["pipeline-1"].user_data, "mnt=/var/spool/lakefeed") && aws_ebs_volume.data["kafka-1"].throughput == 250
    error_message = "The pipeline host's volume holds the spool; gp3 settings follow the group."
  }
  assert {
    condition     = alltrue([for h in aws_instance.host : h.associate_public_ip_address == false && h.tags["team"] == "data"])
    error_message = "associate_public_ip = false keeps hosts private; var.tags are merged."
  }
}

run "node_ids_follow_host_numbers" {
  command = plan

  variables {
    groups = {
      kafka    = { count = 11, instance_type = "t3.large", data_volume_gb = 100 }
      pipeline = { count = 1, instance_type = "t3.medium", data_volume_gb = 50 }
    }
  }

  assert {
    condition     = output.hosts["kafka-10"].node_id == 10 && output.hosts["kafka-2"].node_id == 2 && output.hosts["kafka-11"].node_id == 11
    error_message = "kafka-<n> must be node n, whatever the hosts' order as strings (kafka-10 sorts before kafka-2)."
  }
  assert {
    condition     = alltrue([for n in range(1, 12) : output.hosts["kafka-${n}"].node_id == n && aws_instance.host["kafka-${n}"].tags["lakefeed:node-id"] == tostring(n)])
    error_message = "Every broker must carry its node id in the output and in the lakefeed:node-id tag."
  }
  assert {
    condition     = output.hosts["pipeline-1"].node_id == null && !contains(keys(aws_instance.host["pipeline-1"].tags), "lakefeed:node-id")
    error_message = "Hosts outside the Kafka groups have no node id and no lakefeed:node-id tag."
  }
  assert {
    condition     = aws_ebs_volume.data["kafka-10"].tags["lakefeed:node-id"] == "10"
    error_message = "A broker's data volume (which holds its meta.properties) must carry the same node id."
  }
}

run "accepts_even_kafka_count" {
  # Combined mode: the kafka role makes an odd number of them voters (4 hosts: 3 and an
  # observer), so a cluster can grow by one broker.
  command = plan

  variables {
    groups = { kafka = { count = 4, instance_type = "t3.large", data_volume_gb = 100 } }
  }

  assert {
    condition     = length(aws_instance.host) == 4
    error_message = "Four Kafka hosts must be planned."
  }
}

run "rejects_even_dedicated_controllers" {
  command = plan

  variables {
    groups = {
      kafka            = { count = 3, instance_type = "t3.large", data_volume_gb = 100 }
      kafka_controller = { count = 2, instance_type = "t3.medium", data_volume_gb = 20 }
    }
  }

  expect_failures = [var.groups]
}

run "rejects_zero_hosts" {
  command = plan

  variables {
    groups = {
      kafka    = { count = 3, instance_type = "t3.large", data_volume_gb = 100 }
      pipeline = { count = 0, instance_type = "t3.medium" }
    }
  }

  expect_failures = [var.groups]
}

run "rejects_single_broker" {
  command = plan

  variables {
    groups   = { kafka = { count = 1, instance_type = "t3.large", data_volume_gb = 100 } }
    services = {}
  }

  expect_failures = [var.groups]
}

run "accepts_even_brokers_with_odd_dedicated_controllers" {
  command = plan

  variables {
    groups = {
      kafka            = { count = 4, instance_type = "t3.large", data_volume_gb = 100 }
      kafka_controller = { count = 3, instance_type = "t3.small", data_volume_gb = 10 }
    }
  }

  assert {
    condition     = length(aws_instance.host) == 7 && aws_instance.host["kafka-controller-2"].tags["lakefeed:group"] == "kafka_controller"
    error_message = "kafka_controller hosts are named kafka-controller-<n> and tagged with their group."
  }
  assert {
    condition     = [for n in range(1, 4) : output.hosts["kafka-controller-${n}"].node_id] == [9001, 9002, 9003] && aws_instance.host["kafka-controller-2"].tags["lakefeed:node-id"] == "9002"
    error_message = "kafka-controller-<n> must be node 9000 + n."
  }
  assert {
    condition     = length(distinct([for h in output.hosts : h.node_id])) == 7 && [for n in range(1, 5) : output.hosts["kafka-${n}"].node_id] == [1, 2, 3, 4]
    error_message = "Controllers' and brokers' node ids must not collide."
  }
}

run "rejects_kafka_without_data_volume" {
  command = plan

  variables {
    groups = { kafka = { count = 3, instance_type = "t3.large" } }
  }

  expect_failures = [var.groups]
}

run "rejects_service_on_unknown_host" {
  command = plan

  variables {
    services = {
      collector = ["kafka-4"]
      archiver  = ["kafka-2"]
      shipper   = ["kafka-2"]
    }
  }

  expect_failures = [var.services]
}

run "rejects_archiver_apart_from_shipper" {
  command = plan

  variables {
    services = {
      archiver = ["kafka-2"]
      shipper  = ["kafka-3"]
    }
  }

  expect_failures = [var.services]
}

run "rejects_bad_ssh_key" {
  command = plan

  variables {
    ssh_public_key = "-----BEGIN OPENSSH PRIVATE KEY-----"
  }

  expect_failures = [var.ssh_public_key]
}

run "rejects_two_subnets_in_one_zone" {
  command = plan

  variables {
    subnets = [
      { id = "subnet-0000000000000000a", availability_zone = "us-east-1a" },
      { id = "subnet-0000000000000000b", availability_zone = "us-east-1a" },
    ]
  }

  expect_failures = [var.subnets]
}
