"""The engine: wires the pure core to the edges (sources, targets, reporters)."""
