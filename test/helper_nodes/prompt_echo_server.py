"""Test helper process: a SetPrompt server applying the package's prompt rules to a tracked-id set.

usage: prompt_echo_server.py SERVICE WIDTH HEIGHT FRAME_ID   (WIDTH 0: no frame received yet)
It has no model: a box prompt uses its box, a click prompt reports the clicks' bounding box. Validation,
request parsing and response filling are the package's own (spgrasp_ros.prompts, spgrasp_ros.ros.conversions).
"""

import sys

import numpy as np
import rclpy
from std_msgs.msg import Header

from spgrasp_ros.prompts import PromptError
from spgrasp_ros.ros.conversions import fail_prompt_response, fill_prompt_response, prompt_from_request
from spgrasp_ros.ros.spin import run_node
from spgrasp_ros.srv import SetPrompt


class EchoServer:
    def __init__(self, node, service: str, image_size, frame_id: str) -> None:
        self.node = node
        self.image_size = image_size
        self.frame_id = frame_id
        self.tracked: list[int] = []
        self.next_id = 1
        node.create_service(SetPrompt, service, self.set_prompt_cb)

    def set_prompt_cb(self, request, response):
        try:
            prompt = prompt_from_request(request)
            prompt.validate(self.image_size, self.tracked)
            if prompt.text:
                raise PromptError("text prompts need the open-vocabulary detector, which this server lacks")
        except PromptError as error:
            return fail_prompt_response(response, str(error), self.tracked)
        tracked = [] if prompt.replaces_tracked_set else [i for i in self.tracked if i not in prompt.remove_ids]
        created = []
        for obj in prompt.objects():
            box = obj.box if obj.box is not None else np.concatenate([obj.points.min(0), obj.points.max(0)])
            created.append((self.next_id, obj, tuple(float(v) for v in box)))
            tracked.append(self.next_id)
            self.next_id += 1
        self.tracked = tracked
        header = Header(stamp=self.node.get_clock().now().to_msg(), frame_id=self.frame_id)
        message = "cleared" if prompt.is_clear else f"tracking {len(tracked)} object(s)"
        return fill_prompt_response(response, header, created, self.tracked, message)


def make_node(service: str, image_size, frame_id: str):
    node = rclpy.create_node("prompt_echo_server")
    EchoServer(node, service, image_size, frame_id)
    print("READY", flush=True)
    return node


def main() -> int:
    service, width, height, frame_id = sys.argv[1:5]
    image_size = None if int(width) == 0 else (int(width), int(height))
    return run_node(lambda: make_node(service, image_size, frame_id))


if __name__ == "__main__":
    sys.exit(main())
