"""Test helper process: serves a lifecycle node's services but withholds the first reply of each service.

usage: lossy_lifecycle_node.py NODE_NAME
It stands for what Fast DDS does when a server has not yet discovered a new client's response reader: the
request is handled (a transition really happens) but its reply never arrives. The services are those of a
lifecycle node (`~/get_state`, `~/get_available_transitions`, `~/change_state`) over a plain node with a
small state machine (configure, activate, deactivate, cleanup). Prints WITHHELD <service> for each lost reply.
"""

import sys
import time

import rclpy
from lifecycle_msgs.msg import State, Transition, TransitionDescription
from lifecycle_msgs.srv import ChangeState, GetAvailableTransitions, GetState
from rclpy.node import Node

LABELS = {State.PRIMARY_STATE_UNCONFIGURED: "unconfigured", State.PRIMARY_STATE_INACTIVE: "inactive",
          State.PRIMARY_STATE_ACTIVE: "active"}
# state -> {transition id: (label, goal state)}
MOVES = {
    State.PRIMARY_STATE_UNCONFIGURED: {Transition.TRANSITION_CONFIGURE: ("configure", State.PRIMARY_STATE_INACTIVE)},
    State.PRIMARY_STATE_INACTIVE: {Transition.TRANSITION_ACTIVATE: ("activate", State.PRIMARY_STATE_ACTIVE),
                                   Transition.TRANSITION_CLEANUP: ("cleanup", State.PRIMARY_STATE_UNCONFIGURED)},
    State.PRIMARY_STATE_ACTIVE: {Transition.TRANSITION_DEACTIVATE: ("deactivate", State.PRIMARY_STATE_INACTIVE)},
}


class LossyLifecycleServer(Node):
    """Not spun by an executor: ``poll`` takes requests from the service handles itself, so it can leave a
    request unanswered (a coroutine callback that never returns would stall rclpy's executor instead)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.state = State.PRIMARY_STATE_UNCONFIGURED
        self.answered: set[str] = set()
        self.handlers = {
            self.create_service(GetState, "~/get_state", lambda *_: None): self.get_state,
            self.create_service(GetAvailableTransitions, "~/get_available_transitions", lambda *_: None):
                self.transitions,
            self.create_service(ChangeState, "~/change_state", lambda *_: None): self.change_state,
        }

    def poll(self) -> None:
        """Handle every waiting request; withhold the first reply of each service."""
        for service, handler in self.handlers.items():
            with service.handle:
                request, header = service.handle.service_take_request(service.srv_type.Request)
            if header is None:
                continue
            response = handler(request, service.srv_type.Response())
            name = service.srv_name.rsplit("/", 1)[-1]
            if name not in self.answered:
                self.answered.add(name)
                print(f"WITHHELD {name}", flush=True)
                continue
            service.send_response(response, header)

    def get_state(self, request, response):
        response.current_state = State(id=self.state, label=LABELS[self.state])
        return response

    def transitions(self, request, response):
        response.available_transitions = [TransitionDescription(transition=Transition(id=i, label=label))
                                          for i, (label, _) in MOVES[self.state].items()]
        return response

    def change_state(self, request, response):
        move = MOVES[self.state].get(request.transition.id)
        if move is not None:
            self.state = move[1]
        response.success = move is not None
        return response


def main() -> None:
    rclpy.init()
    node = LossyLifecycleServer(sys.argv[1])
    try:
        while rclpy.ok():
            node.poll()
            time.sleep(0.01)
    except KeyboardInterrupt:
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
