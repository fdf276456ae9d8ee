# One group for every host of the cluster: members reach each other's Kafka listeners and
# metrics, admins reach SSH, and nothing else comes in.
resource "aws_security_group" "this" {
  #checkov:skip=CKV2_AWS_5:The caller attaches the group (envs/dev gives it to every instance through the cluster module); a module cannot attach its own output.
  # A prefix, not a fixed name: with create_before_destroy the replacement exists beside
  # the old group for a while, and two groups of a VPC cannot share a name.
  name_prefix = "${var.name}-"
  description = "lakefeed cluster: Kafka between members, SSH from admin ranges"
  vpc_id      = var.vpc_id

  ingress {
    description = "Kafka broker listener, from cluster members only"
    from_port   = var.kafka_ports.broker
    to_port     = var.kafka_ports.broker
    protocol    = "tcp"
    self        = true
  }

  ingress {
    description = "Kafka KRaft controller listener, from cluster members only"
    from_port   = var.kafka_ports.controller
    to_port     = var.kafka_ports.controller
    protocol    = "tcp"
    self        = true
  }

  ingress {
    description = "Kafka metrics (JMX exporter), from cluster members only: Prometheus runs on one"
    from_port   = var.kafka_ports.metrics
    to_port     = var.kafka_ports.metrics
    protocol    = "tcp"
    self        = true
  }

  ingress {
    description = "lakefeed daemons metrics and health, from cluster members only: Prometheus runs on one"
    from_port   = var.lakefeed_metrics_ports.first
    to_port     = var.lakefeed_metrics_ports.last
    protocol    = "tcp"
    self        = true
  }

  ingress {
    description = "Host metrics (node exporter), from cluster members only: Prometheus runs on one"
    from_port   = 9100
    to_port     = 9100
    protocol    = "tcp"
    self        = true
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
