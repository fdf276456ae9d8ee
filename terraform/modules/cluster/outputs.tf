output "hosts" {
  description = "Every host by name: group, ansible_groups, node_id (Kafka's node.id: n for kafka-<n>, 9000 + n for kafka-controller-<n>, null on other groups' hosts; fixed by the name, never renumbered), instance_id, private_ip, public_ip (null without one), availability_zone, data_volume_id (null without one), data_mount_point."
  value = {
    for h, spec in local.hosts : h => {
      group             = spec.group
      ansible_groups    = local.ansible_groups[h]
      node_id           = spec.node_id
      instance_id       = aws_instance.host[h].id
      private_ip        = aws_instance.host[h].private_ip
      public_ip         = aws_instance.host[h].public_ip == "" ? null : aws_instance.host[h].public_ip
      availability_zone = aws_instance.host[h].availability_zone
      data_volume_id    = try(aws_ebs_volume.data[h].id, null)
      data_mount_point  = contains(keys(local.data_hosts), h) ? spec.mount_point : null
    }
  }
}

output "key_pair_name" {
  description = "Name of the EC2 key pair holding ssh_public_key."
  value       = aws_key_pair.this.key_name
}
