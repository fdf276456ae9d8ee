locals {
  hosts = merge([
    for g in sort(keys(var.groups)) : {
      for i in range(var.groups[g].count) : "${replace(g, "_", "-")}-${i + 1}" => merge(var.groups[g], {
        group  = g
        subnet = var.subnets[i % length(var.subnets)]
        # Kafka's node.id, from the host's number, never from its place in a sorted list:
        # kafka-10 stays 10 when kafka-9 is added. Controllers count from 9001, clear of
        # the brokers (at most 50 per group).
        node_id = g == "kafka" ? i + 1 : g == "kafka_controller" ? 9000 + i + 1 : null
        mount_point = coalesce(
          var.groups[g].data_mount_point,
          startswith(g, "kafka") ? "/var/lib/kafka" : "/var/spool/lakefeed",
        )
      })
    }
  ]...)

  services_of    = { for h in keys(local.hosts) : h => sort([for s, hosts in var.services : s if contains(hosts, h)]) }
  ansible_groups = { for h, spec in local.hosts : h => concat([spec.group], local.services_of[h]) }
  gets_profile = {
    for h in keys(local.hosts) : h => var.instance_profile_name != null && (
      length(var.instance_profile_services) == 0 ||
      length(setintersection(toset(local.ansible_groups[h]), toset(var.instance_profile_services))) > 0
    )
  }
  data_hosts = { for h, spec in local.hosts : h => spec if spec.data_volume_gb > 0 }

  host_tags = {
    for h, spec in local.hosts : h => merge(var.tags, {
      Name                      = "${var.name}-${h}"
      "lakefeed:cluster"        = var.name
      "lakefeed:group"          = spec.group
      "lakefeed:host"           = h
      "lakefeed:ansible-groups" = join(",", local.ansible_groups[h])
    }, spec.node_id == null ? {} : { "lakefeed:node-id" = tostring(spec.node_id) })
  }
}

resource "aws_key_pair" "this" {
  key_name   = var.name
  public_key = trimspace(var.ssh_public_key)

  tags = merge(var.tags, { Name = var.name, "lakefeed:cluster" = var.name })
}

resource "aws_ebs_volume" "data" {
  for_each = local.data_hosts

  availability_zone = each.value.subnet.availability_zone
  size              = each.value.data_volume_gb
  type              = "gp3"
  iops              = each.value.data_volume_iops
  throughput        = each.value.data_volume_throughput
  encrypted         = true
  kms_key_id        = var.kms_key_id

  tags = merge(local.host_tags[each.key], {
    Name             = "${var.name}-${each.key}-data"
    "lakefeed:mount" = each.value.mount_point
  })
}

resource "aws_instance" "host" {
  for_each = local.hosts
  #checkov:skip=CKV_AWS_88:Ansible reaches the hosts over SSH, which the security group opens to admin_cidrs only; set associate_public_ip = false to keep them private behind a VPN or bastion.
  #checkov:skip=CKV_AWS_126:One-minute metrics are billed per instance; five-minute metrics are enough for a dev cluster, and var.detailed_monitoring turns them on.

  ami                         = var.ami_id
  instance_type               = each.value.instance_type
  subnet_id                   = each.value.subnet.id
  vpc_security_group_ids      = var.security_group_ids
  key_name                    = aws_key_pair.this.key_name
  associate_public_ip_address = var.associate_public_ip
  iam_instance_profile        = local.gets_profile[each.key] ? var.instance_profile_name : null
  ebs_optimized               = true
  monitoring                  = var.detailed_monitoring

  user_data = contains(keys(local.data_hosts), each.key) ? templatefile("${path.module}/templates/mount-data-volume.sh.tftpl", {
    host        = each.key
    volume_id   = aws_ebs_volume.data[each.key].id
    mount_point = each.value.mount_point
  }) : null

  metadata_options {
    http_endpoint = "enabled"
    http_tokens   = "required"
    # 1: only processes on the host itself reach the instance metadata, never a container
    # or a forwarded request one hop further.
    http_put_response_hop_limit = 1
    instance_metadata_tags      = "disabled"
  }

  root_block_device {
    volume_type           = "gp3"
    volume_size           = each.value.root_volume_gb
    encrypted             = true
    kms_key_id            = var.kms_key_id
    delete_on_termination = true
    tags                  = merge(local.host_tags[each.key], { Name = "${var.name}-${each.key}-root" })
  }

  tags = local.host_tags[each.key]

  lifecycle {
    # A newer AMI must not replace every broker in one apply: roll hosts one at a time
    # with `terraform apply -replace=...`. user_data runs once, at first boot.
    ignore_changes = [ami, user_data]
  }
}

resource "aws_volume_attachment" "data" {
  for_each = local.data_hosts

  device_name = "/dev/sdf"
  volume_id   = aws_ebs_volume.data[each.key].id
  instance_id = aws_instance.host[each.key].id
  # Stop the host before detaching, so the filesystem is unmounted cleanly.
  stop_instance_before_detaching = true
}
