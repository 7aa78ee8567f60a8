locals {
  pools = var.create ? var.pools : {}
}

# Every container instance: IMDSv2 only, one hop (containers get their job role from the ECS
# agent, never the instance role from the metadata service), and an encrypted scratch volume
# big enough for genomics intermediates.
resource "aws_launch_template" "this" {
  count = var.create ? 1 : 0

  name_prefix = "${var.name}-batch-"
  description = "Refinery Batch container instances"

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  block_device_mappings {
    device_name = "/dev/xvda"

    ebs {
      volume_type           = "gp3"
      volume_size           = var.scratch_volume_gb
      encrypted             = true
      kms_key_id            = var.kms_key_arn
      delete_on_termination = true
    }
  }

  tag_specifications {
    resource_type = "instance"
    tags          = var.tags
  }

  tags = var.tags
}

resource "aws_batch_compute_environment" "this" {
  for_each = local.pools

  compute_environment_name_prefix = "${var.name}-${replace(each.key, "_", "-")}-"
  type                            = "MANAGED"
  service_role                    = var.service_role_arn

  compute_resources {
    type                = each.value.type
    allocation_strategy = each.value.type == "SPOT" ? "SPOT_PRICE_CAPACITY_OPTIMIZED" : "BEST_FIT_PROGRESSIVE"
    instance_type       = each.value.instance_types
    min_vcpus           = each.value.min_vcpus
    max_vcpus           = each.value.max_vcpus
    instance_role       = var.instance_profile_arn
    subnets             = var.subnet_ids
    security_group_ids  = var.security_group_ids

    launch_template {
      launch_template_id = aws_launch_template.this[0].id
      version            = aws_launch_template.this[0].latest_version
    }

    tags = var.tags
  }

  # Queues keep pointing at the environment while a replacement is built.
  lifecycle {
    create_before_destroy = true
  }

  tags = var.tags
}

resource "aws_batch_job_queue" "this" {
  for_each = local.pools

  name     = "${var.name}-${replace(each.key, "_", "-")}"
  state    = "ENABLED"
  priority = each.value.priority

  compute_environment_order {
    order               = 1
    compute_environment = aws_batch_compute_environment.this[each.key].arn
  }

  tags = var.tags
}
