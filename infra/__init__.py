"""Deployment descriptions derived from the code (CloudFormation fragments)."""
