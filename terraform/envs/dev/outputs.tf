# `lakefeed up --env aws` turns these into inventories/aws/hosts.yml: keep their shape.

output "inventory" {
  description = "Hosts for Ansible: ssh_user, ssh_private_key_file (null: ssh's defaults), and hosts by name with address (what Ansible connects to, per ssh_address: the public IP where there is one, else private; or always private), private_ip, availability_zone, instance_id, groups (Ansible groups) and node_id (Kafka's node.id, null outside the Kafka groups)."
  value = {
    ssh_user             = var.ssh_user
    ssh_private_key_file = var.ssh_private_key_file
    hosts = {
      for name, h in module.cluster.hosts : name => {
        address           = var.ssh_address == "auto" && h.public_ip != null ? h.public_ip : h.private_ip
        private_ip        = h.private_ip
        availability_zone = h.availability_zone
        instance_id       = h.instance_id
        groups            = h.ansible_groups
        node_id           = h.node_id
      }
    }
  }
}

output "lake_bucket" {
  description = "Name of the lake bucket (shipper_s3_bucket)."
  value       = module.lake.bucket_name
}

output "lake_prefix" {
  description = "Key prefix of the lake (shipper_s3_prefix)."
  value       = module.lake.prefix
}

output "region" {
  description = "AWS region of the environment (the shipper's S3 region)."
  value       = var.region
}

output "catalog" {
  description = "Where to query the lake (docs/query.md): the Athena workgroup, the Glue database, per topic its deduplicated view and its raw lines table, and the IAM policy to attach to analysts."
  value = {
    workgroup          = module.catalog.workgroup
    database           = module.catalog.database
    tables             = module.catalog.tables
    results_location   = module.catalog.results_location
    analyst_policy_arn = module.catalog.analyst_policy_arn
  }
}
