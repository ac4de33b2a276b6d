"""Text prompts through the tracker node: words -> Grounding DINO boxes -> prompt -> tracking, and lost
text-prompted objects looked for again with their phrase.

The detector is a small random-config Grounding DINO with a tokenizer built by the test (test/text_fixtures.py),
saved like a downloaded folder; with its thresholds at 0 it always finds boxes, at 1 never.
"""

import sys

import pytest
from ros_harness import RosProcess
from text_fixtures import make_tiny_grounding_dino

pytestmark = pytest.mark.ros


def test_text_prompt_tracks_the_detected_object(ros_node, tmp_path):
    from rcl_interfaces.srv import SetParameters
    from rclpy.parameter import Parameter
    from sensor_msgs.msg import Image
    from std_msgs.msg import Header

    from spgrasp_ros.data.synthetic import SynthConfig, generate_clip
    from spgrasp_ros.msg import GraspArray
    from spgrasp_ros.ros.image_messages import rgb_to_image
    from spgrasp_ros.ros.lifecycle_client import LifecycleClient
    from spgrasp_ros.srv import SetPrompt

    folder = make_tiny_grounding_dino(tmp_path / "gdino")
    process = RosProcess([sys.executable, "-m", "spgrasp_ros.nodes.tracker_node", "--ros-args", "-r", "__ns:=/txt",
                          "-p", f"text_model:={folder}", "-p", "text_box_threshold:=0.0", "-p", "text_threshold:=0.0",
                          "-p", "text_max_objects:=2", "-p", "device:=cpu", "-p", "image_reliability:=reliable",
                          "-p", "use_depth:=false"])
    try:
        node = ros_node.node
        arrays = []
        node.create_subscription(GraspArray, "/txt/grasp_poses", arrays.append, 10)
        images = node.create_publisher(Image, "/txt/image", 5)
        lifecycle = LifecycleClient(node, ros_node.executor, "/txt/spgrasp_tracker", timeout_s=120)
        assert lifecycle.configure().label == "inactive", process.output()
        lifecycle.activate()
        ros_node.spin_until(lambda: images.get_subscription_count() > 0, 30, "the image subscription")
        ros_node.spin_until(lambda: node.count_publishers("/txt/grasp_poses") > 0, 30, "the grasp publisher")
        frames = [f.load_image() for f in generate_clip(SynthConfig(frames=3), 100_555).to_sequence().frames]

        def publish(k: int) -> None:
            header = Header(frame_id="cam")
            header.stamp.sec = k + 1
            images.publish(rgb_to_image(frames[k], header))

        publish(0)
        ros_node.spin_for(0.5)
        prompts = node.create_client(SetPrompt, "/txt/set_prompt")
        response = ros_node.call(prompts, SetPrompt.Request(text="Red mug"), 60)
        assert response.success, response.message
        assert len(response.object_ids) == 2 and list(response.labels) == ["red mug", "red mug"]
        assert all(0.0 <= s <= 1.0 for s in response.scores) and response.scores[0] >= response.scores[1]
        for box in response.boxes:
            assert 0 <= box.x_min < box.x_max <= 160 and 0 <= box.y_min < box.y_max <= 120
        publish(1)
        ros_node.spin_until(lambda: any(a.header.stamp.sec == 2 for a in arrays), 60, "a GraspArray")
        array = next(a for a in arrays if a.header.stamp.sec == 2)
        assert [o.id for o in array.objects] == sorted(response.object_ids)

        parameters = node.create_client(SetParameters, "/txt/spgrasp_tracker/set_parameters")
        result = ros_node.call(parameters, SetParameters.Request(
            parameters=[Parameter("text_box_threshold", value=1.0).to_parameter_msg()]), 60)
        assert result.results[0].successful
        refused = ros_node.call(prompts, SetPrompt.Request(text="blue cup"), 60)
        assert not refused.success and "found nothing" in refused.message
        assert sorted(refused.tracked_ids) == sorted(response.object_ids), "tracking unchanged"

        # lost for 2 frames -> looked for again with "red mug" and re-seeded under the same ids
        result = ros_node.call(parameters, SetParameters.Request(parameters=[
            Parameter("text_box_threshold", value=0.0).to_parameter_msg(),
            Parameter("text_reacquire_after", value=2).to_parameter_msg(),
            Parameter("text_reacquire_every", value=2).to_parameter_msg()]), 60)
        assert all(r.successful for r in result.results)
        grey = frames[0] * 0 + 127  # nothing to see: the objects are lost
        for k in range(6):
            header = Header(frame_id="cam")
            header.stamp.sec = 10 + k
            images.publish(rgb_to_image(grey, header))
            ros_node.spin_until(lambda: any(a.header.stamp.sec == 10 + k for a in arrays), 60, "a GraspArray")
        grey_arrays = [next(a for a in arrays if a.header.stamp.sec == 10 + k) for k in range(6)]
        assert all(sorted(o.id for o in a.objects) == sorted(response.object_ids) for a in grey_arrays)
        history = [(o.frames_lost, o.frames_since_prompt) for a in grey_arrays for o in a.objects[:1]]
        restarted = [k for k, (_, since) in enumerate(history) if since == 0]
        assert restarted, history
        assert all(b - a >= 2 for a, b in zip(restarted, restarted[1:])), history  # at most every 2 frames
        assert all(history[k - 1][0] >= 2 for k in restarted if k > 0), history  # only after 2 frames lost
    finally:
        process.stop(timeout=20)
        sys.stdout.write(process.output())


def test_a_missing_text_model_fails_configure(ros_node, tmp_path):
    from spgrasp_ros.ros.lifecycle_client import LifecycleClient, LifecycleError

    process = RosProcess([sys.executable, "-m", "spgrasp_ros.nodes.tracker_node", "--ros-args", "-r", "__ns:=/txt2",
                          "-p", f"text_model:={tmp_path / 'no_such_model'}", "-p", "device:=cpu"])
    try:
        lifecycle = LifecycleClient(ros_node.node, ros_node.executor, "/txt2/spgrasp_tracker", timeout_s=120)
        with pytest.raises(LifecycleError, match="unconfigured"):
            lifecycle.configure()
        ros_node.spin_until(lambda: "no_such_model" in process.output(), 20, "the error naming the folder")
    finally:
        process.stop(timeout=20)
        sys.stdout.write(process.output())
