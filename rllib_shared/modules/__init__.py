"""BiCNet RLModules (new API stack) for RLlib's algorithms."""

from rllib_shared.modules.bicnet_appo import BiCNetAPPOTorchRLModule
from rllib_shared.modules.bicnet_ppo import BiCNetPPOTorchRLModule

MODULE_FOR_ALGO = {
    "PPO": BiCNetPPOTorchRLModule,
    "IMPALA": BiCNetPPOTorchRLModule,
    "APPO": BiCNetAPPOTorchRLModule,
}
"""Which BiCNet module each supported RLlib algorithm trains."""

__all__ = ["BiCNetAPPOTorchRLModule", "BiCNetPPOTorchRLModule", "MODULE_FOR_ALGO"]
