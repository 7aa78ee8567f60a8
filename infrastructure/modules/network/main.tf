locals {
  create      = var.create
  zone_count  = length(var.availability_zones)
  nat_count   = local.create && var.enable_nat_gateway ? (var.single_nat_gateway ? 1 : local.zone_count) : 0
  flow_log_on = local.create && var.enable_flow_log
  eice_on     = local.create && var.enable_instance_connect_endpoint
}

resource "aws_vpc" "this" {
  count = local.create ? 1 : 0

  cidr_block           = var.cidr
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = merge(var.tags, { Name = var.name })
}

# The default security group allows nothing, so nothing lands in it by accident.
resource "aws_default_security_group" "this" {
  count = local.create ? 1 : 0

  vpc_id = aws_vpc.this[0].id

  tags = merge(var.tags, { Name = "${var.name}-default-deny" })
}

resource "aws_subnet" "private" {
  count = local.create ? local.zone_count : 0

  vpc_id            = aws_vpc.this[0].id
  cidr_block        = var.private_subnet_cidrs[count.index]
  availability_zone = var.availability_zones[count.index]

  tags = merge(var.tags, { Name = "${var.name}-private-${var.availability_zones[count.index]}", tier = "private" })
}

resource "aws_subnet" "public" {
  count = local.create ? local.zone_count : 0

  vpc_id                  = aws_vpc.this[0].id
  cidr_block              = var.public_subnet_cidrs[count.index]
  availability_zone       = var.availability_zones[count.index]
  map_public_ip_on_launch = false

  tags = merge(var.tags, { Name = "${var.name}-public-${var.availability_zones[count.index]}", tier = "public" })
}

resource "aws_internet_gateway" "this" {
  count = local.create ? 1 : 0

  vpc_id = aws_vpc.this[0].id

  tags = merge(var.tags, { Name = var.name })
}

resource "aws_eip" "nat" {
  count = local.nat_count

  domain = "vpc"

  tags = merge(var.tags, { Name = "${var.name}-nat-${count.index}" })
}

resource "aws_nat_gateway" "this" {
  count = local.nat_count

  allocation_id = aws_eip.nat[count.index].id
  subnet_id     = aws_subnet.public[count.index].id

  tags = merge(var.tags, { Name = "${var.name}-nat-${count.index}" })

  depends_on = [aws_internet_gateway.this]
}

resource "aws_route_table" "public" {
  count = local.create ? 1 : 0

  vpc_id = aws_vpc.this[0].id

  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.this[0].id
  }

  tags = merge(var.tags, { Name = "${var.name}-public" })
}

resource "aws_route_table_association" "public" {
  count = local.create ? local.zone_count : 0

  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public[0].id
}

resource "aws_route_table" "private" {
  count = local.create ? local.zone_count : 0

  vpc_id = aws_vpc.this[0].id

  dynamic "route" {
    for_each = local.nat_count > 0 ? [1] : []

    content {
      cidr_block     = "0.0.0.0/0"
      nat_gateway_id = aws_nat_gateway.this[var.single_nat_gateway ? 0 : count.index].id
    }
  }

  tags = merge(var.tags, { Name = "${var.name}-private-${var.availability_zones[count.index]}" })
}

resource "aws_route_table_association" "private" {
  count = local.create ? local.zone_count : 0

  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private[count.index].id
}

# S3 traffic (the lake, the backups) stays on the AWS network and costs no NAT data.
resource "aws_vpc_endpoint" "s3" {
  count = local.create ? 1 : 0

  vpc_id            = aws_vpc.this[0].id
  service_name      = "com.amazonaws.${data.aws_region.current.name}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = aws_route_table.private[*].id

  tags = merge(var.tags, { Name = "${var.name}-s3" })
}

data "aws_region" "current" {}

resource "aws_security_group" "workers" {
  # checkov:skip=CKV2_AWS_5:attached outside this module (batch, compute, database modules take its ID)
  count = local.create ? 1 : 0

  name        = "${var.name}-workers"
  description = "Batch workers: no inbound traffic, outbound to the database, AWS APIs and public archives"
  vpc_id      = aws_vpc.this[0].id

  egress {
    description = "HTTPS and archive downloads"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"] # checkov:skip=CKV_AWS_382:workers download from public archives (ENA/SRA) on many ports
  }

  tags = merge(var.tags, { Name = "${var.name}-workers" })
}

resource "aws_security_group" "foreman" {
  # checkov:skip=CKV2_AWS_5:attached outside this module (batch, compute, database modules take its ID)
  count = local.create ? 1 : 0

  name        = "${var.name}-foreman"
  description = "Foreman host: SSH from the Instance Connect Endpoint (and listed CIDRs), outbound to AWS APIs and the database"
  vpc_id      = aws_vpc.this[0].id

  # The way in (common/tunnel.py): SSH arrives from the Instance Connect Endpoint, whose
  # tunnel IAM authorises (ec2-instance-connect:OpenTunnel); no port is open to the internet.
  dynamic "ingress" {
    for_each = local.eice_on ? [1] : []

    content {
      description     = "SSH tunnelled through the EC2 Instance Connect Endpoint"
      from_port       = 22
      to_port         = 22
      protocol        = "tcp"
      security_groups = [aws_security_group.instance_connect[0].id]
    }
  }

  # The documented alternative: a bastion or a VPN with explicit CIDRs (empty: none).
  dynamic "ingress" {
    for_each = length(var.ssh_ingress_cidrs) > 0 ? [1] : []

    content {
      description = "SSH for runbooks"
      from_port   = 22
      to_port     = 22
      protocol    = "tcp"
      cidr_blocks = var.ssh_ingress_cidrs
    }
  }

  egress {
    description = "AWS APIs, package mirrors, the database"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"] # checkov:skip=CKV_AWS_382:the foreman calls AWS APIs whose addresses are not fixed
  }

  tags = merge(var.tags, { Name = "${var.name}-foreman" })
}

# The EC2 Instance Connect Endpoint: the one way in to the private side. `aws
# ec2-instance-connect open-tunnel` (an operator's or the CI deploy's ssh ProxyCommand) asks
# it, with IAM credentials, for a TCP stream to port 22 of the foreman host.
resource "aws_security_group" "instance_connect" {
  count = local.eice_on ? 1 : 0

  name        = "${var.name}-instance-connect"
  description = "EC2 Instance Connect Endpoint: no inbound, SSH out to the foreman host only"
  vpc_id      = aws_vpc.this[0].id

  tags = merge(var.tags, { Name = "${var.name}-instance-connect" })
}

# A separate rule: the two groups refer to each other.
resource "aws_vpc_security_group_egress_rule" "instance_connect_ssh" {
  count = local.eice_on ? 1 : 0

  security_group_id            = aws_security_group.instance_connect[0].id
  description                  = "SSH to the foreman host"
  ip_protocol                  = "tcp"
  from_port                    = 22
  to_port                      = 22
  referenced_security_group_id = aws_security_group.foreman[0].id
}

resource "aws_ec2_instance_connect_endpoint" "this" {
  count = local.eice_on ? 1 : 0

  subnet_id          = aws_subnet.private[0].id
  security_group_ids = [aws_security_group.instance_connect[0].id]
  # The foreman's security group sees the endpoint's own address, which it allows above.
  preserve_client_ip = false

  tags = merge(var.tags, { Name = "${var.name}-way-in" })
}

resource "aws_security_group" "database" {
  # checkov:skip=CKV2_AWS_5:attached outside this module (batch, compute, database modules take its ID)
  count = local.create ? 1 : 0

  name        = "${var.name}-database"
  description = "PostgreSQL: reachable from the foreman and the workers only"
  vpc_id      = aws_vpc.this[0].id

  ingress {
    description     = "PostgreSQL from foreman and workers"
    from_port       = 5432
    to_port         = 5432
    protocol        = "tcp"
    security_groups = [aws_security_group.foreman[0].id, aws_security_group.workers[0].id]
  }

  tags = merge(var.tags, { Name = "${var.name}-database" })
}

resource "aws_cloudwatch_log_group" "flow_log" {
  count = local.flow_log_on ? 1 : 0

  name              = "/${var.name}/vpc-flow-log"
  retention_in_days = var.flow_log_retention_days
  kms_key_id        = var.kms_key_arn

  tags = var.tags
}

data "aws_iam_policy_document" "flow_log_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["vpc-flow-logs.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "flow_log_write" {
  count = local.flow_log_on ? 1 : 0

  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = ["${aws_cloudwatch_log_group.flow_log[0].arn}:*"]
  }
}

resource "aws_iam_role" "flow_log" {
  count = local.flow_log_on ? 1 : 0

  name               = "${var.name}-vpc-flow-log"
  assume_role_policy = data.aws_iam_policy_document.flow_log_assume.json

  tags = var.tags
}

resource "aws_iam_role_policy" "flow_log" {
  count = local.flow_log_on ? 1 : 0

  name   = "write-flow-log"
  role   = aws_iam_role.flow_log[0].id
  policy = data.aws_iam_policy_document.flow_log_write[0].json
}

resource "aws_flow_log" "this" {
  count = local.flow_log_on ? 1 : 0

  vpc_id          = aws_vpc.this[0].id
  traffic_type    = "ALL"
  iam_role_arn    = aws_iam_role.flow_log[0].arn
  log_destination = aws_cloudwatch_log_group.flow_log[0].arn

  tags = var.tags
}
