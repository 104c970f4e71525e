"""The metric face atlas: template mesh, zones, danger zones, mesh anchors."""
