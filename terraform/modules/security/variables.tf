variable "name" {
  description = "Name tag of the security group and the start of its name, which is \"<name>-\" and a unique suffix Terraform adds, so that a replacement can exist beside the old group; e.g. \"lakefeed-dev-cluster\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,62}$", var.name))
    error_message = "name must be 2-63 characters: lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "vpc_id" {
  description = "VPC the security group belongs to."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]{8,17}$", var.vpc_id))
    error_message = "vpc_id must be a VPC id such as \"vpc-0abc12345def67890\"."
  }
}

variable "admin_cidrs" {
  description = "IPv4 ranges allowed to reach the hosts over SSH (port 22): your office, VPN or the machine that runs Ansible, e.g. [\"203.0.113.7/32\"]."
  type        = list(string)

  validation {
    condition     = length(var.admin_cidrs) >= 1 && alltrue([for c in var.admin_cidrs : can(cidrhost(c, 0)) && can(regex("^[0-9.]+/[0-9]+$", c))])
    error_message = "admin_cidrs must hold at least one IPv4 CIDR such as \"203.0.113.7/32\"."
  }

  validation {
    condition     = alltrue([for c in var.admin_cidrs : try(tonumber(split("/", c)[1]) >= 8, true)])
    error_message = "admin_cidrs must not open SSH to the internet: each range must be /8 or narrower (0.0.0.0/0 is refused)."
  }
}

variable "kafka_ports" {
  description = "Kafka's ports, reachable only from members of this security group: the client/broker listener, the KRaft controller listener, and the JMX exporter's metrics (the kafka role's kafka_jmx_exporter_port)."
  type = object({
    broker     = optional(number, 9092)
    controller = optional(number, 9093)
    metrics    = optional(number, 7071)
  })
  default = {}

  validation {
    condition = alltrue([
      for p in [var.kafka_ports.broker, var.kafka_ports.controller, var.kafka_ports.metrics] : p >= 1024 && p <= 65535 && floor(p) == p
    ]) && length(distinct([var.kafka_ports.broker, var.kafka_ports.controller, var.kafka_ports.metrics])) == 3
    error_message = "kafka_ports.broker, kafka_ports.controller and kafka_ports.metrics must be three different ports from 1024 to 65535."
  }
}

variable "lakefeed_metrics_ports" {
  description = "The lakefeed daemons' /metrics and /healthz ports (collector instances from 9101 up, the archiver's 9102, the shipper's 9103), reachable only from members of this security group, where Prometheus runs."
  type = object({
    first = optional(number, 9101)
    last  = optional(number, 9120)
  })
  default = {}

  validation {
    condition     = var.lakefeed_metrics_ports.first >= 1024 && var.lakefeed_metrics_ports.last <= 65535 && var.lakefeed_metrics_ports.first <= var.lakefeed_metrics_ports.last
    error_message = "lakefeed_metrics_ports must be a range of ports from 1024 to 65535, first <= last."
  }
}

variable "tags" {
  description = "Tags added to every resource of the module."
  type        = map(string)
  default     = {}
}
