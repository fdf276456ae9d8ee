# One group for every host of the cluster: members reach each other's Kafka listeners and
# metrics, admins reach SSH, and nothing else comes in.
locals {
  # Rule description => [first port, last port].
  members_only = {
    "Kafka broker listener"                       = [var.kafka_ports.broker, var.kafka_ports.broker]
    "Kafka KRaft controller listener"             = [var.kafka_ports.controller, var.kafka_ports.controller]
    "Kafka metrics (JMX exporter) for Prometheus" = [var.kafka_ports.metrics, var.kafka_ports.metrics]
    "lakefeed daemons metrics for Prometheus"     = [var.lakefeed_metrics_ports.first, var.lakefeed_metrics_ports.last]
    "Host metrics (node exporter) for Prometheus" = [9100, 9100]
  }
}

resource "aws_security_group" "this" {
  #checkov:skip=CKV2_AWS_5:The caller attaches the group (envs/dev gives it to every instance through the cluster module); a module cannot attach its own output.
  # A prefix, not a fixed name: with create_before_destroy the replacement exists beside
  # the old group for a while, and two groups of a VPC cannot share a name.
  name_prefix = "${var.name}-"
  description = "lakefeed cluster: Kafka between members, SSH from admin ranges"
  vpc_id      = var.vpc_id

  # Cluster members only (the group itself): Kafka's listeners and what Prometheus, on
  # one of the members, scrapes.
  dynamic "ingress" {
    for_each = local.members_only
    content {
      description = "${ingress.key}, from cluster members only"
      from_port   = ingress.value[0]
      to_port     = ingress.value[1]
      protocol    = "tcp"
      self        = true
    }
  }

  ingress {
    description = "SSH from admin ranges (Ansible)"
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = var.admin_cidrs
  }

  #checkov:skip=CKV_AWS_382:Hosts download Debian packages and the Kafka release, call the collectors' source APIs (X, any HTTP API) and S3: destinations that have no fixed address range. Narrow egress needs an egress proxy, which this cluster does not run.
  egress {
    description = "Any destination: package mirrors, source APIs, S3"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }

  tags = merge(var.tags, { Name = var.name })

  lifecycle {
    # The hosts hold a reference to the group: make the new one before dropping the old.
    create_before_destroy = true
  }
}
