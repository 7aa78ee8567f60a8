# The null-provider twin of stacks/aws: the same module names and outputs, with null
# resources in place of AWS ones. It exercises Refinery's Terraform orchestration (remote
# state, locking, plan/guard/apply, outputs) where no AWS provider can run.

locals {
  prefix              = "${var.name}-${var.environment}"
  database_identifier = coalesce(var.database_identifier, "${local.prefix}-db")
  batch_pools         = ["spot", "large_memory"]
}

module "network" {
  source = "./modules/stand_in"

  triggers = { cidr = var.vpc_cidr }
}

# The way in, as module.network's aws_ec2_instance_connect_endpoint on AWS: here the stand-in
# ProxyCommand (ops/sandbox/open_tunnel.py) plays the endpoint.
module "instance_connect_endpoint" {
  source = "./modules/stand_in"

  triggers = { foreman = coalesce(var.foreman_address, "foreman") }
}

module "database" {
  source = "./modules/stand_in"

  triggers = {
    identifier = local.database_identifier
    protected  = "true"
  }
}

module "lake_bucket" {
  source = "./modules/stand_in"

  triggers = {
    bucket    = "${local.prefix}-lake"
    protected = "true"
  }
}

module "backup_bucket" {
  source = "./modules/stand_in"

  triggers = {
    bucket    = "${local.prefix}-backups"
    protected = "true"
  }
}

module "lock_table" {
  source = "./modules/stand_in"

  triggers = {
    name      = "${local.prefix}-locks"
    protected = "true"
  }
}

module "logging" {
  source = "./modules/stand_in"

  triggers = { name = "/${var.name}/${var.environment}" }
}

module "ecr" {
  source = "./modules/stand_in"

  triggers = { repositories = join(",", var.ecr_repositories) }
}

module "batch" {
  source = "./modules/stand_in"

  triggers = { pools = join(",", local.batch_pools) }
}

module "foreman" {
  source = "./modules/stand_in"

  triggers = { name = "${local.prefix}-foreman" }
}
