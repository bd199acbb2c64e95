// rnnviz's graph view: the server-side dot SVG, clickable, zoomable and pannable, with hover showing
// what a node depends on and what depends on it. Everything but a click (which selects a node and
// reruns the page once) happens here, in the browser, with no round trip.
//
// data: {svg, selected, selectable, focus, minScale, whole, scale, maxHeight, nav}
//   svg: the slimmed SVG; every node is <g id="node id" class="node ...">, every edge <g id="tail->head">
//   nav: node id -> {left, right, up, down}: where the arrow keys lead (from rnnviz.drawing.kernel.navigation)
//   focus: a step to bring into view; minScale: the smallest zoom that fits keeps (labels stay readable);
//   whole: fit the drawing's height in the box too (still no smaller than minScale)

const PX_PER_PT = 4 / 3;
const ZOOM_STEP = 1.25;
const KEYS = { ArrowLeft: "left", ArrowRight: "right", ArrowUp: "up", ArrowDown: "down" };

function graphOf(svg) {
  // parents and children of every node, from the edges' ids "tail->head" (invisible edges have none)
  const up = new Map(), down = new Map();
  for (const e of svg.querySelectorAll("g.edge[id]")) {
    const [tail, head] = e.id.split("->");
    if (!tail || !head) continue;
    (up.get(head) || up.set(head, []).get(head)).push(tail);
    (down.get(tail) || down.set(tail, []).get(tail)).push(head);
  }
  return { up, down };
}

function reach(start, next) {
  const seen = new Set([start]), todo = [start];
  while (todo.length) {
    for (const n of next.get(todo.pop()) || []) {
      if (!seen.has(n)) {
        seen.add(n);
        todo.push(n);
      }
    }
  }
  return seen;
}

function setup(view) {
  // listeners are attached once per mounted view; they read the latest data from `view.state`
  const { box, tools, root } = view;
  const st = view.state;

  const zoomTo = (z, cx, cy) => {
    // keep the drawing's point under (cx, cy) (box coordinates) where it is
    const svg = box.querySelector("svg");
    if (!svg || !st.natural) return;
    z = Math.min(Math.max(z, 0.05), 8);
    const old = st.zoom;
    const px = (box.scrollLeft + cx) / old, py = (box.scrollTop + cy) / old;
    st.zoom = z;
    size(view);
    box.scrollLeft = px * z - cx;
    box.scrollTop = py * z - cy;
  };
  const centre = () => [box.clientWidth / 2, box.clientHeight / 2];
  tools.querySelector(".zoom-in").addEventListener("click", () => { st.userZoom = true; zoomTo(st.zoom * ZOOM_STEP, ...centre()); });
  tools.querySelector(".zoom-out").addEventListener("click", () => { st.userZoom = true; zoomTo(st.zoom / ZOOM_STEP, ...centre()); });
  tools.querySelector(".zoom-fit").addEventListener("click", () => { st.userZoom = false; fit(view); box.scrollLeft = box.scrollTop = 0; });
  tools.querySelector(".zoom-whole").addEventListener("click", () => {
    st.userZoom = true;
    st.zoom = Math.min(wholeZoom(view, box.clientWidth), st.scale);
    size(view);
  });

  box.addEventListener("wheel", (ev) => {
    if (!(ev.ctrlKey || ev.metaKey)) return; // a plain wheel scrolls the page or the box as usual; pinch is ctrl+wheel
    ev.preventDefault();
    const r = box.getBoundingClientRect();
    st.userZoom = true;
    zoomTo(st.zoom * Math.exp(-ev.deltaY * 0.002), ev.clientX - r.left, ev.clientY - r.top);
  }, { passive: false });

  let drag = null;
  box.addEventListener("pointerdown", (ev) => {
    if (ev.button !== 0) return;
    drag = { x: ev.clientX, y: ev.clientY, left: box.scrollLeft, top: box.scrollTop, moved: false, id: ev.pointerId };
  });
  box.addEventListener("pointermove", (ev) => {
    if (!drag) return;
    const dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
    if (!drag.moved && Math.hypot(dx, dy) < 5) return;
    if (!drag.moved) {
      drag.moved = true;
      box.setPointerCapture(drag.id);
      box.classList.add("dragging");
    }
    box.scrollLeft = drag.left - dx;
    box.scrollTop = drag.top - dy;
  });
  const endDrag = () => {
    if (drag && drag.moved) view.justDragged = true;
    drag = null;
    box.classList.remove("dragging");
  };
  box.addEventListener("pointerup", endDrag);
  box.addEventListener("pointercancel", endDrag);

  box.addEventListener("click", (ev) => {
    if (view.justDragged) {
      view.justDragged = false;
      return;
    }
    const node = ev.target.closest("g.node[id]");
    if (!node || !st.selectable) return;
    ev.preventDefault(); // a node's <a> has no href; nothing to follow
    box.focus({ preventScroll: true });
    select(view, node.id === st.selected ? null : node.id);
  });
  box.addEventListener("keydown", (ev) => {
    if (!st.selectable) return;
    if (ev.key === "Escape" && st.selected) {
      ev.preventDefault();
      select(view, null);
    } else if (KEYS[ev.key] && st.selected) {
      const to = (st.nav[st.selected] || {})[KEYS[ev.key]];
      ev.preventDefault(); // the box does not scroll under the selection
      if (to) select(view, to);
    }
  });

  box.addEventListener("mouseover", (ev) => {
    const node = ev.target.closest("g.node[id]");
    if (node && node.id !== view.hovered) light(view, node.id);
  });
  box.addEventListener("mouseleave", () => light(view, null));
  box.addEventListener("mouseover", (ev) => {
    if (!ev.target.closest("g.node[id]") && view.hovered) light(view, null);
  });

  view.resize = new ResizeObserver(() => {
    if (!st.userZoom) fit(view);
  });
  view.resize.observe(root);
}

function size(view) {
  const svg = view.box.querySelector("svg");
  const { w, h } = view.state.natural;
  svg.style.width = `${w * view.state.zoom}px`;
  svg.style.height = `${h * view.state.zoom}px`;
  view.root.dataset.zoom = view.state.zoom.toFixed(4);
}

function wholeZoom(view, width) {
  // the zoom at which the whole drawing, its width and its height, fits a box this wide
  const st = view.state;
  return Math.min(width / st.natural.w, (st.maxHeight - 16) / st.natural.h);
}

function fit(view) {
  // the whole width if the labels stay readable (minScale), else readable and scrolled; never above scale
  const st = view.state;
  if (!st.natural) return;
  const room = Math.max(view.box.clientWidth - 2, 50);
  // whole: the drawing's width and height in the box; else its width, readable (minScale), scrolled beyond
  const zoom = st.whole ? wholeZoom(view, room) : room / st.natural.w;
  st.zoom = Math.min(st.scale, Math.max(zoom, st.minScale * st.scale));
  size(view);
}

function select(view, id) {
  view.state.selected = id;
  mark(view);
  view.send(id);
}

function mark(view) {
  for (const n of view.box.querySelectorAll("g.node.rnnviz-selected")) n.classList.remove("rnnviz-selected");
  const id = view.state.selected;
  const node = id && view.box.querySelector(`g.node[id="${CSS.escape(id)}"]`);
  if (node) node.classList.add("rnnviz-selected");
  view.root.dataset.selected = node ? id : "";
}

function light(view, id) {
  view.hovered = id;
  const svg = view.box.querySelector("svg");
  if (!svg) return;
  for (const e of svg.querySelectorAll(".rnnviz-lit")) e.classList.remove("rnnviz-lit");
  svg.classList.toggle("rnnviz-dimmed", !!id);
  if (!id) return;
  const g = view.graph || (view.graph = graphOf(svg));
  const before = reach(id, g.up), after = reach(id, g.down); // what it depends on, what depends on it
  for (const n of svg.querySelectorAll("g.node[id]")) if (before.has(n.id) || after.has(n.id)) n.classList.add("rnnviz-lit");
  for (const e of svg.querySelectorAll("g.edge[id]")) {
    const [tail, head] = e.id.split("->"); // lit: an edge on a path into or out of the hovered node
    if ((before.has(tail) && before.has(head)) || (after.has(tail) && after.has(head))) e.classList.add("rnnviz-lit");
  }
}

function bringIntoView(view, step) {
  const box = view.box;
  const nodes = [...box.querySelectorAll(`g.node.step-${step}`)];
  if (!nodes.length) return;
  const b = box.getBoundingClientRect();
  const rs = nodes.map((n) => n.getBoundingClientRect());
  const left = Math.min(...rs.map((r) => r.left)), right = Math.max(...rs.map((r) => r.right));
  const top = Math.min(...rs.map((r) => r.top)), bottom = Math.max(...rs.map((r) => r.bottom));
  box.scrollLeft += (left + right) / 2 - (b.left + b.width / 2);
  box.scrollTop += (top + bottom) / 2 - (b.top + b.height / 2);
}

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  const root = parentElement.querySelector(".rnnviz-graph-view");
  if (!root || !data) return;
  let view = root.__rnnviz;
  if (!view) {
    view = root.__rnnviz = {
      root,
      box: root.querySelector(".rnnviz-graph"),
      tools: root.querySelector(".rnnviz-graph-tools"),
      state: { zoom: 1, userZoom: false },
    };
    setup(view);
  }
  view.send = (id) => setTriggerValue("select", id);
  const st = view.state;
  Object.assign(st, {
    selectable: !!data.selectable,
    nav: data.nav || {},
    minScale: data.minScale || 1,
    whole: !!data.whole,
    scale: data.scale || 1,
    maxHeight: data.maxHeight || 640,
  });
  root.classList.toggle("selectable", st.selectable);
  view.box.style.maxHeight = `${st.maxHeight}px`;
  const hint = view.tools.querySelector(".hint");
  hint.textContent = st.selectable ? "click: inspect · hover: dependence · drag: pan" : "hover: dependence · drag: pan";
  hint.title = (st.selectable ? "Click a node to inspect it; a second click or Esc clears, the arrow keys move along time and layers. " : "")
    + "Hover a node: what it depends on and what depends on it light up. Drag to pan; Ctrl+wheel or pinch to zoom.";
  const newDrawing = data.svg !== view.svgText;
  if (newDrawing) {
    const keep = [view.box.scrollLeft, view.box.scrollTop];
    view.box.innerHTML = data.svg;
    view.svgText = data.svg;
    view.graph = null;
    view.hovered = null;
    const svg = view.box.querySelector("svg");
    if (svg) {
      const w = parseFloat(svg.getAttribute("width")) * PX_PER_PT, h = parseFloat(svg.getAttribute("height")) * PX_PER_PT;
      st.natural = { w, h };
      svg.removeAttribute("width");
      svg.removeAttribute("height");
      svg.setAttribute("preserveAspectRatio", "xMinYMin meet");
      if (st.userZoom) size(view);
      else fit(view);
      [view.box.scrollLeft, view.box.scrollTop] = keep;
    }
  } else if (!st.userZoom) {
    fit(view);
  }
  if (data.selected !== st.sentSelected || newDrawing) st.selected = data.selected || null;
  st.sentSelected = data.selected;
  mark(view);
  if (data.focus && (newDrawing || data.focus !== st.focus)) bringIntoView(view, data.focus);
  st.focus = data.focus;
  root.dataset.ready = "1";
  return () => {
    if (view.resize) view.resize.disconnect();
    root.__rnnviz = null;
  };
}
