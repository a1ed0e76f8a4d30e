"""Supervision trees: strategies, restart types, restart intensity and the snapshot operators read."""

from sfa.supervisors.child import NORMAL, SHUTDOWN, Child, ChildSpec, Exit, Intensity, Restart, Strategy, crashed
from sfa.supervisors.supervisor import Supervisor

__all__ = ["NORMAL", "SHUTDOWN", "Child", "ChildSpec", "Exit", "Intensity", "Restart", "Strategy", "Supervisor",
           "crashed"]
