"""A lifecycle node whose ``change_state`` service answers every request, the base of every lifecycle node here.

rclpy 7.1's ``LifecycleNode`` passes a transition requested by id straight to rcl; one that is not available in
the current state (activate while unconfigured, cleanup while active) raises ``RCLError`` ("Transition is not
registered") inside the service callback, and the exception ends the process (ros2/rclpy#1209, fixed upstream
later by ros2/rclpy#1319). launch_ros's autostart sends configure and activate back to back, so a configure that
failed (a bad checkpoint) killed the node at the following activate. Here such a request is answered
``success=false``, the refusal is logged with what the state allows, and the node stays where it was.
"""

from __future__ import annotations

from lifecycle_msgs.srv import ChangeState
from rclpy.impl.implementation_singleton import rclpy_implementation as _rclpy
from rclpy.lifecycle import LifecycleNode


class GuardedLifecycleNode(LifecycleNode):
    """``LifecycleNode`` whose change_state service refuses unavailable transitions instead of raising."""

    def __init__(self, node_name: str, **kwargs) -> None:
        super().__init__(node_name, **kwargs)
        service = getattr(self, "_service_change_state", None)  # absent without the communication interface
        if service is not None:
            self._rclpy_change_state = service.callback
            service.callback = self._change_state_cb

    def available_transitions(self) -> dict[int, str]:
        """The transitions the current state allows: {transition id: label}."""
        return {entry[0]: entry[1] for entry in self._state_machine.available_transitions}

    def _change_state_cb(self, request: ChangeState.Request, response: ChangeState.Response) -> ChangeState.Response:
        transition = request.transition
        available = self.available_transitions()
        known = transition.label in available.values() if transition.label else transition.id in available
        if not known:
            return self._refuse(response, repr(transition.label) if transition.label else f"id {transition.id}",
                                available)
        try:
            return self._rclpy_change_state(request, response)
        except _rclpy.RCLError as error:  # a state change raced this request: still an answer
            self.get_logger().warning(f"transition {transition.label or transition.id} refused: {error}")
            response.success = False
            return response

    def _refuse(self, response: ChangeState.Response, what: str, available: dict[int, str]) -> ChangeState.Response:
        state = self._state_machine.current_state[1]
        allowed = ", ".join(f"{label} ({tid})" for tid, label in sorted(available.items()))
        self.get_logger().warning(f"transition {what} refused: not available in state '{state}' "
                                  f"(available: {allowed})")
        response.success = False
        return response
