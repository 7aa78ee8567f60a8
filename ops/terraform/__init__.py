"""Terraform orchestration: init with the environment's backend, plan, guard, apply, outputs."""
