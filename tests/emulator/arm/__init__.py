"""Local Azure Resource Manager emulator (resource groups, VNets/subnets, AKS managedClusters)."""

from .app import CLIENT_ID, CLIENT_SECRET, SUBSCRIPTION_ID, TENANT_ID, ArmEmulator, Settings, arm_fault_body

__all__ = ["ArmEmulator", "Settings", "arm_fault_body", "SUBSCRIPTION_ID", "TENANT_ID", "CLIENT_ID", "CLIENT_SECRET"]
