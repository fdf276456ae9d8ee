variable "name" {
  description = "Cluster name: the lakefeed:cluster tag and the prefix of every Name tag, e.g. \"lakefeed-dev\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,31}$", var.name))
    error_message = "name must be 2-32 characters: lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "groups" {
  description = <<-EOT
    Hosts by group: each group's count hosts are named <group>-1..<group>-N (underscores
    become hyphens) and tagged lakefeed:group=<group>, which is also their Ansible group.
    "kafka" is required: at least 3 hosts (replication factor 3). Without a
    "kafka_controller" group every kafka host is also a KRaft controller and a new
    cluster's voters are an odd number of them (4 hosts: 3 voters, 1 observer); with
    one, its count must be odd (all dedicated controllers vote). Kafka node
    ids follow the names and never change: kafka-<n> is node n, kafka-controller-<n> is
    node 9000 + n (tag lakefeed:node-id, output hosts[*].node_id). Hosts of a
    group with data_volume_gb > 0 get a separate encrypted gp3 volume mounted at
    data_mount_point (default /var/lib/kafka for kafka*, /var/spool/lakefeed otherwise).
    instance_type must be a current-generation, EBS-optimized type such as t3.large.
  EOT
  type = map(object({
    count                  = number
    instance_type          = string
    root_volume_gb         = optional(number, 20)
    data_volume_gb         = optional(number, 0)
    data_volume_iops       = optional(number, 3000)
    data_volume_throughput = optional(number, 125)
    data_mount_point       = optional(string)
  }))

  validation {
    condition     = alltrue([for g in keys(var.groups) : can(regex("^[a-z][a-z0-9_]{0,30}$", g))])
    error_message = "Group names must be 1-31 characters of lowercase letters, digits and '_', starting with a letter (they are Ansible group names)."
  }

  validation {
    condition     = alltrue([for g in values(var.groups) : g.count >= 1 && g.count <= 50 && floor(g.count) == g.count])
    error_message = "Every group's count must be a whole number from 1 to 50 (leave a group out instead of giving it 0 hosts)."
  }

  validation {
    condition     = contains(keys(var.groups), "kafka") && try(var.groups["kafka"].count >= 3, false)
    error_message = "groups must have a \"kafka\" group of at least 3 hosts (topics are replicated 3 times)."
  }

  validation {
    condition     = !contains(keys(var.groups), "kafka_controller") || try(var.groups["kafka_controller"].count % 2 == 1, false)
    error_message = "Dedicated KRaft controllers all vote: make the \"kafka_controller\" count odd (3 or 5)."
  }

  validation {
    condition     = alltrue([for g, spec in var.groups : spec.data_volume_gb >= 10 if startswith(g, "kafka")])
    error_message = "Kafka groups (\"kafka\", \"kafka_controller\") need a data volume: data_volume_gb of at least 10."
  }

  validation {
    condition = alltrue([for spec in values(var.groups) : (
      spec.root_volume_gb >= 8 && spec.root_volume_gb <= 1024 &&
      (spec.data_volume_gb == 0 || (spec.data_volume_gb >= 1 && spec.data_volume_gb <= 16384)) &&
      spec.data_volume_iops >= 3000 && spec.data_volume_iops <= 16000 &&
      spec.data_volume_throughput >= 125 && spec.data_volume_throughput <= 1000
    )])
    error_message = "root_volume_gb must be 8-1024; data_volume_gb 0 (none) or 1-16384; data_volume_iops 3000-16000 and data_volume_throughput 125-1000 (gp3 limits)."
  }

  validation {
    condition     = alltrue([for spec in values(var.groups) : can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", spec.instance_type))])
    error_message = "instance_type must be an EC2 type such as \"t3.large\" or \"m7i.xlarge\"."
  }

  validation {
    condition = alltrue([for spec in values(var.groups) : spec.data_mount_point == null || (
      can(regex("^/(var|srv|data|mnt|opt)(/[a-z0-9._-]+)+$", coalesce(spec.data_mount_point, "/")))
    )])
    error_message = "data_mount_point must be an absolute path below /var, /srv, /data, /mnt or /opt, such as \"/var/lib/kafka\"."
  }
}

variable "services" {
  description = <<-EOT
    More Ansible groups, placed on hosts by name, e.g. {collector = ["kafka-1"],
    archiver = ["kafka-2"], shipper = ["kafka-2"]}. Every host named must exist in groups;
    archiver and shipper must be on the same hosts (they share the spool).
  EOT
  type        = map(list(string))
  default     = {}

  validation {
    condition     = alltrue([for s, hosts in var.services : can(regex("^[a-z][a-z0-9_]{0,30}$", s)) && !contains(keys(var.groups), s) && length(hosts) > 0 && length(distinct(hosts)) == length(hosts)])
    error_message = "services keys must be Ansible group names that are not also host groups, each with a non-empty list of distinct host names."
  }

  validation {
    condition = alltrue(flatten([for hosts in values(var.services) : [for h in hosts : contains(flatten([
      for g, spec in var.groups : [for i in range(1, spec.count + 1) : "${replace(g, "_", "-")}-${i}"]
    ]), h)]]))
    error_message = "services may name only hosts that groups creates: <group>-<n> with n from 1 to the group's count, e.g. \"kafka-1\"."
  }

  validation {
    condition     = toset(lookup(var.services, "archiver", [])) == toset(lookup(var.services, "shipper", []))
    error_message = "archiver and shipper must be placed on the same hosts: the shipper uploads the archiver's spool."
  }
}

variable "subnets" {
  description = "Subnets to spread each group's hosts over, round-robin (host n of a group goes to subnet (n-1) mod len): id and availability_zone of each, in distinct zones."
  type = list(object({
    id                = string
    availability_zone = string
  }))

  validation {
    condition     = length(var.subnets) >= 1 && length(distinct([for s in var.subnets : s.availability_zone])) == length(var.subnets)
    error_message = "subnets must hold at least one subnet, each in a different availability zone."
  }
}

variable "security_group_ids" {
  description = "Security groups of every host (the security module's cluster group)."
  type        = list(string)

  validation {
    condition     = length(var.security_group_ids) >= 1
    error_message = "security_group_ids must hold at least one security group id."
  }
}

variable "ami_id" {
  description = "AMI of every host: Debian 12 (bookworm) or Ubuntu 24.04 amd64, with cloud-init."
  type        = string

  validation {
    condition     = can(regex("^ami-[0-9a-f]{8}([0-9a-f]{9})?$", var.ami_id))
    error_message = "ami_id must be an AMI id such as \"ami-0123456789abcdef0\"."
  }
}

variable "ssh_public_key" {
  description = "OpenSSH public key installed for the AMI's default user (admin on Debian), e.g. the contents of ~/.ssh/id_ed25519.pub."
  type        = string

  validation {
    condition     = can(regex("^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+=*( .*)?$", trimspace(var.ssh_public_key)))
    error_message = "ssh_public_key must be one OpenSSH public key line: ssh-ed25519, ssh-rsa or ecdsa-sha2-nistp256/384/521 followed by the base64 key."
  }
}

variable "associate_public_ip" {
  description = "Give each host a public IPv4 address (Ansible then connects over it, SSH limited to admin ranges). false: private addresses only, reached through a VPN, bastion or peering."
  type        = bool
  default     = true
}

variable "instance_profile_name" {
  description = "Instance profile (the iam module's) given to the hosts that carry one of instance_profile_services. null: no host gets a profile."
  type        = string
  default     = null
}

variable "instance_profile_services" {
  description = "Ansible groups whose hosts get instance_profile_name; [] gives it to every host. Default: only the shipper's hosts write the lake."
  type        = list(string)
  default     = ["shipper"]
}

variable "kms_key_id" {
  description = "ARN of a customer-managed KMS key for the root and data volumes. null: the account's aws/ebs key."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_id == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_id))
    error_message = "kms_key_id must be null or a KMS key ARN such as \"arn:aws:kms:us-east-1:111122223333:key/...\"."
  }
}

variable "detailed_monitoring" {
  description = "CloudWatch metrics every minute instead of every five (billed per instance)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource of the module."
  type        = map(string)
  default     = {}
}
