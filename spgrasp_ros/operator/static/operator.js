// The operator page: shows the camera with the tracker's masks and grasps, sends prompts and arm commands.
// Protocol: spgrasp_ros/operator/page_requests.py (what is sent) and frame_packets.py (what arrives).
"use strict";

const FRAME = 1, MASK = 2;
const STATES = ["tracking", "lost", "reacquired"];
const DRAG_MIN_PX = 5;  // a press that moves less is a click
const $ = (id) => document.getElementById(id);

// what the page holds; also read by the browser tests
const page = window.spgraspOperator = {
  connected: false, lastSent: null, frames: 0, masks: 0, latencies: [], replies: [], lastReply: null, state: null,
  header: null, objects: [],
};
let socket = null, nextId = 1, frameSeq = 0, shownSeq = 0;
let frameBitmap = null, maskBitmap = null, maskStamp = null;
let points = [], drag = null;

// --- connection ---------------------------------------------------------------------------------------------
function connect() {
  const token = new URLSearchParams(location.search).get("token");
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/ws${token ? "?token=" + encodeURIComponent(token) : ""}`);
  socket.binaryType = "arraybuffer";
  socket.onopen = () => { page.connected = true; badge($("connection"), "connected", "ok"); };
  socket.onclose = () => {
    page.connected = false;
    badge($("connection"), "disconnected: retrying", "bad");
    setTimeout(connect, 1000);
  };
  socket.onmessage = (event) => {
    if (typeof event.data === "string") onText(JSON.parse(event.data));
    else onPacket(event.data);
  };
}

function send(op, fields) {
  if (!socket || socket.readyState !== WebSocket.OPEN) {
    showReply({ ok: false, message: "not connected to the operator node" });
    return null;
  }
  const id = nextId++;
  page.lastSent = { id, op, ...fields };
  socket.send(JSON.stringify(page.lastSent));
  return id;
}

function onText(message) {
  if (message.type === "reply") {
    page.replies.push(message);
    page.lastReply = message;
    if (page.replies.length > 50) page.replies.shift();
    showReply(message);
  } else if (message.type === "state") {
    page.state = message;
    showState(message);
  }
}

function onPacket(buffer) {
  const view = new DataView(buffer);
  const kind = view.getUint8(0), length = view.getUint32(1);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 5, length)));
  const payload = new Uint8Array(buffer, 5 + length);
  if (kind === FRAME) {
    const seq = ++frameSeq;
    createImageBitmap(new Blob([payload], { type: "image/jpeg" })).then((bitmap) => {
      if (seq < shownSeq) { bitmap.close(); return; }  // a newer frame is shown already
      shownSeq = seq;
      if (frameBitmap) frameBitmap.close();
      frameBitmap = bitmap;
      page.header = header;
      page.frames += 1;
      draw();
      showObjects(header);
      if (header.grasps_at_ms) {
        page.latencies.push(Date.now() - header.grasps_at_ms);
        if (page.latencies.length > 300) page.latencies.shift();
      }
    });
  } else if (kind === MASK) {
    createImageBitmap(new Blob([payload], { type: "image/png" })).then((bitmap) => {
      if (maskBitmap) maskBitmap.close();
      maskBitmap = bitmap;
      maskStamp = header.stamp;
      page.masks += 1;
      draw();
    });
  }
}

// --- drawing ------------------------------------------------------------------------------------------------
function draw() {
  const canvas = $("camera"), header = page.header;
  if (!frameBitmap || !header) return;
  if (canvas.width !== frameBitmap.width || canvas.height !== frameBitmap.height) {
    canvas.width = frameBitmap.width;
    canvas.height = frameBitmap.height;
  }
  const g = canvas.getContext("2d");
  g.drawImage(frameBitmap, 0, 0);
  if (maskBitmap && maskStamp === header.stamp) g.drawImage(maskBitmap, 0, 0, canvas.width, canvas.height);
  const s = canvas.width / (header.width || canvas.width);
  const colours = Object.fromEntries(header.objects.map((o) => [o.id, o.colour]));
  const seen = new Set();
  for (const grasp of header.grasps) {
    const best = !seen.has(grasp.object_id);
    seen.add(grasp.object_id);
    drawGrasp(g, grasp, s, colours[grasp.object_id] || "#ffffff", best);
  }
  g.font = `${Math.max(12, Math.round(canvas.width / 45))}px system-ui, sans-serif`;
  for (const o of header.objects) {
    if (!o.visible) continue;
    g.fillStyle = o.colour;
    g.fillText(`id ${o.id}`, o.bbox[0] * s, Math.max(12, o.bbox[1] * s - 4));
  }
  for (const p of points) {
    g.strokeStyle = p.positive ? "#2fbf71" : "#e5484d";
    g.lineWidth = 3;
    const x = p.x * s, y = p.y * s, r = 6;
    g.beginPath();
    if (p.positive) { g.moveTo(x - r, y); g.lineTo(x + r, y); g.moveTo(x, y - r); g.lineTo(x, y + r); }
    else { g.moveTo(x - r, y - r); g.lineTo(x + r, y + r); g.moveTo(x + r, y - r); g.lineTo(x - r, y + r); }
    g.stroke();
  }
  if (drag && drag.moved) {
    g.setLineDash([6, 4]);
    g.strokeStyle = "#ffffff";
    g.lineWidth = 2;
    g.strokeRect(drag.x0 * s, drag.y0 * s, (drag.x1 - drag.x0) * s, (drag.y1 - drag.y0) * s);
    g.setLineDash([]);
  }
}

function drawGrasp(g, grasp, s, colour, best) {
  // the rectangle of spgrasp_ros/grasps/rectangles.py: width along the closing direction, jaws across it
  const ux = Math.cos(grasp.angle), uy = Math.sin(grasp.angle), vx = -uy, vy = ux;
  const hw = grasp.width / 2, hj = grasp.jaw / 2, cx = grasp.x, cy = grasp.y;
  const corner = (a, b) => [(cx + a * hw * ux + b * hj * vx) * s, (cy + a * hw * uy + b * hj * vy) * s];
  const [p0, p1, p2, p3] = [corner(-1, -1), corner(-1, 1), corner(1, 1), corner(1, -1)];
  g.globalAlpha = best ? 1.0 : 0.45;
  g.strokeStyle = colour;
  g.lineWidth = best ? 1.5 : 1;
  line(g, p1, p2); line(g, p3, p0);  // the opening edges
  g.lineWidth = best ? 4 : 2;
  line(g, p0, p1); line(g, p2, p3);  // the jaws
  g.globalAlpha = 1.0;
}

function line(g, a, b) { g.beginPath(); g.moveTo(a[0], a[1]); g.lineTo(b[0], b[1]); g.stroke(); }

// --- panels -------------------------------------------------------------------------------------------------
function badge(element, text, kind) { element.textContent = text; element.className = `badge ${kind || ""}`; }

function fmt(value, digits) { return value === null || value === undefined ? "–" : Number(value).toFixed(digits); }

function showObjects(header) {
  // rows are kept per id and only their texts change: a button under the pointer stays the same element
  page.objects = header.objects;
  $("frame-index").textContent = header.tracker ? header.frame_index : "–";
  const body = $("objects").tBodies[0], ids = new Set(header.objects.map((o) => String(o.id)));
  for (const row of [...body.rows]) if (!ids.has(row.dataset.objectId)) row.remove();
  for (const o of header.objects) {
    let row = body.querySelector(`tr[data-object-id="${o.id}"]`);
    if (!row) row = objectRow(body, o);
    const best = header.grasps.find((g) => g.object_id === o.id);
    const cells = row.cells;
    cells[1].textContent = o.visible ? STATES[o.state] || "visible" : `lost (${o.frames_lost})`;
    cells[1].className = o.visible ? "" : "lost";
    cells[2].textContent = fmt(o.presence, 2);
    cells[3].textContent = best
      ? `(${fmt(best.x, 0)}, ${fmt(best.y, 0)}) ${fmt(best.angle * 180 / Math.PI, 0)}° w ${fmt(best.width, 0)} s ${fmt(best.score, 2)}`
        + (best.source === "geometry" ? " (mask)" : "")
      : "–";
    cells[4].textContent = best && best.pose
      ? best.pose.position.map((v) => fmt(v, 3)).join(", ") + ` w ${fmt(best.pose.width_m, 3)}` : "no depth";
  }
  $("no-objects").hidden = header.objects.length > 0;
}

function objectRow(body, o) {
  const row = document.createElement("tr");
  row.dataset.objectId = o.id;
  const rows = [...body.rows], after = rows.find((r) => Number(r.dataset.objectId) > o.id);
  body.insertBefore(row, after || null);  // ordered by id
  const swatch = document.createElement("span");
  swatch.className = "swatch";
  swatch.style.background = o.colour;
  row.insertCell().append(swatch, String(o.id));
  for (let k = 0; k < 4; k++) row.insertCell();
  const remove = document.createElement("button");
  remove.textContent = "Remove";
  remove.className = "quiet remove";
  remove.onclick = () => send("remove", { object_id: o.id });
  row.insertCell().appendChild(remove);
  return row;
}

function showReply(reply) {
  const element = $("reply");
  let text = reply.message || (reply.ok ? "done" : "refused");
  if (reply.ok && reply.object_ids && reply.object_ids.length) {
    const made = reply.object_ids.map((id, k) => {
      const box = reply.boxes[k] ? ` box ${reply.boxes[k].map((v) => Math.round(v)).join(",")}` : "";
      return `${id} (${reply.labels[k] || "?"}${box})`;
    });
    text = `tracking new ids ${made.join("; ")}; now tracked: ${reply.tracked_ids.join(", ")}`;
  }
  element.textContent = (reply.ok ? "✓ " : "✗ ") + text;
  element.className = `reply ${reply.ok ? "ok" : "bad"}`;
}

function showState(state) {
  const diagnostics = state.tracker && state.tracker.diagnostics;
  if (diagnostics) {
    $("tracker-fps").textContent = diagnostics.fps || "–";
    $("tracker-latency").textContent = diagnostics.latency_ms || "–";
    badge($("tracker-health"), `tracker: ${diagnostics.level} ${diagnostics.message}`,
          diagnostics.level === "ok" ? "ok" : diagnostics.level === "warn" ? "warn" : "bad");
  } else {
    badge($("tracker-health"), state.tracker && state.tracker.ready ? "tracker: up" : "tracker: not running", "bad");
  }
  if (!state.active) badge($("connection"), "operator node inactive", "warn");
  else if (page.connected) badge($("connection"), "connected", "ok");
  const sorted = [...page.latencies].sort((a, b) => a - b);
  $("page-latency").textContent = sorted.length ? fmt(sorted[Math.floor(sorted.length / 2)], 0) : "–";
  showArm(state.arm);
}

function showArm(arm) {
  const running = arm && arm.available;
  $("arm-state").textContent = running ? `${arm.name}: ${arm.state}${arm.last_reply ? " — " + arm.last_reply : ""}`
    : "no arm bridge running";
  $("arm-enable").disabled = !running || arm.state === "active";
  $("arm-disable").disabled = !running || arm.state !== "active";
  const target = running && arm.target;
  let text = target ? `${target.commanding ? "sending" : "would send"}: grasp ${target.grasp.map((v) => fmt(v, 3)).join(", ")} m in ${target.frame_id}` : "no target";
  if (running && arm.last_command) text += `; last command ${fmt(arm.last_command.age_s, 1)} s ago`;
  $("arm-target").textContent = running ? text : "";
}

// --- pointing -----------------------------------------------------------------------------------------------
function imagePoint(event) {
  const canvas = $("camera"), rect = canvas.getBoundingClientRect(), header = page.header;
  const width = header ? header.width : canvas.width, height = header ? header.height : canvas.height;
  return { x: (event.clientX - rect.left) / rect.width * width, y: (event.clientY - rect.top) / rect.height * height };
}

function setupPointing() {
  const canvas = $("camera");
  canvas.addEventListener("contextmenu", (event) => event.preventDefault());
  canvas.addEventListener("pointerdown", (event) => {
    const p = imagePoint(event);
    drag = { x0: p.x, y0: p.y, x1: p.x, y1: p.y, moved: false, sx: event.clientX, sy: event.clientY,
             negative: event.shiftKey || event.button === 2 };
    canvas.setPointerCapture(event.pointerId);
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const p = imagePoint(event);
    drag.x1 = p.x; drag.y1 = p.y;
    if (Math.hypot(event.clientX - drag.sx, event.clientY - drag.sy) >= DRAG_MIN_PX) drag.moved = true;
    draw();
  });
  canvas.addEventListener("pointerup", () => {
    if (!drag) return;
    const d = drag;
    drag = null;
    if (d.moved) {
      const box = [Math.min(d.x0, d.x1), Math.min(d.y0, d.y1), Math.max(d.x0, d.x1), Math.max(d.y0, d.y1)];
      send("prompt", { boxes: [box], append: $("append").checked });
    } else {
      points.push({ x: d.x0, y: d.y0, positive: !d.negative, object_index: 0 });
      showPoints();
    }
    draw();
  });
}

function showPoints() {
  $("points-row").hidden = points.length === 0;
  const positive = points.filter((p) => p.positive).length;
  $("points-count").textContent = `${positive} on, ${points.length - positive} off the object`;
}

function setupControls() {
  $("confirm-points").onclick = () => {
    send("prompt", { points, append: $("append").checked });
    points = []; showPoints(); draw();
  };
  $("cancel-points").onclick = () => { points = []; showPoints(); draw(); };
  $("text-form").onsubmit = (event) => {
    event.preventDefault();
    const text = $("text").value.trim();
    if (text) send("prompt", { text, append: $("append").checked });
  };
  $("clear").onclick = () => send("clear", {});
  $("stop").onclick = () => send("stop", {});
  $("arm-enable").onclick = () => { $("arm-confirm").hidden = false; };
  $("arm-confirm-no").onclick = () => { $("arm-confirm").hidden = true; };
  $("arm-confirm-yes").onclick = () => { $("arm-confirm").hidden = true; send("arm", { enable: true, confirm: true }); };
  $("arm-disable").onclick = () => send("arm", { enable: false });
}

setupPointing();
setupControls();
connect();
