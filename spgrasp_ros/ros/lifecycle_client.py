"""Drive another node's lifecycle over its standard services (``<node>/get_state``, ``<node>/change_state``).

``ros2 lifecycle set`` and launch_ros do this on a full ROS install; this client does the same from Python
where neither exists (the demo, tests) or from a supervisor node.
"""

from __future__ import annotations

import time

from lifecycle_msgs.msg import State, Transition
from lifecycle_msgs.srv import ChangeState, GetAvailableTransitions, GetState
from rclpy.executors import Executor
from rclpy.node import Node

from spgrasp_ros.ros.service_calls import ServiceCaller, ServiceCallError

# The shutdown transition that leaves each primary state.
_SHUTDOWN_FROM = {
    State.PRIMARY_STATE_UNCONFIGURED: Transition.TRANSITION_UNCONFIGURED_SHUTDOWN,
    State.PRIMARY_STATE_INACTIVE: Transition.TRANSITION_INACTIVE_SHUTDOWN,
    State.PRIMARY_STATE_ACTIVE: Transition.TRANSITION_ACTIVE_SHUTDOWN,
}

# The primary state each transition reaches when it succeeds.
_GOAL_OF = {
    Transition.TRANSITION_CONFIGURE: State.PRIMARY_STATE_INACTIVE,
    Transition.TRANSITION_ACTIVATE: State.PRIMARY_STATE_ACTIVE,
    Transition.TRANSITION_DEACTIVATE: State.PRIMARY_STATE_INACTIVE,
    Transition.TRANSITION_CLEANUP: State.PRIMARY_STATE_UNCONFIGURED,
    **{shutdown: State.PRIMARY_STATE_FINALIZED for shutdown in _SHUTDOWN_FROM.values()},
}


class LifecycleError(RuntimeError):
    """A lifecycle service did not answer in time, or a transition was refused or failed."""


class LifecycleClient:
    """Calls the lifecycle services of the node ``target`` (a node name with namespace, e.g. ``/spgrasp_tracker``).

    ``node`` is the caller's node; ``executor`` spins it while waiting (it must not be spun elsewhere meanwhile).
    ``timeout_s``: seconds to wait for a service or an answer. ``resend_s``: queries (state, transitions) are
    sent again after this many seconds without an answer, and a transition whose answer is late is checked
    against the target's state, so a reply lost by the middleware (see ``service_calls``) does not hang.
    """

    def __init__(self, node: Node, executor: Executor, target: str, timeout_s: float = 10.0,
                 resend_s: float = 2.0) -> None:
        self._executor = executor
        self._caller = ServiceCaller(executor)
        self._target = target.rstrip("/")
        self._timeout_s = timeout_s
        self._resend_s = resend_s
        self._get_state = node.create_client(GetState, f"{self._target}/get_state")
        self._change_state = node.create_client(ChangeState, f"{self._target}/change_state")
        self._get_transitions = node.create_client(GetAvailableTransitions, f"{self._target}/get_available_transitions")

    def _query(self, client, request):
        try:
            return self._caller.call(client, request, self._timeout_s, resend_s=self._resend_s)
        except ServiceCallError as error:
            raise LifecycleError(str(error)) from error

    def _transition(self, transition_id: int) -> bool:
        """Send one change_state request; True when the transition succeeded, False when its callback failed."""
        try:
            self._caller.wait_ready(self._change_state, self._timeout_s)
        except ServiceCallError as error:
            raise LifecycleError(str(error)) from error
        deadline = time.monotonic() + self._timeout_s
        future = self._change_state.call_async(ChangeState.Request(transition=Transition(id=transition_id)))
        while True:
            wait = min(self._resend_s, deadline - time.monotonic())
            self._executor.spin_until_future_complete(future, timeout_sec=max(0.0, wait))
            if future.done():
                return future.result().success
            # no answer yet: the target may still be busy in the transition, or its reply was lost
            probe = self._caller.try_call(self._get_state, GetState.Request(), timeout_s=self._resend_s)
            if probe is not None and probe.current_state.id == _GOAL_OF.get(transition_id):
                self._change_state.remove_pending_request(future)
                return True
            if time.monotonic() >= deadline:
                self._change_state.remove_pending_request(future)
                state = "unknown" if probe is None else f"'{probe.current_state.label}'"
                raise LifecycleError(f"{self._change_state.srv_name} did not answer within {self._timeout_s:.1f} s "
                                     f"(state {state})")

    def get_state(self) -> State:
        """The target's current lifecycle state (``lifecycle_msgs/State``)."""
        return self._query(self._get_state, GetState.Request()).current_state

    def available_transitions(self) -> dict[int, str]:
        """Transitions valid from the target's current state: id -> label."""
        response = self._query(self._get_transitions, GetAvailableTransitions.Request())
        return {t.transition.id: t.transition.label for t in response.available_transitions}

    def change_state(self, transition_id: int) -> State:
        """Trigger one transition (``lifecycle_msgs/Transition.TRANSITION_*``); return the state reached.

        Raises LifecycleError when the transition is refused (not valid from the current state) or its
        callback failed (the target then reports the state it fell back to). Validity is checked here first:
        rclpy 7.1's lifecycle node raises inside its own change_state service for an invalid transition,
        which ends the target's process.
        """
        available = self.available_transitions()
        if transition_id not in available:
            state = self.get_state()
            raise LifecycleError(
                f"{self._target}: transition {transition_id} is refused from state '{state.label}' "
                f"(available: {', '.join(sorted(available.values())) or 'none'})"
            )
        if not self._transition(transition_id):
            state = self.get_state()
            raise LifecycleError(
                f"{self._target}: transition '{available[transition_id]}' failed; state is now '{state.label}'"
            )
        return self.get_state()

    def configure(self) -> State:
        """unconfigured -> inactive."""
        return self.change_state(Transition.TRANSITION_CONFIGURE)

    def activate(self) -> State:
        """inactive -> active."""
        return self.change_state(Transition.TRANSITION_ACTIVATE)

    def deactivate(self) -> State:
        """active -> inactive."""
        return self.change_state(Transition.TRANSITION_DEACTIVATE)

    def cleanup(self) -> State:
        """inactive -> unconfigured."""
        return self.change_state(Transition.TRANSITION_CLEANUP)

    def shutdown(self) -> State:
        """Any primary state -> finalized."""
        state = self.get_state()
        if state.id == State.PRIMARY_STATE_FINALIZED:
            return state
        if state.id not in _SHUTDOWN_FROM:
            raise LifecycleError(f"{self._target} is in transition state '{state.label}'; cannot shut down now")
        return self.change_state(_SHUTDOWN_FROM[state.id])
