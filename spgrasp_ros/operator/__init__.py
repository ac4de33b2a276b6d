"""The operator page: a person points at objects in a browser and watches the tracker's grasps live.

``page_requests`` checks what a page sends, ``frame_packets`` packs what it is sent, ``web_server`` serves the
page and its WebSocket (aiohttp, in a thread of its own) and ``static/`` holds the page itself (plain HTML, JS
and CSS, no build step, nothing fetched from the internet). ROS-free; the ROS side is
``spgrasp_ros.nodes.operator_node`` (with ``ros.operator_calls`` and ``ros.operator_status``).
"""
