"""``dhome adapters check matter FILE``: map recorded node dumps without a server.

Accepted input: a bare node dump (the server's or Home Assistant's node format, current
flat or legacy nested), a Home Assistant diagnostics file (``{"data": {"node": …}}``), a
server diagnostics dump (``{"data": {"server": {"nodes": […]}}}``) or a list of nodes.
"""

from __future__ import annotations

from typing import Any

from adapters.matter.mapping import map_node
from adapters.matter.node import NodeFormatError, parse_node, unwrap
from adapters.sdk.report import DeviceMapping, Unmapped
from dhi.catalog import Catalog


def map_dump(data: Any, *, prefix: str = "matter", catalog: Catalog | None = None) -> list[DeviceMapping]:
    out: list[DeviceMapping] = []
    for index, raw in enumerate(unwrap(data)):
        try:
            node = parse_node(raw)
        except NodeFormatError as exc:
            # one broken node in a list must not hide the others
            ident = f"{prefix}:?{index}"
            out.append(
                DeviceMapping(
                    id=ident,
                    name=f"node #{index}",
                    features=1,
                    standard=0,
                    vendor=0,
                    unmapped=[Unmapped(feature=f"node[{index}]", reason=str(exc))],
                )
            )
            continue
        mappings = map_node(node, prefix, catalog).reports
        if node.problems and mappings:
            first = mappings[0]
            extra = [Unmapped(feature="attributes", reason=p) for p in node.problems]
            mappings[0] = first.model_copy(
                update={"unmapped": [*first.unmapped, *extra], "features": first.features + len(extra)}
            )
        out.extend(mappings)
    return out
