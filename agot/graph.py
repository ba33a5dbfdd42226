"""ThoughtGraph: the DAG of subproblems an AGoT run grows, with nested graphs for complex nodes.

Nodes are :class:`ThoughtNode` records stored on a ``networkx.DiGraph`` (edge = dependency,
parent → child). A node judged complex owns a nested ThoughtGraph (``subgraphs[node_id]``) whose
final answer became the node's answer. Node ids are paths: ``"2"`` is the second node of the top
graph, ``"2.1"`` the first node of node 2's nested graph, ``"2.final"`` that graph's final node.

JSON uses networkx's node-link layout (``nodes`` and ``edges``) with each nested graph inside its
parent node under ``"subgraph"``, so a saved run loads back into the same structure.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, ValidationError

from agot.config import describe_validation_error
from agot.errors import ConfigError
from agot.types import Usage

if TYPE_CHECKING:
    import networkx as nx


def _nx() -> Any:
    """networkx, imported when the first graph is made: importing it takes longer than the rest
    of agot's start-up, and every command's help texts name defaults from modules that import
    this one."""
    import networkx

    return networkx


Status = Literal["pending", "running", "answered", "failed", "skipped"]


class ThoughtNode(BaseModel):
    """One thought: a titled subproblem and, once solved, its answer."""

    id: str
    local: int = Field(description="number of the node inside its own graph (shown to the model)")
    layer: int
    depth: int
    title: str
    question: str
    answer: str | None = None
    complex: bool | None = None
    justification: str | None = None
    reasoning: str | None = None
    status: Status = "pending"
    final: bool = False
    error: str | None = None
    usage: Usage = Field(default_factory=Usage)
    start: float | None = None
    end: float | None = None
    created_by: str | None = Field(None, description="call id of the proposal that made it")
    answer_call: str | None = Field(None, description="call id whose output is the answer")
    call_ids: list[str] = Field(default_factory=list)


class ThoughtGraph:
    """One level of an AGoT run: a question, its nodes and edges, and nested graphs."""

    def __init__(
        self,
        question: str,
        *,
        depth: int = 0,
        heritage: list[str] | None = None,
        prefix: str = "",
    ) -> None:
        self.question = question
        self.depth = depth
        self.heritage = list(heritage or [])
        self.prefix = prefix
        #: The thoughts (node attribute ``node``: a :class:`ThoughtNode`) and their dependencies.
        self.dag: nx.DiGraph = _nx().DiGraph()
        self.subgraphs: dict[str, ThoughtGraph] = {}
        self.strategies: dict[int, str] = {}
        self.answer: str | None = None
        self.final_id: str | None = None

    # -- building -----------------------------------------------------------------------------
    def _id(self, name: str | int) -> str:
        return f"{self.prefix}{name}"

    def add_node(
        self, *, layer: int, title: str, question: str, parents: Sequence[str] = (), **fields: Any
    ) -> ThoughtNode:
        local = sum(1 for n in self.nodes() if not n.final) + 1
        node = ThoughtNode(
            id=self._id(local),
            local=local,
            layer=layer,
            depth=self.depth,
            title=title,
            question=question,
            **fields,
        )
        self.dag.add_node(node.id, node=node)
        for parent in parents:
            self.dag.add_edge(parent, node.id)
        return node

    def add_final(
        self,
        *,
        layer: int,
        question: str,
        parents: Sequence[str] | None = None,
        **fields: Any,
    ) -> ThoughtNode:
        """The final node, depending on ``parents``: by default every thought (AGoT's synthesis
        reads them all); a search names the thoughts its answer came from."""
        node = ThoughtNode(
            id=self._id("final"),
            local=0,
            layer=layer,
            depth=self.depth,
            title="Final answer",
            question=question,
            final=True,
            **fields,
        )
        if parents is None:
            parents = [n.id for n in self.nodes()]
        self.dag.add_node(node.id, node=node)
        for parent in parents:
            self.dag.add_edge(parent, node.id)
        self.final_id = node.id
        return node

    def attach(self, node_id: str, subgraph: ThoughtGraph) -> None:
        self.subgraphs[node_id] = subgraph

    # -- reading ------------------------------------------------------------------------------
    def node(self, node_id: str) -> ThoughtNode:
        return self.dag.nodes[node_id]["node"]

    def nodes(self) -> list[ThoughtNode]:
        return [data["node"] for _, data in self.dag.nodes(data=True)]

    def by_local(self, local: int) -> ThoughtNode | None:
        return next((n for n in self.nodes() if n.local == local and not n.final), None)

    def parents(self, node_id: str) -> list[ThoughtNode]:
        return [self.node(p) for p in self.dag.predecessors(node_id)]

    def ancestors(self, node_id: str) -> list[ThoughtNode]:
        """Ancestors in topological order (what a node's answer may build on)."""
        nx = _nx()
        found = nx.ancestors(self.dag, node_id)
        return [self.node(n) for n in nx.topological_sort(self.dag) if n in found]

    def layer(self, layer: int) -> list[ThoughtNode]:
        return [n for n in self.nodes() if n.layer == layer and not n.final]

    @property
    def layers(self) -> int:
        return 1 + max((n.layer for n in self.nodes() if not n.final), default=-1)

    def walk(self) -> Iterator[tuple[ThoughtGraph, ThoughtNode]]:
        """Every node of this graph and all nested graphs, depth first."""
        for node in self.nodes():
            yield self, node
            if node.id in self.subgraphs:
                yield from self.subgraphs[node.id].walk()

    def count_nodes(self) -> int:
        return sum(1 for _ in self.walk())

    def depth_reached(self) -> int:
        return max((graph.depth for graph, _ in self.walk()), default=self.depth)

    # -- JSON ---------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        data = _nx().node_link_data(self.dag, edges="edges")
        for entry in data["nodes"]:
            node: ThoughtNode = entry.pop("node")
            entry.update(node.model_dump(mode="json"))
            sub = self.subgraphs.get(node.id)
            entry["subgraph"] = sub.to_json() if sub is not None else None
        data["graph"] = {
            "question": self.question,
            "depth": self.depth,
            "heritage": self.heritage,
            "prefix": self.prefix,
            "strategies": {str(k): v for k, v in self.strategies.items()},
            "answer": self.answer,
            "final_id": self.final_id,
        }
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ThoughtGraph:
        """The graph :meth:`to_json` wrote; a ConfigError for one that no run could have
        written (a node without an id, an edge to no node, a cycle), which the renderers and
        the critical path would otherwise fail on, or loop in."""
        try:
            graph = cls._from_json(data)
        except ConfigError:
            raise
        except (ValidationError, KeyError, TypeError, ValueError, AttributeError) as exc:
            if isinstance(exc, ValidationError):
                what = describe_validation_error("graph node", exc).removeprefix("invalid ")
            else:
                what = f"{type(exc).__name__}: {exc}"
            raise ConfigError(f"the trace's graph is malformed ({what})") from None
        except RecursionError:
            raise ConfigError("the trace's graph is nested too deeply") from None
        return graph

    @classmethod
    def _from_json(cls, data: dict[str, Any]) -> ThoughtGraph:
        meta = data.get("graph", {})
        graph = cls(
            meta.get("question", ""),
            depth=meta.get("depth", 0),
            heritage=meta.get("heritage", []),
            prefix=meta.get("prefix", ""),
        )
        graph.strategies = {int(k): v for k, v in meta.get("strategies", {}).items()}
        graph.answer = meta.get("answer")
        graph.final_id = meta.get("final_id")
        for entry in data.get("nodes", []):
            entry = dict(entry)
            sub = entry.pop("subgraph", None)
            node = ThoughtNode.model_validate(entry)
            graph.dag.add_node(node.id, node=node)
            if sub is not None:
                graph.subgraphs[node.id] = cls.from_json(sub)
        for edge in data.get("edges", []):
            source, target = edge["source"], edge["target"]
            for end in (source, target):
                if end not in graph.dag:
                    raise ConfigError(f"the trace's graph has an edge to no node ({end!r})")
            graph.dag.add_edge(source, target)
        if not _nx().is_directed_acyclic_graph(graph.dag):
            edges = _nx().find_cycle(graph.dag)
            cycle = " -> ".join(str(u) for u, _ in edges) + f" -> {edges[0][0]}"
            raise ConfigError(f"the trace's graph has a cycle ({cycle}): thoughts form no loops")
        return graph

    def __repr__(self) -> str:
        return (
            f"ThoughtGraph(question={self.question[:40]!r}, nodes={self.dag.number_of_nodes()}, "
            f"nested={len(self.subgraphs)}, depth={self.depth})"
        )

    # -- notebooks (rendering loads lazily: agot.render.notebook) ------------------------------
    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        from agot.render.notebook import graph_mimebundle

        return graph_mimebundle(self)

    def _repr_svg_(self) -> str:
        from agot.render.notebook import graph_svg

        return graph_svg(self)

    def _repr_html_(self) -> str:
        from agot.render.notebook import graph_html

        return graph_html(self)

    # -- pictures (agot.render loads lazily) ---------------------------------------------------
    def to_dot(self, *, direction: str = "LR") -> str:
        """Graphviz DOT source: layers as ranks, nested graphs as clusters, a legend."""
        from agot.render.dot import graph_to_dot

        return graph_to_dot(self, direction=direction)

    def to_svg(self, *, direction: str = "LR", engine: str = "auto") -> str:
        """SVG text (Graphviz ``dot`` when installed, else the built-in layout)."""
        from agot.render.svg import graph_to_svg

        return graph_to_svg(self, direction=direction, engine=engine)

    def to_mermaid(self) -> str:
        """A Mermaid flowchart (nested graphs as subgraphs)."""
        from agot.render.mermaid import graph_to_mermaid

        return graph_to_mermaid(self)

    def save(self, path: str | os.PathLike[str], *, direction: str = "LR") -> Path:
        """Write the graph to ``path``, in the format its suffix names: ``.svg``, ``.dot``/
        ``.gv``, ``.mmd``, ``.json`` (node-link, loads back with :meth:`from_json`), or
        ``.png``/``.pdf`` (needs Graphviz)."""
        from agot.errors import ConfigError

        target = Path(path)
        suffix = target.suffix.lower()
        if suffix == ".svg":
            data: str | bytes = self.to_svg(direction=direction)
        elif suffix in (".dot", ".gv"):
            data = self.to_dot(direction=direction)
        elif suffix in (".mmd", ".mermaid"):
            data = self.to_mermaid()
        elif suffix == ".json":
            data = json.dumps(self.to_json(), indent=1, ensure_ascii=False)
        elif suffix in (".png", ".pdf"):
            from agot.render.svg import dot_render

            data = dot_render(self.to_dot(direction=direction), suffix[1:])
        else:
            raise ConfigError(
                f"cannot save a graph as {target.name!r}: use .svg, .dot, .mmd, .json, .png or .pdf"
            )
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(data, bytes):
                target.write_bytes(data)
            else:
                target.write_text(data, encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot write {str(target)!r}: {exc.strerror}") from None
        return target
