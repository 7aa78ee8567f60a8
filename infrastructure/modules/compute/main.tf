data "aws_ssm_parameter" "ami" {
  count = var.create ? 1 : 0

  name = var.ami_ssm_parameter
}

resource "aws_instance" "this" {
  count = var.create ? 1 : 0

  ami                    = data.aws_ssm_parameter.ami[0].value
  instance_type          = var.instance_type
  subnet_id              = var.subnet_id
  vpc_security_group_ids = var.security_group_ids
  iam_instance_profile   = var.instance_profile_name
  user_data              = var.user_data
  monitoring             = true
  ebs_optimized          = true

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  root_block_device {
    volume_type = "gp3"
    volume_size = var.root_volume_gb
    encrypted   = true
    kms_key_id  = var.kms_key_arn
  }

  # A new AMI is picked up by replacing the host on purpose, not on every plan.
  lifecycle {
    ignore_changes = [ami, user_data]
  }

  tags = merge(var.tags, { Name = var.name })
}
