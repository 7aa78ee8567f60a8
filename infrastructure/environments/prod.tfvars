# Production. No secrets here: the database password is generated and kept by RDS in
# Secrets Manager (manage_master_user_password).
environment = "prod"
region      = "eu-west-1"

vpc_cidr             = "10.50.0.0/16"
availability_zones   = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
private_subnet_cidrs = ["10.50.0.0/19", "10.50.32.0/19", "10.50.64.0/19"]
public_subnet_cidrs  = ["10.50.128.0/24", "10.50.129.0/24", "10.50.130.0/24"]
single_nat_gateway   = false

database_instance_class           = "db.r6g.large"
database_allocated_storage_gb     = 200
database_max_allocated_storage_gb = 2000
database_multi_az                 = true
database_backup_retention_days    = 35

backup_retention_days     = 400
backup_glacier_after_days = 30

batch_pools = {
  spot = {
    type           = "SPOT"
    instance_types = ["m6i.xlarge", "m6i.2xlarge", "m5.2xlarge", "c6i.2xlarge"]
    min_vcpus      = 0
    max_vcpus      = 512
    priority       = 10
  }
  large_memory = {
    type           = "EC2"
    instance_types = ["r6i.4xlarge", "r6i.8xlarge"]
    min_vcpus      = 0
    max_vcpus      = 128
    priority       = 20
  }
}

foreman_instance_type = "t3.medium"
log_retention_days    = 400

# The lake's second copy (cross-region replication, alarmed when it falls behind).
replica_region = "eu-central-1"

# The CI deploy assumes a role through GitHub OIDC: only this repository's release workflow,
# running in the GitHub environment named like this one, may assume it.
github_repository           = "refinery-platform/refinery"
create_github_oidc_provider = false # one provider per account: staging's
