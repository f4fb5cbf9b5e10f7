"""The team layout: groups of PettingZoo agents as RLlib agents, their spaces and data."""
