"""Pictures of thought graphs and runs: DOT, SVG (Graphviz and the built-in layout), Mermaid,
the timeline, notebook display and ``agot show``."""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET

import matplotlib
import pytest

import agot
from agot.backends import ScriptedBackend
from agot.cli import main
from agot.errors import BackendError, ConfigError
from agot.graph import ThoughtGraph
from agot.render import (
    assign_lanes,
    graph_to_dot,
    graph_to_mermaid,
    graph_to_svg,
    plot_timeline,
)
from agot.render import svg as svg_module
from agot.render.dot import node_key
from agot.testing.agot_scripts import agot_script
from agot.testing.trace_events import trace_event

matplotlib.use("Agg")

SVG_NS = "{http://www.w3.org/2000/svg}"
HAS_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="Graphviz 'dot' is not installed")


async def _nested_result():
    backend = ScriptedBackend(agot_script(fanout=2, complex_if=lambda n: n == "2"))
    return await agot.AGoT(max_depth=1, max_layers=3, max_nodes=2).solve(
        "Why is the sky blue?", model=backend
    )


@pytest.fixture
async def nested():
    return await _nested_result()


@pytest.fixture
async def mixed():
    """A run with answered, failed and skipped thoughts (node 3's answer call always fails)."""
    base = agot_script(fanout=2)

    def script(request):
        if request.role == "solve" and request.node_id == "3":
            return BackendError("scripted failure")
        return base(request)

    backend = ScriptedBackend(script)
    return await agot.AGoT(max_depth=0, max_layers=3, max_nodes=2).solve(
        "q", model=backend, budget=agot.Budget(max_calls=8)
    )


def all_nodes(graph: ThoughtGraph) -> list[str]:
    return [node.id for _, node in graph.walk()]


def all_edges(graph: ThoughtGraph) -> list[tuple[str, str]]:
    edges = list(graph.dag.edges())
    for sub in graph.subgraphs.values():
        edges += all_edges(sub)
    return edges


def nested_links(graph: ThoughtGraph) -> list[tuple[str, str]]:
    links = [(sub.final_id, node_id) for node_id, sub in graph.subgraphs.items()]
    for sub in graph.subgraphs.values():
        links += nested_links(sub)
    return links


# -- DOT --------------------------------------------------------------------------------------
def test_dot_has_every_node_edge_cluster_and_layer_rank(nested):
    graph = nested.thought_graph()
    dot = graph_to_dot(graph)
    assert dot.startswith("digraph agot {") and "rankdir=LR" in dot
    for node_id in all_nodes(graph):
        assert re.search(
            rf'^\s*"{node_key(node_id)}" \[id="{node_key(node_id)}", label=<', dot, re.M
        ), node_id
    for source, target in all_edges(graph):
        assert f'"{node_key(source)}" -> "{node_key(target)}";' in dot
    for final_id, node_id in nested_links(graph):
        assert f'"{node_key(final_id)}" -> "{node_key(node_id)}" [ltail="cluster_n_2"' in dot
    assert 'subgraph "cluster_n_2" {' in dot
    # one rank=same group per layer of every graph, holding exactly that layer's thoughts
    ranks = re.findall(r"\{ rank=same; ([^}]*) \}", dot)
    expected = [
        {node_key(n.id) for n in g.layer(layer)}
        for g in [graph, *graph.subgraphs.values()]
        for layer in range(g.layers)
    ]
    found = [set(re.findall(r'"([^"]+)"', group)) for group in ranks]
    # each headed by its "layer N" label (#31 item 12), named after the layer's first thought
    labels = [{k for k in group if k.startswith("layer_")} for group in found]
    assert all(len(label) == 1 for label in labels)
    found = [group - label for group, label in zip(found, labels, strict=True)]
    assert sorted(map(sorted, found)) == sorted(map(sorted, expected))
    assert re.search(r'"layer_n_1" \[shape=plaintext, label="layer 0"', dot)
    # the labels are chained, so each layer is its own column even where no edge joins two
    assert re.search(r'"layer_n_\w+" -> "layer_n_\w+" \[style=invis\];', dot)
    assert "rankdir=TB" in graph_to_dot(graph, direction="TB")
    with pytest.raises(ConfigError, match="direction"):
        graph_to_dot(graph, direction="sideways")


def test_dot_label_is_title_and_short_answer_coloured_by_status(mixed):
    graph = mixed.thought_graph()
    statuses = {n.status for _, n in graph.walk()}
    assert {"answered", "failed", "skipped"} <= statuses
    dot = graph_to_dot(graph)
    for _, node in graph.walk():
        line = next(
            ln for ln in dot.splitlines() if ln.strip().startswith(f'"{node_key(node.id)}"')
        )
        colour = {"answered": "#d9f2d9", "failed": "#f8d7da", "skipped": "#eeeeee"}.get(node.status)
        if colour:
            assert f'fillcolor="{colour}"' in line
        if node.status == "skipped":
            assert "dashed" in line and "skipped (budget)" in line
        if node.status == "failed":
            assert "failed" in line
        if node.answer:
            assert node.answer[:20] in line


def test_labels_are_escaped_and_clipped():
    graph = ThoughtGraph('Is "a < b" & c?')
    node = graph.add_node(layer=0, title='Compare <a> & "b"', question="x")
    node.answer = "word " * 40
    node.status = "answered"
    dot = graph_to_dot(graph, label_chars=30)
    assert "Compare &lt;a&gt; &amp; &quot;b&quot;" in dot
    label = re.search(r"label=<(.*?)>, fillcolor", dot).group(1)
    assert "…" in label and "word " * 10 not in label  # the label is short...
    assert "word " * 30 in dot  # ...the tooltip keeps the full answer
    for engine in ("python", "auto"):
        root = ET.fromstring(graph_to_svg(graph, engine=engine))  # parses: escaped properly
        assert root.tag == f"{SVG_NS}svg"


@needs_dot
def test_graphviz_accepts_the_dot_source(nested):
    import graphviz

    svg = graphviz.Source(graph_to_dot(nested.thought_graph())).pipe(format="svg")
    assert b"<svg" in svg


# -- SVG --------------------------------------------------------------------------------------
def _svg_titles(svg: str) -> tuple[set[str], set[str], set[str]]:
    """(node ids, edge names, cluster ids) from the <title> elements of an SVG."""
    root = ET.fromstring(svg)
    nodes, edges, clusters = set(), set(), set()
    for group in root.iter(f"{SVG_NS}g"):
        title = group.find(f"{SVG_NS}title")
        if title is None:
            continue
        kind = group.get("class", "").split()
        if "layer-label" in kind:  # a column's "layer N" heading, not a thought
            continue
        if "node" in kind:
            nodes.add(title.text)
        elif "edge" in kind:
            edges.add(title.text)
        elif "cluster" in kind:
            clusters.add(title.text)
    return nodes, edges, clusters


def _check_svg(svg: str, graph: ThoughtGraph) -> None:
    nodes, edges, clusters = _svg_titles(svg)
    assert nodes == {node_key(n) for n in all_nodes(graph)}
    for source, target in all_edges(graph) + nested_links(graph):
        assert f"{node_key(source)}->{node_key(target)}" in edges
    assert clusters == {f"cluster_{node_key(n)}" for n in graph.subgraphs}


@pytest.mark.parametrize("direction", ["LR", "TB"])
def test_fallback_svg_without_dot_is_valid_and_complete(nested, monkeypatch, direction):
    monkeypatch.setattr(svg_module.shutil, "which", lambda name: None)
    assert not svg_module.has_dot()
    graph = nested.thought_graph()
    svg = graph_to_svg(graph, direction=direction)  # auto: falls back
    _check_svg(svg, graph)
    assert 'class="agot-graph"' in svg  # the built-in layout, not Graphviz
    labels = re.findall(r'<text class="layer-label" x="[\d.]+" y="[\d.]+" [^>]*>layer (\d+)<', svg)
    assert labels == ([str(i) for i in range(graph.layers)] if direction == "LR" else [])
    with pytest.raises(ConfigError, match="apt-get install graphviz"):
        graph_to_svg(graph, engine="dot")


def test_fallback_layout_puts_layers_in_order_and_nested_graph_in_its_box(nested):
    graph = nested.thought_graph()
    root = ET.fromstring(graph_to_svg(graph, engine="python"))
    boxes = {}
    for group in root.iter(f"{SVG_NS}g"):
        rect = group.find(f"{SVG_NS}rect")
        title = group.find(f"{SVG_NS}title")
        if rect is not None and title is not None:
            boxes[title.text] = tuple(float(rect.get(k)) for k in ("x", "y", "width", "height"))
    x = {node_id: boxes[node_key(node_id)][0] for node_id in all_nodes(graph)}
    assert x["1"] == x["2"] < x["3"] == x["4"] < x["5"] == x["6"] < x["final"]
    bx, by, bw, bh = boxes["cluster_n_2"]
    for node in graph.subgraphs["2"].nodes():
        nx_, ny_, nw, nh = boxes[node_key(node.id)]
        assert bx <= nx_ and nx_ + nw <= bx + bw and by <= ny_ and ny_ + nh <= by + bh
    # top-level thoughts are outside the nested box
    nx_, ny_, nw, nh = boxes["n_1"]
    assert not (bx <= nx_ <= bx + bw and by <= ny_ <= by + bh)


def test_fallback_when_dot_fails(nested, monkeypatch):
    def broken(source):
        raise OSError("dot crashed")

    monkeypatch.setattr(svg_module, "has_dot", lambda: True)
    monkeypatch.setattr(svg_module, "dot_svg", broken)
    svg = graph_to_svg(nested.thought_graph())
    assert 'class="agot-graph"' in svg
    with pytest.raises(ConfigError, match="dot crashed"):
        graph_to_svg(nested.thought_graph(), engine="dot")


@needs_dot
@pytest.mark.parametrize("direction", ["LR", "TB"])
def test_graphviz_svg_is_valid_and_complete(nested, direction):
    graph = nested.thought_graph()
    svg = graph_to_svg(graph, engine="dot", direction=direction)
    assert "agot-graph" not in svg and svg.startswith("<svg")
    _check_svg(svg, graph)


async def _wide_result():
    """Three thoughts per layer, two of them complex, each thought depending on the previous
    layer's last one: edges skip layers and pass nested boxes (the hard case for routing)."""
    backend = ScriptedBackend(
        agot_script(fanout=3, complex_if=lambda n: n in ("2", "4"), parents_all=False)
    )
    return await agot.AGoT(max_depth=1, max_layers=3, max_nodes=3).solve(
        "Why is the sky blue during the day and red at sunset?", model=backend
    )


@pytest.fixture
async def wide():
    return await _wide_result()


def _rects(root) -> tuple[dict[str, tuple[float, ...]], dict[str, tuple[float, ...]]]:
    """(node rects, cluster rects) by title, from an SVG of the built-in layout."""
    nodes, clusters = {}, {}
    for group in root.iter(f"{SVG_NS}g"):
        rect, title = group.find(f"{SVG_NS}rect"), group.find(f"{SVG_NS}title")
        if rect is None or title is None:
            continue
        box = tuple(float(rect.get(k)) for k in ("x", "y", "width", "height"))
        kind = group.get("class", "").split()
        (nodes if "node" in kind else clusters)[title.text] = box
    return nodes, clusters


def _path_points(d: str, steps: int = 40) -> list[tuple[float, float]]:
    """Points along an SVG path made of M, L and C commands."""
    tokens = re.findall(r"[MLC]|-?[\d.]+", d)
    points: list[tuple[float, float]] = []
    here = (0.0, 0.0)
    i = 0
    while i < len(tokens):
        cmd = tokens[i]
        if cmd == "C":
            c = [float(t) for t in tokens[i + 1 : i + 7]]
            p0, p1, p2, p3 = here, (c[0], c[1]), (c[2], c[3]), (c[4], c[5])
            for k in range(steps + 1):
                t = k / steps
                points.append(
                    tuple(
                        (1 - t) ** 3 * a
                        + 3 * (1 - t) ** 2 * t * b
                        + 3 * (1 - t) * t**2 * cc
                        + t**3 * dd
                        for a, b, cc, dd in zip(p0, p1, p2, p3, strict=True)
                    )
                )
            here = p3
            i += 7
        else:
            nxt = (float(tokens[i + 1]), float(tokens[i + 2]))
            if cmd == "L":
                points += [
                    (
                        here[0] + (nxt[0] - here[0]) * k / steps,
                        here[1] + (nxt[1] - here[1]) * k / steps,
                    )
                    for k in range(steps + 1)
                ]
            here = nxt
            i += 3
    return points


def _inside(point, rect, inset=1.0) -> bool:
    x, y, w, h = rect
    return x + inset < point[0] < x + w - inset and y + inset < point[1] < y + h - inset


@pytest.mark.parametrize("direction", ["LR", "TB"])
def test_fallback_edges_never_cross_a_node_or_a_foreign_nested_box(wide, direction):
    graph = wide.thought_graph()
    root = ET.fromstring(graph_to_svg(graph, engine="python", direction=direction))
    nodes, clusters = _rects(root)
    checked = 0
    for group in root.iter(f"{SVG_NS}g"):
        if "dep" not in group.get("class", "").split():
            continue
        source, target = group.find(f"{SVG_NS}title").text.split("->")
        points = _path_points(group.find(f"{SVG_NS}path").get("d"))
        for name, rect in nodes.items():
            assert not any(_inside(p, rect) for p in points), (source, target, name)
        for name, rect in clusters.items():
            if not _inside((nodes[source][0] + 2, nodes[source][1] + 2), rect):
                assert not any(_inside(p, rect) for p in points), (source, target, name)
        checked += 1
    assert checked == len(all_edges(graph))


def test_fallback_labels_wrap_instead_of_clipping():
    graph = ThoughtGraph("q")
    node = graph.add_node(layer=0, title="Estimate the molar mass of the unknown gas", question="x")
    node.answer, node.status = "about forty four grams per mole, so carbon dioxide", "answered"
    root = ET.fromstring(graph_to_svg(graph, engine="python"))
    group = next(g for g in root.iter(f"{SVG_NS}g") if g.get("id") == "n_1")
    lines = [t.text for t in group.iter(f"{SVG_NS}text")]
    assert len(lines) == 4 and not any("…" in line for line in lines)
    assert " ".join(lines[:2]) == "1. Estimate the molar mass of the unknown gas"
    assert " ".join(lines[2:]) == "= about forty four grams per mole, so carbon dioxide"
    rect = group.find(f"{SVG_NS}rect")
    assert float(rect.get("height")) > 44  # the box grew with its text


@pytest.mark.parametrize("engine", ["python", "dot"])
def test_both_engines_draw_a_legend(nested, engine):
    if engine == "dot" and not HAS_DOT:
        pytest.skip("Graphviz 'dot' is not installed")
    svg = graph_to_svg(nested.thought_graph(), engine=engine)
    for entry in ("answered", "failed", "skipped (budget)", "complex", "final", "nested graph"):
        assert entry in svg, entry


@needs_dot
@pytest.mark.parametrize("direction", ["LR", "TB"])
def test_graphviz_keeps_thoughts_in_natural_order_in_nested_graphs(wide, direction):
    import subprocess

    graph = wide.thought_graph()
    plain = subprocess.run(
        ["dot", "-Tplain"],
        input=graph_to_dot(graph, direction=direction),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    pos = {
        line.split()[1]: (float(line.split()[2]), -float(line.split()[3]))
        for line in plain.splitlines()
        if line.startswith("node ")
    }
    axis = 1 if direction == "LR" else 0  # LR: top to bottom; TB: left to right
    groups = [
        [node_key(n.id) for n in g.layer(layer)]
        for g in [graph, *graph.subgraphs.values()]
        for layer in range(g.layers)
    ]
    assert any(len(group) == 3 for group in groups[3:])  # nested layers are checked too
    for group in groups:
        coords = [pos[key][axis] for key in group]
        assert coords == sorted(coords), group


def test_mermaid_and_dot_share_ids_and_colours(nested):
    from agot.render.style import STATUS_COLOURS

    graph = nested.thought_graph()
    mermaid, dot = graph_to_mermaid(graph), graph_to_dot(graph)
    for status, (fill, border) in STATUS_COLOURS.items():
        assert f"classDef {status} fill:{fill},stroke:{border}" in mermaid
    for node_id in all_nodes(graph):
        assert f'"{node_key(node_id)}" [id=' in dot and f"{node_key(node_id)}[" in mermaid


def test_svg_of_mixed_statuses_carries_status_classes(mixed):
    graph = mixed.thought_graph()
    svg = graph_to_svg(graph, engine="python")
    for _, node in graph.walk():
        assert f'class="node status-{node.status}" id="{node_key(node.id)}"' in svg


def test_mermaid_has_every_node_and_edge(nested):
    graph = nested.thought_graph()
    text = graph_to_mermaid(graph)
    for node_id in all_nodes(graph):
        assert re.search(rf"^\s*{node_key(node_id)}\[", text, re.M)
    for source, target in all_edges(graph):
        assert f"{node_key(source)} --> {node_key(target)}" in text
    assert "subgraph n_2_g" in text


# -- timeline ---------------------------------------------------------------------------------


def test_lanes_are_assigned_greedily_by_concurrency():
    events = [
        trace_event("a", 0.0, 2.0),
        trace_event("b", 0.5, 1.0),
        trace_event("c", 1.0, 3.0),  # starts when b ends: reuses its lane
        trace_event("d", 1.5, 2.5),  # a, c and d overlap: third lane
        trace_event("e", 3.0, 4.0),
    ]
    assert assign_lanes(events) == [0, 1, 1, 2, 0]
    assert assign_lanes([]) == []
    assert assign_lanes([trace_event(str(i), i, i + 1) for i in range(4)]) == [0, 0, 0, 0]


def test_timeline_has_one_bar_per_call_and_outlines_the_critical_path():
    events = [
        trace_event("a", 100.0, 101.0, role="decompose"),
        trace_event("b", 101.0, 103.0, "a"),
        trace_event("c", 101.0, 101.5, "a"),
        trace_event("d", 103.0, 104.0, "b", "c", role="final"),
    ]
    fig = plot_timeline(events)
    bars = fig.axes[0].containers[0]
    assert len(bars) == 4
    lanes = [round(bar.get_y() + bar.get_height() / 2, 6) for bar in bars]
    assert lanes == [0, 1, 0, 0]  # c sorts before b (same start, ends first)
    edges = [bar.get_edgecolor() for bar in bars]
    black = (0.0, 0.0, 0.0, 1.0)
    assert [tuple(e) == black for e in edges] == [True, True, False, True]
    assert [round(bar.get_x(), 6) for bar in bars] == [0.0, 1.0, 1.0, 3.0]
    assert [round(bar.get_width(), 6) for bar in bars] == [1.0, 2.0, 0.5, 1.0]
    assert "critical path 4.00s (3 calls)" in fig.axes[0].get_title()


def test_timeline_marks_failed_and_cached_calls():
    failed = trace_event("a", 0.0, 1.0).model_copy(update={"error": "BackendError: down"})
    cached = trace_event("b", 1.0, 1.1, "a").model_copy(update={"cached": True})
    fig = plot_timeline([failed, cached])
    bars = fig.axes[0].containers[0]
    assert bars[0].get_hatch() == "xx" and bars[1].get_hatch() is None
    assert bars[1].get_alpha() == pytest.approx(0.4)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert {"failed", "cached", "critical path"} <= set(legend)


def test_timeline_of_a_real_run(nested):
    fig = plot_timeline(nested)
    assert len(fig.axes[0].containers[0]) == len(nested.events) > 10
    trace = json.loads(nested.model_dump_json())
    assert len(plot_timeline(trace).axes[0].containers[0]) == len(nested.events)


def test_web_timeline_shows_queued_time_readable_labels_and_no_line_over_labels():
    """#31 item 12: queued time as its own stripe, dark labels on light roles (no white on
    amber), the critical path's line drawn under the bars, and a drawing pages can scale."""
    from agot.render.timeline_svg import label_colour, timeline_svg

    events = [
        trace_event("a", 100.0, 104.0, role="assess"),
        trace_event("b", 106.0, 110.0, "a", role="decompose").model_copy(update={"queued_s": 2.0}),
    ]
    svg = timeline_svg(events, width=1300.0)
    root = ET.fromstring(svg[: svg.index("</svg>") + 6])
    assert root.get("viewBox") == f"0 0 1300 {root.get('height')}"
    queued = [r for r in root.iter(f"{SVG_NS}rect") if r.get("class") == "queued"]
    assert len(queued) == 1 and queued[0].get("data-call") == "b"
    bar_b = next(
        g.find(f"{SVG_NS}rect") for g in root.iter(f"{SVG_NS}g") if g.get("data-call") == "b"
    )
    stripe_end = float(queued[0].get("x")) + float(queued[0].get("width"))
    assert stripe_end == pytest.approx(float(bar_b.get("x")), abs=0.2)  # queued, then ran
    inks = {
        t.text: t.get("fill")
        for t in root.iter(f"{SVG_NS}text")
        if t.text in ("assess", "decompose")
    }
    assert inks == {"assess": "#111", "decompose": "white"}  # amber gets dark text
    assert label_colour("#ffb300") == "#111" and label_colour("#5c6bc0") == "white"
    order = [el.tag.split("}")[1] + ":" + (el.get("class") or "") for el in root]
    assert order.index("polyline:critical-path") < min(
        i for i, tag in enumerate(order) if tag.startswith("g:call")
    )
    assert "queued (waiting to start)" in svg


# -- notebook display -------------------------------------------------------------------------
def test_notebook_reprs(nested, monkeypatch):
    monkeypatch.setattr(svg_module.shutil, "which", lambda name: None)
    graph = nested.thought_graph()
    bundle = graph._repr_mimebundle_()
    assert set(bundle) == {"image/svg+xml", "text/html"}
    assert bundle["text/html"].count("<svg") == 1
    ET.fromstring(graph._repr_svg_())
    html = nested._repr_html_()
    assert "final of final" in html and "<svg" in html and "critical path" in html


def test_result_html_without_graph_and_with_markup_in_answer():
    result = agot.Result(question="<q>", strategy="cot", model="m", answer="<b>x</b> & y")
    html = result._repr_html_()
    assert "&lt;b&gt;x&lt;/b&gt; &amp; y" in html and "<svg" not in html


# -- agot show --------------------------------------------------------------------------------
@pytest.fixture
def trace_file(nested, tmp_path):
    return str(nested.save_trace(tmp_path / "trace.json"))


@pytest.mark.parametrize("fmt", ["dot", "svg", "mermaid", "text"])
def test_show_writes_each_format(trace_file, tmp_path, fmt, capsys):
    out = tmp_path / f"graph.{fmt}"
    assert main(["show", trace_file, "--format", fmt, "--out", str(out)]) == 0
    text = out.read_text()
    assert capsys.readouterr().out == ""
    if fmt == "svg":
        _check_svg(text, agot.Result.load_trace(trace_file).thought_graph())
    elif fmt == "dot":
        assert text.startswith("digraph agot {")
    elif fmt == "mermaid":
        assert text.startswith("flowchart TD")
    else:
        assert "answer: final of final" in text and "critical path" in text


def test_show_prints_to_stdout_and_honours_direction(trace_file, capsys):
    assert main(["show", trace_file, "--format", "dot", "--direction", "TB"]) == 0
    assert "rankdir=TB" in capsys.readouterr().out


def test_show_svg_of_a_graphless_run_is_a_clear_error(tmp_path, capsys):
    result = agot.run_sync(agot.CoT().solve("q", model=ScriptedBackend()))
    path = result.save_trace(tmp_path / "cot.json")
    assert main(["show", str(path), "--format", "svg"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("agot: error:") and "has no graph" in err
    assert main(["show", str(path)]) == 0  # text still works


def test_pictures_drop_json_debris_from_model_text():
    graph = ThoughtGraph("q")
    node = graph.add_node(layer=0, title="} {", question="x")
    node.answer, node.status = "17 sheep }", "answered"
    for text in (
        graph_to_dot(graph),
        graph_to_svg(graph, engine="python"),
        graph_to_mermaid(graph),
    ):
        assert "1. (empty)" in text and "= 17 sheep" in text
        assert "1. } {" not in text and "= 17 sheep }" not in text
